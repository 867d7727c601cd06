"""Order checks (clinical-model §9): a passing and a failing case for each check."""

from __future__ import annotations

import pytest

from cds_service.model.order_checks import check_orders
from cds_service.model.patient import DraftOrders
from tests.support.records import (
    ABSENT,
    ON,
    drug,
    lesion,
    med_order,
    record,
    rt_order,
    treatment,
)


def grown(lid: str, before: float, after: float):
    return lesion(lid, ("2023-06-01", before), ("2024-02-01", after))


AFTER_WBRT = dict(lesions=(grown("B", 15, 25), grown("C", 10, 16), grown("D", 38, 45)),
                  treatments=(treatment("wbrt", "2022-05-27"),))


def findings(rec, *radiotherapy, medications=()):
    return check_orders(rec, DraftOrders(radiotherapy=radiotherapy, medications=medications), ON)


@pytest.mark.parametrize(("lesion_id", "dose_cgy", "expected_cgy"), [
    ("C", 2400, None),   # 1.6 cm: 24 Gy is the top of 20-24 Gy
    ("C", 2500, 2400),   # above the range -> 24 Gy
    ("B", 1800, None),   # 2.5 cm: 18 Gy
    ("B", 2000, 1800),
])
def test_srs_dose_against_table_1(lesion_id: str, dose_cgy: float, expected_cgy) -> None:
    out = findings(record(**AFTER_WBRT), rt_order("s1", dose_cgy, 1, lesions=(lesion_id,)))
    if expected_cgy is None:
        assert out == ()
        return
    (finding,) = out
    assert finding.code == "srs-size-limit" and finding.resource_id == "ServiceRequest/s1"
    (fix,) = finding.corrections
    assert (fix.action, fix.total_dose_cgy, fix.fractions) == ("update", expected_cgy, 1)


def test_one_srs_prescription_for_several_lesions_takes_the_smallest_maximum() -> None:
    (finding,) = findings(record(**AFTER_WBRT), rt_order("s1", 2200, 1, lesions=("B", "C")))
    assert finding.corrections[0].total_dose_cgy == 1800
    assert "lesion B (2.5 cm)" in finding.message


def test_srs_for_a_lesion_over_4_cm_becomes_fsrt() -> None:
    (finding,) = findings(record(**AFTER_WBRT), rt_order("s1", 1500, 1, lesions=("D",)))
    assert finding.code == "srs-size-limit"
    fix = finding.corrections[0]
    assert (fix.total_dose_cgy, fix.fractions) == (3000, 5)
    assert "D 4.5 cm" in finding.message


def test_srs_without_a_known_lesion_diameter_is_named_not_guessed() -> None:
    (finding,) = findings(record(**AFTER_WBRT), rt_order("s1", 2400, 1))
    assert finding.code == "missing-data" and finding.corrections == ()
    (finding,) = findings(record(**AFTER_WBRT), rt_order("s1", 2400, 1, lesions=("Z",)))
    assert finding.code == "missing-data" and "Z" in finding.message


@pytest.mark.parametrize(("total", "fractions", "flagged"), [
    (3000, 10, True), (2000, 5, True), (2500, 10, True), (2000, 10, False), (1800, 10, False)])
def test_wbrt_after_prior_wbrt_suggests_re_wbrt(total: float, fractions: int,
                                                flagged: bool) -> None:
    out = findings(record(**AFTER_WBRT), rt_order("w", total, fractions, whole_brain=True))
    if not flagged:
        assert out == ()
        return
    (finding,) = out
    assert finding.code == "re-wbrt" and finding.references == (49,)
    fix = finding.corrections[0]
    assert (fix.total_dose_cgy, fix.fractions, fix.reirradiation) == (2000, 10, True)


def test_first_wbrt_is_not_flagged() -> None:
    rec = record(lesions=tuple(lesion(f"N{i}", ("2024-02-01", 8)) for i in range(5)),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),))
    assert findings(rec, rt_order("w", 3000, 10, whole_brain=True)) == ()


