"""The path every hook shares: gathered FHIR data → PatientRecord → Assessment (→ order findings).

Pure glue: the mapping (`cds_service.mapping`) turns the prefetch/fetched resources into a typed
record, the salvage model (`cds_service.model`) assesses it on the call's date with the model
settings of the service configuration. What could not be obtained from the EHR
(`GatheredData.missing`) and partial data (`GatheredData.notes`) travel with the result so that
the cards can say so — degraded, never silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cards.suggestions import OrderContext
from cds_service.config import ServiceConfig
from cds_service.mapping import collect_resources, map_draft_orders, map_patient
from cds_service.model.assess import assess
from cds_service.model.assessment import LEPTOMENINGEAL, NOT_APPLICABLE, Assessment, OrderFinding
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.order_checks import check_orders
from cds_service.model.patient import PatientRecord
from cds_service.registry import HookCall


def model_config(config: ServiceConfig) -> ModelConfig:
    """The model settings an operator can set through the service configuration."""
    return dataclasses.replace(
        DEFAULT_CONFIG,
        limited_lesion_max=config.limited_lesion_max,
        countable_lesion_max=config.countable_lesion_max,
        outdated_imaging_days=config.outdated_imaging_days,
    )


@dataclass(frozen=True)
class PatientAssessment:
    resources: tuple[Mapping[str, Any], ...]
    record: PatientRecord
    assessment: Assessment
    unavailable: tuple[str, ...] = ()  # data the EHR could not give us (named on the card)
    notes: tuple[str, ...] = ()  # partial data

    @property
    def in_scope(self) -> bool:
        """Breast cancer with brain metastases (anything else: the service stays silent)."""
        return self.assessment.situation.code != NOT_APPLICABLE

    @property
    def progressive(self) -> bool:
        return self.assessment.situation.is_progressive


def assess_call(call: HookCall) -> PatientAssessment:
    resources = tuple(collect_resources(*call.data.resources()))
    record = map_patient(list(resources), patient_id=call.context.get("patientId"))
    assessment = assess(record, on=call.today, config=model_config(call.config))
    return PatientAssessment(
        resources=resources,
        record=record,
        assessment=assessment,
        unavailable=tuple(call.data.missing),
        notes=tuple(call.data.notes),
    )


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


def order_findings(call: HookCall, result: PatientAssessment, *,
                   selections: Sequence[str] | None = None) -> tuple[OrderFinding, ...]:
    """§9 findings on the context's draftOrders; with `selections` (order-select), only those
    about the selected orders — unless no selection names a draft order, then all of them."""
    draft_bundle = call.context.get("draftOrders") or {}
    drafts = map_draft_orders(draft_bundle, context_resources=list(result.resources))
    findings = tuple(check_orders(result.record, drafts, call.today, model_config(call.config)))
    if selections:
        draft_ids = {f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
                     for e in draft_bundle.get("entry") or []
                     if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)}
        chosen = set(selections) & draft_ids
        if chosen:
            findings = tuple(f for f in findings if f.resource_id in chosen)
    return findings
