"""patient-view: salvage options when a patient with progressive BCBM is opened.

Progressive BCBM (clinical model §3, a progressive situation) → the main card (situation,
evidence, prognosis, ranked options with orderable suggestions, SMART link) and one card per
decision-changing warning. Every other patient — another primary, no brain metastases, untreated
or stable BCBM — gets `{"cards": []}`; an in-scope patient whose record could only partly be
obtained or was cut short (a paging or size limit, a page that failed) gets an "assessment
incomplete" card naming what is missing or cut instead of silence — and so does a patient who looks
out of scope only on Conditions that were cut. A patient out of scope on complete Conditions stays
silent even when other keys were cut: no salvage question arises.
"""

from __future__ import annotations

from typing import Any

from cards.main_card import main_card
from cards.suggestions import OrderContext
from cards.warning_cards import warning_cards
from cds_service.assessment.pipeline import PatientAssessment
from cds_service.assessment.queries import PATIENT_DATA_PREFETCH, REQUIRED_KEYS
from cds_service.model.assessment import LEPTOMENINGEAL
from cds_service.protocol.registry import HookCall, HookService
from hooks.assess_call import assess_call, incomplete_card


def handle(call: HookCall) -> dict[str, Any]:
    result = assess_call(call)
    if not result.progressive:
        if result.data_gaps and result.may_concern_service:
            # Silence would read as "nothing to worry about" while the evidence may be missing
            # or not read (a cut Conditions query leaves even the scope unknown).
            return {"cards": [incomplete_card(result)]}
        return {"cards": []}
    assessment = result.assessment
    cards = [
        main_card(assessment, order_context(call, result),
                  public_base_url=call.config.public_base_url,
                  hook_instance=call.hook_instance, record=result.record,
                  unavailable=result.unavailable, notes=result.partial_data,
                  skipped=result.record.skipped),
        *warning_cards(assessment, result.record),
    ]
    return {"cards": cards}


def order_context(call: HookCall, result: PatientAssessment) -> OrderContext:
    """Subject, encounter and reason (the brain-metastasis or leptomeningeal Condition)."""
    record = result.record
    condition = (record.leptomeningeal if result.assessment.situation.code == LEPTOMENINGEAL
                 else record.brain_metastases)
    reason = next((s for s in condition.sources if s.startswith("Condition/")), None)
    return OrderContext(
        patient_id=call.context["patientId"],
        encounter_id=call.context.get("encounterId"),
        reason_reference=reason,
    )


SERVICE = HookService(
    id="bcbm-salvage",
    hook="patient-view",
    title="Progressive breast cancer brain metastases: salvage options",
    description=(
        "For a patient whose previously treated breast cancer brain metastases are progressing, "
        "names the clinical situation and the salvage options of Spalek & Mandat (Cancers 2022) "
        "with dose regimens, warnings, Breast GPA and RANO-BM response."
    ),
    handler=handle,
    prefetch=PATIENT_DATA_PREFETCH,
    required_prefetch=REQUIRED_KEYS,
)