def test_wbrt_for_limited_progression_after_surgery_gets_info() -> None:
    rec = record(lesions=(lesion("A", ("2023-06-01", 4), ("2024-02-01", 14)),),
                 treatments=(treatment("surgery", "2023-02-01", ("A",)),))
    (finding,) = findings(rec, rt_order("w", 3000, 10, whole_brain=True))
    assert (finding.code, finding.severity) == ("srs", "info")
    assert "cavity" in finding.message and finding.corrections == ()


def test_repeat_srs_to_irradiated_lesion_warns_radionecrosis() -> None:
    rec = record(lesions=(grown("A", 10, 18),), treatments=(treatment("srs", "2023-03-01", ("A",)),))
    out = findings(rec, rt_order("s", 2000, 1, lesions=("A",)))
    assert [f.code for f in out] == ["radionecrosis-risk"]
    fix = out[0].corrections[0]
    assert (fix.total_dose_cgy, fix.fractions, fix.reirradiation) == (3000, 5, True)
    assert "0.28 / 0.76 / 1.6" in out[0].message


def test_repeat_fsrt_gets_the_reirradiation_flag_only() -> None:
    rec = record(lesions=(grown("A", 10, 18),), treatments=(treatment("srs", "2023-03-01", ("A",)),))
    (finding,) = findings(rec, rt_order("f", 3000, 5, lesions=("A",)))
    fix = finding.corrections[0]
    assert (fix.total_dose_cgy, fix.fractions, fix.reirradiation) == (3000, 5, True)
    (flagged,) = findings(rec, rt_order("f", 3000, 5, lesions=("A",), reirradiation=True))
    assert flagged.code == "radionecrosis-risk" and flagged.corrections == ()


def test_srs_to_a_new_lesion_is_not_reirradiation() -> None:
    rec = record(lesions=(grown("A", 10, 9), lesion("B", ("2024-02-01", 12))),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),))
    assert findings(rec, rt_order("s", 2400, 1, lesions=("B",))) == ()


def test_hormonal_only_draft_in_progressive_bcbm() -> None:
    rec = record(her2="negative", er="positive", pr="positive", **AFTER_WBRT)
    (finding,) = findings(rec, medications=(med_order("m", "letrozole", "hormonal"),))
    assert finding.code == "hormonal-therapy-not-recommended"
    assert finding.resource_id == "MedicationRequest/m"


def test_hormonal_draft_with_cdk46_is_fine() -> None:
    rec = record(her2="negative", er="positive", pr="positive", **AFTER_WBRT)
    drafts = (med_order("m", "letrozole", "hormonal"), med_order("p", "palbociclib", "cdk4/6"))
    assert findings(rec, medications=drafts) == ()
    on_cdk = record(her2="negative", er="positive", pr="positive",
                    systemic_therapies=(drug("abemaciclib", "cdk4/6"),), **AFTER_WBRT)
    assert findings(on_cdk, medications=(med_order("m", "letrozole", "hormonal"),)) == ()


def test_steroid_drafts_do_not_count_as_systemic_therapy() -> None:
    rec = record(her2="negative", er="positive", pr="positive", **AFTER_WBRT)
    drafts = (med_order("m", "letrozole", "hormonal"),
              med_order("dex", "dexamethasone", None, steroid=True))
    assert [f.code for f in findings(rec, medications=drafts)] == ["hormonal-therapy-not-recommended"]


def test_hormonal_draft_without_progression_is_not_checked() -> None:
    rec = record(her2="negative", er="positive", pr="positive",
                 lesions=(grown("A", 12, 11),), treatments=(treatment("srs", "2023-03-01", ("A",)),))
    assert findings(rec, medications=(med_order("m", "letrozole", "hormonal"),)) == ()


def test_outside_the_population_nothing_is_checked() -> None:
    rec = record(breast_cancer=ABSENT, **AFTER_WBRT)
    assert findings(rec, rt_order("w", 3000, 10, whole_brain=True),
                    rt_order("s", 3000, 1, lesions=("B",))) == ()


def test_unclassifiable_prescription_is_named() -> None:
    (finding,) = findings(record(**AFTER_WBRT), rt_order("x", 2000, None, whole_brain=None))
    assert finding.code == "missing-data"
