"""The path every hook shares: gathered FHIR data → PatientRecord → Assessment (→ order findings).

Pure glue: the mapping (`cds_service.mapping`) turns the prefetch/fetched resources into a typed
record, the salvage model (`cds_service.model`) assesses it on the call's date with the model
settings of the service configuration. What could not be obtained from the EHR
(`GatheredData.missing`), keys cut short (`GatheredData.truncated`) and partial data
(`GatheredData.notes`) travel with the result so that the cards can say so — degraded, never
silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cards.incomplete_card import incomplete_assessment_card
from cards.suggestions import OrderContext
from cds_service.config import ServiceConfig
from cds_service.fhir.truncation import Truncation
from cds_service.mapping import collect_resources, map_draft_orders, map_patient
from cds_service.model.assess import assess
from cds_service.model.assessment import LEPTOMENINGEAL, NOT_APPLICABLE, Assessment, OrderFinding
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.order_checks import check_orders
from cds_service.model.patient import PatientRecord
from cds_service.registry import HookCall
from hooks.prefetch_templates import CONDITIONS_KEY


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
    truncated: tuple[Truncation, ...] = ()  # keys read only in part (named on the card)

    @property
    def in_scope(self) -> bool:
        """Breast cancer with brain metastases (anything else: the service stays silent)."""
        return self.assessment.situation.code != NOT_APPLICABLE

    @property
    def progressive(self) -> bool:
        return self.assessment.situation.is_progressive

    @property
    def partial_data(self) -> tuple[str, ...]:
        """Every note on partial data, the cut keys first, for the card's data section."""
        return (*(cut.describe() for cut in self.truncated), *self.notes)

    @property
    def scope_unknown(self) -> bool:
        """The Conditions were cut: a primary or brain metastases may sit in what was not read,
        so "out of scope" cannot be told from "not read"."""
        return any(cut.key == CONDITIONS_KEY for cut in self.truncated)

    @property
    def may_concern_service(self) -> bool:
        """In scope, or scope unknown: a patient for whom silence could hide an answer."""
        return self.in_scope or self.scope_unknown

    @property
    def data_gaps(self) -> bool:
        return bool(self.unavailable or self.truncated)


def assess_call(call: HookCall) -> PatientAssessment:
    resources = collect_resources(*call.data.resources())  # a tuple map_patient takes as it is
    record = map_patient(resources, patient_id=call.context.get("patientId"))
    assessment = assess(record, on=call.today, config=model_config(call.config))
    return PatientAssessment(
        resources=resources,
        record=record,
        assessment=assessment,
        unavailable=tuple(call.data.missing),
        notes=tuple(call.data.notes),
        truncated=tuple(call.data.truncated),
    )


def incomplete_card(result: PatientAssessment, *, orders_checked: bool = False) -> dict[str, Any]:
    """The "assessment incomplete" card naming what could not be obtained and what was cut."""
    return incomplete_assessment_card(
        result.assessment, result.unavailable, [cut.describe() for cut in result.truncated],
        scope_unknown=result.scope_unknown and not result.in_scope,
        orders_checked=orders_checked)


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
