"""Drug classification (RxNorm code, then name), active-order rules, steroid dose trend."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import SteroidTrend as S
from cds_service.model.patient import TherapyClass as C
from tests.support import fhir_builders as b
from tests.support.variants import PID, edited

RXNORM = b.RXNORM
EXPECTED_CLASS = {
    "trastuzumab": C.HER2_DIRECTED, "tucatinib": C.HER2_DIRECTED, "capecitabine": C.CHEMOTHERAPY,
    "letrozole": C.HORMONAL, "anastrozole": C.HORMONAL, "tamoxifen": C.HORMONAL,
    "fulvestrant": C.HORMONAL, "palbociclib": C.CDK46, "abemaciclib": C.CDK46,
    "paclitaxel": C.CHEMOTHERAPY,
}


def therapies(record):
    return [(t.drug, t.therapy_class, t.rxnorm) for t in record.systemic_therapies]


def med(mid: str, concept: dict, **changes) -> b.Resource:
    res = b.medication_request(PID, mid, "letrozole")
    res["medicationCodeableConcept"] = concept
    return edited(res, **changes)


@pytest.mark.parametrize("drug", sorted(EXPECTED_CLASS))
def test_builder_drugs_by_rxnorm_code(drug):
    record = map_patient([b.patient(PID), b.medication_request(PID, "m1", drug)])
    assert therapies(record) == [(drug, EXPECTED_CLASS[drug], b.DRUGS[drug][0])]
    assert record.systemic_therapies[0].source == "MedicationRequest/m1"
    assert record.systemic_therapies[0].start.isoformat() == "2023-06-01"


@pytest.mark.parametrize("concept, expected", [
    ({"text": "Herceptin 440 mg IV"}, [("trastuzumab", C.HER2_DIRECTED)]),
    ({"text": "TUKYSA 150 MG Oral Tablet"}, [("tucatinib", C.HER2_DIRECTED)]),
    ({"text": "Enhertu"}, [("trastuzumab deruxtecan", C.HER2_DIRECTED)]),
    ({"text": "fam-trastuzumab deruxtecan-nxki"}, [("trastuzumab deruxtecan", C.HER2_DIRECTED)]),
    ({"text": "T-DM1"}, [("trastuzumab emtansine", C.HER2_DIRECTED)]),
    ({"text": "ado-trastuzumab emtansine 100 MG Injection"},
     [("trastuzumab emtansine", C.HER2_DIRECTED)]),
    ({"text": "pertuzumab / trastuzumab / hyaluronidase"},
     [("pertuzumab", C.HER2_DIRECTED), ("trastuzumab", C.HER2_DIRECTED)]),
    ({"text": "Kisqali 200mg"}, [("ribociclib", C.CDK46)]),
    ({"text": "5-FU continuous infusion"}, [("fluorouracil", C.CHEMOTHERAPY)]),
    ({"text": "nab-paclitaxel"}, [("paclitaxel", C.CHEMOTHERAPY)]),
    ({"text": "Sacituzumab govitecan-hziy"}, [("sacituzumab govitecan", C.CHEMOTHERAPY)]),
    ({"text": "Temodar 140 mg"}, [("temozolomide", C.CHEMOTHERAPY)]),
    ({"text": "exemestane 25 MG Oral Tablet"}, [("exemestane", C.HORMONAL)]),
    ({"text": "Avastin"}, [("bevacizumab", C.OTHER)]),
    ({"text": "vitamin D"}, []),
    ({"text": "capecitabinexyz"}, []),  # whole words only
], ids=lambda v: v["text"] if isinstance(v, dict) else None)
def test_drugs_by_name_when_the_code_is_not_in_the_table(concept, expected):
    record = map_patient([b.patient(PID), med("m1", concept)])
    assert [(t.drug, t.therapy_class) for t in record.systemic_therapies] == sorted(
        expected, key=lambda e: (e[1].value, e[0]))
    assert all(t.rxnorm is None for t in record.systemic_therapies)


def test_product_code_falls_back_to_the_display():
    concept = b.cc(RXNORM, "309311", "cisplatin 1 MG/ML Injectable Solution")
    assert therapies(map_patient([b.patient(PID), med("m1", concept)])) == [
        ("cisplatin", C.CHEMOTHERAPY, None)]


@pytest.mark.parametrize("changes, active", [
    ({}, True),
    ({"intent": "plan"}, True),
    ({"intent": "original-order"}, True),
    ({"intent": "proposal"}, False),
    ({"status": "completed"}, False),
    ({"status": "stopped"}, False),
    ({"status": "on-hold"}, False),
    ({"status": "draft"}, False),
])
def test_active_request_rules(changes, active):
    request = edited(b.medication_request(PID, "m1", "letrozole"), **changes)
    assert bool(map_patient([b.patient(PID), request]).systemic_therapies) is active


def test_entered_in_error_is_recorded():
    request = edited(b.medication_request(PID, "m1", "letrozole"), status="entered-in-error")
    record = map_patient([b.patient(PID), request])
    assert record.systemic_therapies == () and record.skipped[0].reason == (
        "status entered-in-error")


def statement(mid: str, drug: str, status: str = "active", start: str = "2023-01-01",
              dose_mg: float | None = None) -> b.Resource:
    code, display = b.DRUGS[drug]
    res = {"resourceType": "MedicationStatement", "id": mid, "status": status,
           "medicationCodeableConcept": b.cc(RXNORM, code, display),
           "subject": {"reference": f"Patient/{PID}"}, "effectivePeriod": {"start": start}}
    if dose_mg is not None:
        res["dosage"] = [{"doseAndRate": [{"doseQuantity": {"value": dose_mg, "code": "mg"}}]}]
    return res


@pytest.mark.parametrize("status, active", [("active", True), ("completed", False),
                                            ("intended", False), ("stopped", False)])
def test_medication_statement(status, active):
    record = map_patient([b.patient(PID), statement("s1", "fulvestrant", status)])
    assert bool(record.systemic_therapies) is active
    if active:
        assert record.systemic_therapies[0].start.isoformat() == "2023-01-01"


def test_medication_reference_contained_or_in_the_data():
    request = edited(b.medication_request(PID, "m1", "letrozole"),
                     medicationCodeableConcept=None,
                     medicationReference={"reference": "#med"},
                     contained=[{"resourceType": "Medication", "id": "med",
                                 "code": b.cc(RXNORM, "1601374", "palbociclib")}])
    assert therapies(map_patient([b.patient(PID), request])) == [
        ("palbociclib", C.CDK46, "1601374")]
    shared = edited(request, contained=None, medicationReference={"reference": "Medication/x"})
    medication = {"resourceType": "Medication", "id": "x",
                  "ingredient": [{"itemCodeableConcept": {"text": "Tucatinib"}}]}
    assert therapies(map_patient([b.patient(PID), shared, medication])) == [
        ("tucatinib", C.HER2_DIRECTED, None)]


def test_one_entry_per_drug_the_latest_order():
    old = b.medication_request(PID, "m1", "trastuzumab", authored="2022-01-01")
    new = b.medication_request(PID, "m2", "trastuzumab", authored="2023-01-01")
    record = map_patient([b.patient(PID), new, old])
    assert [(t.drug, t.source) for t in record.systemic_therapies] == [
        ("trastuzumab", "MedicationRequest/m2")]


def test_steroids_are_not_systemic_anticancer_therapy():
    record = map_patient([b.patient(PID), b.medication_request(PID, "d", "dexamethasone",
                                                               dose_mg=4)])
    assert record.systemic_therapies == () and record.steroids.active


# --- Steroid trend -------------------------------------------------------------------------------
def dex(mid: str, authored: str, dose_mg: float | None, status: str = "active",
        per_day: int | None = None) -> b.Resource:
    res = b.medication_request(PID, mid, "dexamethasone", authored=authored, status=status,
                               dose_mg=dose_mg)
    if per_day is not None and dose_mg is not None:
        res["dosageInstruction"][0]["timing"] = {"repeat": {"frequency": per_day, "period": 1,
                                                            "periodUnit": "d"}}
    return res


@pytest.mark.parametrize("orders, trend, active", [
    ([], S.NONE, False),
    ([dex("a", "2024-01-01", 4, status="stopped")], S.NONE, False),
    ([dex("a", "2024-01-01", 4)], S.UNKNOWN, True),  # one order cannot tell a trend
    ([dex("a", "2024-01-01", 4, "stopped"), dex("b", "2024-02-01", 8)], S.INCREASED, True),
    ([dex("a", "2024-01-01", 8, "stopped"), dex("b", "2024-02-01", 4)], S.DECREASED, True),
    ([dex("a", "2024-01-01", 4, "completed"), dex("b", "2024-02-01", 4)], S.STABLE, True),
    ([dex("a", "2024-01-01", 4), dex("b", "2024-02-01", 6)], S.INCREASED, True),  # both active
    ([dex("a", "2024-01-01", 4, "stopped"), dex("b", "2024-02-01", None)], S.UNKNOWN, True),
    ([dex("a", "2024-01-01", None, "stopped"), dex("b", "2024-02-01", 4)], S.UNKNOWN, True),
    ([dex("a", "2024-01-01", 4, "stopped", per_day=2), dex("b", "2024-02-01", 8, per_day=1)],
     S.STABLE, True),  # 4 mg twice a day = 8 mg once a day
    ([dex("a", "2024-01-01", 4, "stopped", per_day=1), dex("b", "2024-02-01", 4, per_day=2)],
     S.INCREASED, True),
    ([dex("a", "2024-01-01", 4, "stopped", per_day=2), dex("b", "2024-02-01", 8)],
     S.UNKNOWN, True),  # per day vs per dose cannot be compared
    ([dex("b", "2024-02-01", 4, "stopped"), dex("a", "2024-01-01", 8)], S.UNKNOWN, True),
], ids=["none", "stopped-only", "single", "increased", "decreased", "stable", "both-active",
        "no-latest-dose", "no-previous-dose", "daily-equal", "daily-increased",
        "basis-differs", "latest-active-first"])
def test_steroid_trend(orders, trend, active):
    record = map_patient([b.patient(PID), *orders])
    assert (record.steroids.trend, record.steroids.active) == (trend, active)
    assert ("corticosteroid dose trend" in record.missing) is (trend is S.UNKNOWN)


def test_steroid_trend_sources_and_statement_and_grams():
    earlier = statement("s1", "dexamethasone", status="completed", start="2024-01-01", dose_mg=4)
    later = dex("b", "2024-02-01", 2)
    record = map_patient([b.patient(PID), earlier, later])
    assert record.steroids.trend is S.DECREASED
    assert record.steroids.sources == ("MedicationStatement/s1", "MedicationRequest/b")


def test_other_steroids_compare_as_dexamethasone_equivalents():
    prednisone = b.medication_request(PID, "p", "dexamethasone", authored="2024-01-01",
                                      status="stopped", dose_mg=50)
    prednisone["medicationCodeableConcept"] = b.cc(RXNORM, "8640", "predniSONE")
    dexamethasone = dex("d", "2024-02-01", 4)  # 50 mg prednisone = 7.5 mg dexamethasone
    assert map_patient([b.patient(PID), prednisone, dexamethasone]).steroids.trend is (
        S.DECREASED)


def test_topical_steroids_do_not_count():
    cream = b.medication_request(PID, "c", "dexamethasone", dose_mg=1)
    cream["medicationCodeableConcept"] = {"text": "hydrocortisone 1 % Topical Cream"}
    assert map_patient([b.patient(PID), cream]).steroids.trend is S.NONE
    inhaled = b.medication_request(PID, "i", "dexamethasone", dose_mg=1)
    inhaled["dosageInstruction"][0]["route"] = b.cc(b.SNOMED, "447694001")
    assert map_patient([b.patient(PID), inhaled]).steroids.active is False
