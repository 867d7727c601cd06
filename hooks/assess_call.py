"""What every hook handler does first: assess the call's gathered data, and — when data is
missing or cut — say so on an "assessment incomplete" card."""

from __future__ import annotations

from typing import Any

from cards.incomplete_card import incomplete_assessment_card
from cds_service.assessment.pipeline import PatientAssessment, assess_resources
from cds_service.protocol.registry import HookCall


def assess_call(call: HookCall) -> PatientAssessment:
    """The call's data (prefetched and fetched) through the one path to the assessment."""
    return assess_resources(
        call.data.resources(), on=call.today, config=call.config,
        patient_id=call.context.get("patientId"), unavailable=call.data.missing,
        notes=call.data.notes, truncated=call.data.truncated)


def incomplete_card(result: PatientAssessment, *, orders_checked: bool = False) -> dict[str, Any]:
    """The "assessment incomplete" card naming what could not be obtained and what was cut."""
    return incomplete_assessment_card(
        result.assessment, result.unavailable, [cut.describe() for cut in result.truncated],
        scope_unknown=result.scope_unknown and not result.in_scope,
        orders_checked=orders_checked)
