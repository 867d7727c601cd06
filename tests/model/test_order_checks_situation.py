"""The order checks take the situation `assess` found (order hooks assess first, for the cards)
instead of classifying the patient a second time; a deceased patient's orders are still checked
against the situation of a living patient, as before."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service.model import order_checks
from cds_service.model.assess import assess
from cds_service.model.assessment import NOT_APPLICABLE
from cds_service.model.order_checks import check_orders
from cds_service.model.patient import Deceased, DraftOrders
from tests.support.records import ON, d, kps, lesion, med_order, record, rt_order, treatment

PROGRESSIVE_AFTER_WBRT = record(
    er="positive",
    lesions=(lesion("B", ("2023-06-01", 15), ("2024-02-01", 25)),
             lesion("C", ("2023-06-01", 10), ("2024-02-01", 16))),
    treatments=(treatment("wbrt", "2022-05-27"),), kps=kps(80))
DRAFTS = DraftOrders(radiotherapy=(rt_order("s1", 2500, 1, lesions=("C",)),
                                   rt_order("w1", 3000, 10, whole_brain=True)),
                     medications=(med_order("m1", "letrozole", "hormonal"),))


def _no_second_classification(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object, **_kw: object) -> None:
        raise AssertionError("the order checks classified the patient again")
    monkeypatch.setattr(order_checks, "classify", fail)


def test_the_assessed_situation_gives_the_findings_of_a_second_classification(
        monkeypatch: pytest.MonkeyPatch) -> None:
    situation = assess(PROGRESSIVE_AFTER_WBRT, ON).situation
    assert situation.is_progressive
    expected = check_orders(PROGRESSIVE_AFTER_WBRT, DRAFTS, ON)
    assert {f.code for f in expected} >= {"srs-size-limit", "re-wbrt",
                                          "hormonal-therapy-not-recommended"}
    _no_second_classification(monkeypatch)
    assert check_orders(PROGRESSIVE_AFTER_WBRT, DRAFTS, ON, situation=situation) == expected


def test_a_deceased_patients_orders_are_checked_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = replace(PROGRESSIVE_AFTER_WBRT,
                   deceased=Deceased("Patient/p1", since=d("2024-02-20"), raw="2024-02-20"))
    situation = assess(dead, ON).situation
    assert situation.code == NOT_APPLICABLE  # the cards stay silent
    findings = check_orders(dead, DRAFTS, ON, situation=situation)
    # the situation-dependent check (hormonal therapy alone, progressive BCBM) still applies
    assert findings == check_orders(dead, DRAFTS, ON)
    assert "hormonal-therapy-not-recommended" in {f.code for f in findings}
