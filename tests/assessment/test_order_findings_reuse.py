"""`order_findings` hands the order checks the situation the assessment found (same date, same
settings) instead of letting them classify the patient again; any other date is classified."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.assessment.pipeline import (
    PatientAssessment,
    assess_resources,
    order_findings,
)
from cds_service.config import ServiceConfig
from cds_service.model import order_checks
from tests.support.readme_examples import order_sign_example

ON = date(2024, 3, 1)


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = order_checks.classify

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)
    monkeypatch.setattr(order_checks, "classify", counting)
    return calls


def _assessed(on: date) -> tuple[PatientAssessment, dict[str, Any]]:
    body = order_sign_example()
    result = assess_resources(body["prefetch"].values(), on=on,
                              config=ServiceConfig(database_url="sqlite://"),
                              patient_id=body["context"]["patientId"])
    return result, body["context"]["draftOrders"]


def test_the_order_hooks_classify_the_patient_once(monkeypatch: pytest.MonkeyPatch) -> None:
    result, drafts = _assessed(ON)
    calls = _counted(monkeypatch)
    findings = order_findings(result, drafts, on=ON)
    assert findings and not calls
    assert [f.code for f in findings] == ["re-wbrt"]


def test_another_date_than_the_assessments_is_classified(monkeypatch: pytest.MonkeyPatch) -> None:
    result, drafts = _assessed(ON)
    calls = _counted(monkeypatch)
    later = date(2024, 3, 2)
    findings = order_findings(result, drafts, on=later)  # assessed on ON: classified again
    assert calls == [1]
    assert findings == order_findings(_assessed(later)[0], drafts, on=later)  # not again
    assert calls == [1]
