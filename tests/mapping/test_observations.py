"""Receptors (HER2/ER/PR) and performance status: one case per accepted code and value form."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import ReceptorStatus
from tests.support import fhir_builders as b
from tests.support.variants import PID, coded, edited, period_effective

POS, NEG, EQ, UNK = (ReceptorStatus.POSITIVE, ReceptorStatus.NEGATIVE, ReceptorStatus.EQUIVOCAL,
                     ReceptorStatus.UNKNOWN)


def receptor_obs(code: str, oid: str = "r1", effective: str = "2020-01-01", **value) -> b.Resource:
    obs = b.observation(oid, PID, b.LOINC, code, effective)
    obs.update(value)
    return obs


def status_of(record, marker):
    return getattr(record, marker).status


@pytest.mark.parametrize("marker, code", [
    ("her2", "48676-1"), ("her2", "85319-2"), ("her2", "85318-4"), ("her2", "31150-6"),
    ("her2", "72383-3"), ("her2", "49683-6"), ("her2", "74860-8"),
    ("er", "16112-5"), ("er", "85337-4"), ("er", "40556-3"),
    ("pr", "16113-3"), ("pr", "85339-0"), ("pr", "40557-1"),
])
def test_every_receptor_code(marker, code):
    obs = receptor_obs(code, valueCodeableConcept=coded(b.LOINC, "LA6576-8", "Positive"))
    record = map_patient([b.patient(PID), obs])
    assert status_of(record, marker) is POS
    assert getattr(record, marker).sources == ("Observation/r1",)
    assert getattr(record, marker).date.isoformat() == "2020-01-01"


@pytest.mark.parametrize("value, expected", [
    ({"valueCodeableConcept": coded(b.LOINC, "LA6576-8")}, POS),
    ({"valueCodeableConcept": coded(b.LOINC, "LA6577-6")}, NEG),
    ({"valueCodeableConcept": coded(b.LOINC, "LA11885-3")}, EQ),
    ({"valueCodeableConcept": coded(b.LOINC, "LA4259-3")}, EQ),  # Borderline
    ({"valueCodeableConcept": coded(b.SNOMED, "10828004")}, POS),
    ({"valueCodeableConcept": coded(b.SNOMED, "260385009")}, NEG),
    ({"valueCodeableConcept": coded(b.SNOMED, "42425007")}, EQ),
    ({"valueCodeableConcept": {"text": "Negative"}}, NEG),
    ({"valueCodeableConcept": coded("http://lab.example/codes", "X", "positive")}, POS),
    ({"valueString": "POSITIVE"}, POS),
    ({"valueString": " equivocal "}, EQ),
    ({"interpretation": [coded("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                               "NEG")]}, NEG),
], ids=["LA-pos", "LA-neg", "LA-equivocal", "LA-borderline", "SCT-pos", "SCT-neg",
        "SCT-equivocal", "text", "display", "string", "string-spaces", "interpretation"])
def test_result_value_forms(value, expected):
    record = map_patient([b.patient(PID), receptor_obs("48676-1", **value)])
    assert record.her2.status is expected


@pytest.mark.parametrize("score, expected", [("0", NEG), ("1+", NEG), ("2+", EQ), ("3+", POS),
                                             ("IHC 3+", POS)])
def test_her2_ihc_score_text(score, expected):
    record = map_patient([b.patient(PID), receptor_obs("85319-2", valueString=score)])
    assert record.her2.status is expected


def test_ihc_scores_are_only_read_for_the_ihc_code():
    record = map_patient([b.patient(PID), receptor_obs("48676-1", valueString="3+")])
    assert record.her2.status is UNK and record.skipped


@pytest.mark.parametrize("marker, code, value, expected", [
    ("er", "85329-1", {"valueQuantity": {"value": 1, "unit": "%", "code": "%"}}, POS),
    ("er", "85329-1", {"valueQuantity": {"value": 90, "unit": "%"}}, POS),
    ("er", "85329-1", {"valueQuantity": {"value": 0.5, "code": "%"}}, NEG),
    ("er", "85329-1", {"valueQuantity": {"value": 0, "code": "%"}}, NEG),
    ("pr", "85325-9", {"valueQuantity": {"value": 1.0, "code": "%"}}, POS),
    ("pr", "85325-9", {"valueInteger": 0}, NEG),
    ("pr", "85325-9", {"valueQuantity": {"value": 5}}, POS),  # no unit: the code says %
])
def test_percent_of_stained_cells(marker, code, value, expected):
    record = map_patient([b.patient(PID), receptor_obs(code, **value)])
    assert status_of(record, marker) is expected


def test_percent_with_another_unit_is_skipped_with_the_unit():
    obs = receptor_obs("85329-1", valueQuantity={"value": 3, "code": "mg"})
    record = map_patient([b.patient(PID), obs])
    assert record.er.status is UNK
    assert "unit 'mg' is not %" in record.skipped[0].reason
    assert "ER status" in record.missing


def test_unreadable_result_is_skipped_not_guessed():
    obs = receptor_obs("48676-1", valueCodeableConcept=coded(b.LOINC, "LA4489-6", "Unknown"))
    record = map_patient([b.patient(PID), obs])
    assert record.her2.status is UNK and record.skipped[0].reference == "Observation/r1"


def test_latest_result_wins():
    old = b.receptor(PID, "her2", "negative", effective="2019-01-01")
    new = b.receptor(PID, "her2", "positive", effective="2023-06-01")
    for order in ([old, new], [new, old]):
        record = map_patient([b.patient(PID), *order])
        assert record.her2.status is POS and record.her2.date.isoformat() == "2023-06-01"


def test_every_definitive_reading_is_kept_with_its_specimen_and_date():
    """Receptor discordance (issue 13 item 8) needs more than the latest result."""
    old = b.receptor(PID, "her2", "negative", effective="2019-01-01", oid="old")
    old["specimen"] = {"reference": "Specimen/core", "display": "primary core biopsy"}
    site = b.receptor(PID, "her2", "equivocal", effective="2021-01-01", oid="eq")
    new = b.receptor(PID, "her2", "positive", effective="2023-06-01", oid="new")
    new["bodySite"] = coded("http://snomed.info/sct", "12738006", "Brain structure")
    for order in ([old, site, new], [new, site, old]):
        readings = map_patient([b.patient(PID), *order]).her2.readings
        assert [(r.status, r.date.isoformat(), r.specimen) for r in readings] == [
            (NEG, "2019-01-01", "primary core biopsy"), (POS, "2023-06-01", "Brain structure")]


def test_a_reading_without_specimen_or_site_names_its_observation():
    record = map_patient([b.patient(PID), b.receptor(PID, "er", "positive", oid="er1")])
    assert record.er.readings[0].specimen == "Observation/er1"


def test_period_vs_datetime_and_instant():
    by_period = period_effective(b.receptor(PID, "er", "negative", oid="a"), "2022-01-01",
                                 "2022-02-01")
    by_datetime = b.receptor(PID, "er", "positive", effective="2022-01-15T10:00:00+01:00",
                             oid="b")
    record = map_patient([b.patient(PID), by_period, by_datetime])
    assert record.er.status is NEG  # the Period ended later
    by_instant = edited(b.receptor(PID, "er", "positive", oid="c"), effectiveDateTime=None,
                        effectiveInstant="2022-03-01T00:00:00Z")
    assert map_patient([b.patient(PID), by_period, by_instant]).er.status is POS


def test_same_day_definitive_beats_equivocal():
    ihc = b.receptor(PID, "her2", "equivocal", effective="2021-05-05", code="85319-2")
    ish = b.receptor(PID, "her2", "positive", effective="2021-05-05", code="85318-4")
    record = map_patient([b.patient(PID), ihc, ish])
    assert record.her2.status is POS and record.her2.sources == (f"Observation/{ish['id']}",)


def test_later_equivocal_result_wins_over_an_older_definitive_one():
    old = b.receptor(PID, "her2", "positive", effective="2019-01-01")
    new = b.receptor(PID, "her2", "equivocal", effective="2023-01-01")
    assert map_patient([b.patient(PID), old, new]).her2.status is EQ


def test_same_day_conflicting_results_are_unknown_and_named():
    a = b.receptor(PID, "pr", "positive", effective="2021-05-05", oid="a")
    c = b.receptor(PID, "pr", "negative", effective="2021-05-05", oid="c")
    record = map_patient([b.patient(PID), a, c])
    assert record.pr.status is UNK and set(record.pr.sources) == {"Observation/a",
                                                                 "Observation/c"}
    assert "PR status (latest results disagree)" in record.missing


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_entered_in_error_and_cancelled_are_ignored(status):
    good = b.receptor(PID, "er", "negative", effective="2019-01-01")
    bad = edited(b.receptor(PID, "er", "positive", effective="2023-01-01"), status=status)
    record = map_patient([b.patient(PID), good, bad])
    assert record.er.status is NEG
    assert [(s.reference, s.reason) for s in record.skipped] == [
        (f"Observation/{bad['id']}", f"status {status}")]


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "preliminary"])
def test_other_statuses_count(status):
    obs = edited(b.receptor(PID, "er", "positive"), status=status)
    assert map_patient([b.patient(PID), obs]).er.status is POS


def test_undated_result_loses_to_a_dated_one():
    undated = edited(b.receptor(PID, "er", "positive", oid="u"), effectiveDateTime=None)
    dated = b.receptor(PID, "er", "negative", effective="2000-01-01", oid="d")
    assert map_patient([b.patient(PID), undated, dated]).er.status is NEG
    alone = map_patient([b.patient(PID), undated]).er
    assert alone.status is POS and alone.date is None


def test_receptor_panel_components():
    panel = b.observation("panel", PID, b.LOINC, "85319-2-panel-not-a-code", "2020-02-02")
    panel["code"] = {"text": "Breast receptor panel"}
    panel["component"] = [
        {"code": coded(b.LOINC, "48676-1"), "valueCodeableConcept": coded(b.LOINC, "LA6577-6")},
        {"code": coded(b.LOINC, "85337-4"), "valueCodeableConcept": coded(b.LOINC, "LA6576-8")},
        {"code": coded(b.LOINC, "85325-9"), "valueQuantity": {"value": 0, "code": "%"}},
    ]
    record = map_patient([b.patient(PID), panel])
    assert (record.her2.status, record.er.status, record.pr.status) == (NEG, POS, NEG)
    assert record.er.sources == ("Observation/panel",)


def test_missing_receptors_are_named():
    record = map_patient([b.patient(PID), b.receptor(PID, "er", "positive")])
    assert "HER2 status" in record.missing and "PR status" in record.missing
    assert "ER status" not in record.missing


# --- Performance status --------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ({"valueInteger": 70}, 70),
    ({"valueInteger": 0}, 0),
    ({"valueInteger": 100}, 100),
    ({"valueQuantity": {"value": 80.0}}, 80),
    ({"valueString": "60"}, 60),
    ({"valueCodeableConcept": coded(b.LOINC, "LA29176-7")}, 90),
    ({"valueCodeableConcept": coded(b.LOINC, "LA29179-1")}, 60),
    ({"interpretation": [coded(b.LOINC, "LA29178-3")]}, 70),
])
def test_karnofsky_value_forms(value, expected):
    kps = edited(b.karnofsky(PID, 50), **{"valueInteger": None, **value})
    record = map_patient([b.patient(PID), kps])
    assert record.kps.value == expected and record.kps.source == f"Observation/{kps['id']}"


@pytest.mark.parametrize("value, expected", [
    ({"valueInteger": 0}, 0),
    ({"valueInteger": 3}, 3),
    ({"valueCodeableConcept": coded(b.LOINC, "LA9622-7")}, 0),
    ({"valueCodeableConcept": coded(b.LOINC, "LA9623-5")}, 1),
    ({"valueCodeableConcept": coded(b.LOINC, "LA9624-3")}, 2),
    ({"valueCodeableConcept": coded(b.LOINC, "LA9625-0")}, 3),
    ({"valueCodeableConcept": coded(b.LOINC, "LA9626-8")}, 4),
    ({"valueCodeableConcept": coded(b.LOINC, "LA9627-6")}, 5),
    ({"interpretation": [coded(b.LOINC, "LA9624-3")]}, 2),  # as the mCODE examples carry it
    ({"valueInteger": 1, "interpretation": [coded(b.LOINC, "LA9624-3")]}, 1),  # value wins
])
def test_ecog_value_integer_vs_answer_code(value, expected):
    ecog = edited(b.ecog(PID, 4), **{"valueInteger": None, **value})
    assert map_patient([b.patient(PID), ecog]).ecog.value == expected


@pytest.mark.parametrize("builder, value", [(b.karnofsky, 110), (b.karnofsky, -10), (b.ecog, 6),
                                            (b.ecog, True)])
def test_out_of_range_scores_are_skipped(builder, value):
    obs = edited(builder(PID, 1), valueInteger=value)
    record = map_patient([b.patient(PID), obs])
    assert record.kps is None and record.ecog is None
    assert "no " in record.skipped[0].reason
    assert "Karnofsky or ECOG performance status" in record.missing


def test_latest_score_wins_and_same_day_the_worse():
    record = map_patient([b.patient(PID), b.karnofsky(PID, 90, "2023-01-01"),
                          b.karnofsky(PID, 60, "2024-01-01"), b.ecog(PID, 0, "2022-01-01"),
                          b.ecog(PID, 1, "2024-02-02", oid="e1"),
                          b.ecog(PID, 2, "2024-02-02", oid="e2")])
    assert (record.kps.value, record.kps.date.isoformat()) == (60, "2024-01-01")
    assert (record.ecog.value, record.ecog.source) == (2, "Observation/e2")
    same_day_kps = map_patient([b.patient(PID), b.karnofsky(PID, 80, "2024-01-01", oid="a"),
                                b.karnofsky(PID, 70, "2024-01-01", oid="b")])
    assert same_day_kps.kps.value == 70


def test_performance_period_and_entered_in_error():
    by_period = period_effective(b.karnofsky(PID, 90, oid="k1"), "2024-01-01", "2024-01-03")
    wrong = edited(b.karnofsky(PID, 40, "2024-06-01", oid="k2"), status="entered-in-error")
    record = map_patient([b.patient(PID), by_period, wrong])
    assert (record.kps.value, record.kps.date.isoformat()) == (90, "2024-01-03")
