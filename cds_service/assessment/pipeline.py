"""The one path from FHIR resources to the assessment (→ order findings), for every caller.

The hooks (with what the call gathered), `POST /api/assessment` (with one Bundle's resources) and
the SMART app (with what it read from the EHR) all call `assess_resources`: the mapping
(`cds_service.mapping`) turns the resources into a typed record, the salvage model
(`cds_service.model`) assesses it on the given date with the model settings of the service
configuration. What could not be obtained from the EHR (`unavailable`), keys cut short
(`truncated`) and partial data (`notes`) travel with the result so that whoever shows it can say
so — degraded, never silently. Nothing here knows about cards or HTTP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.assessment.queries import CONDITIONS_KEY
from cds_service.config import ServiceConfig
from cds_service.fhir.truncation import Truncation
from cds_service.mapping import collect_resources, map_draft_orders, map_patient
from cds_service.model.assess import assess
from cds_service.model.assessment import NOT_APPLICABLE, Assessment, OrderFinding, Situation
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.order_checks import check_orders
from cds_service.model.patient import PatientRecord


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
    settings: ModelConfig = DEFAULT_CONFIG  # the model settings the assessment was made with
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


def assess_resources(values: Iterable[Any], *, on: date, config: ServiceConfig,
                     patient_id: str | None = None, unavailable: Sequence[str] = (),
                     notes: Sequence[str] = (), truncated: Sequence[Truncation] = ()
                     ) -> PatientAssessment:
    """Map `values` (resources, Bundles, lists of them) and assess the patient on `on`.

    patient_id: the patient in context; resources about another patient are skipped. When None,
    the single Patient resource in the data (if there is exactly one) decides."""
    resources = collect_resources(*values)  # a tuple map_patient takes as it is (no second pass)
    record = map_patient(resources, patient_id=patient_id)
    settings = model_config(config)
    return PatientAssessment(
        resources=resources,
        record=record,
        assessment=assess(record, on=on, config=settings),
        settings=settings,
        unavailable=tuple(unavailable),
        notes=tuple(notes),
        truncated=tuple(truncated),
    )


def order_findings(result: PatientAssessment, draft_orders: Mapping[str, Any] | None, *,
                   on: date, selections: Sequence[str] | None = None
                   ) -> tuple[OrderFinding, ...]:
    """§9 findings on the draft orders (a Bundle); with `selections` (order-select), only those
    about the selected orders — unless no selection names a draft order, then all of them."""
    draft_bundle = draft_orders or {}
    drafts = map_draft_orders(draft_bundle, context_resources=list(result.resources))
    findings = tuple(check_orders(result.record, drafts, on, result.settings,
                                  situation=_assessed_situation(result, on)))
    if selections:
        draft_ids = {f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
                     for e in draft_bundle.get("entry") or []
                     if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)}
        chosen = set(selections) & draft_ids
        if chosen:
            findings = tuple(f for f in findings if f.resource_id in chosen)
    return findings


def _assessed_situation(result: PatientAssessment, on: date) -> Situation | None:
    """The situation the assessment found, for the order checks, when it was made on `on` (with
    `result.settings`, always): the checks do not classify the patient a second time."""
    assessment = result.assessment
    return assessment.situation if assessment.assessment_date == on else None
