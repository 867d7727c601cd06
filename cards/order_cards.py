"""order-select / order-sign cards: one card per problem found in a draft order (clinical model §9).

A finding with corrections gets one suggestion per correction:
- `update`: a copy of the draft order (same id, everything else kept) with the corrected
  `totalDose` / `fractions` of its `codexrt-radiotherapy-dose-prescribed-to-volume` and the
  corrected re-irradiation flag, validated as FHIR R4, with `resourceId` = "ServiceRequest/<id>";
- `delete`: `resourceId` only (CDS Hooks 2.0 deprecates the resource for deletes).
Alternative corrections of one order exclude each other: `selectionBehavior: at-most-one`, the
first correction `isRecommended`. A finding without corrections (e.g. radionecrosis risk, hormonal
therapy alone — nothing to change in the order itself, a decision to take) is advice only: the
card has no suggestion. An `update` whose dose cannot be placed unambiguously (no draft found,
several prescribed volumes) is left out and the card says to correct the order by hand.
No finding → no card.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from cards import codes
from cards.common import order_override_reasons, review_link, source
from cards.prior_courses import prior_radiotherapy
from cards.render import (
    SUMMARY_MAX,
    bullets,
    card,
    md,
    new_uuid,
    num,
    one_line,
    plain,
    regimen_text,
    render,
    section,
)
from cards.suggestions import (
    InvalidResource,
    dose_prescribed_to_volume,
    reirradiation_extension,
    validate_resource,
)
from cds_service.model.assessment import OrderCorrection, OrderFinding
from cds_service.model.patient import PatientRecord
from cds_service.model.vocabulary import OptionCode, WarningCode

log = logging.getLogger("salvage_cds.cards")


def draft_resources(draft_orders: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """"Type/id" -> resource for every draft order in the context's Bundle."""
    out: dict[str, dict[str, Any]] = {}
    for entry in (draft_orders or {}).get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") and resource.get("id"):
            out[f"{resource['resourceType']}/{resource['id']}"] = dict(resource)
    return out


def _dose_extensions(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The draft's dose extensions, as the (JSON-parsed) dicts that a correction edits in place."""
    return [e for e in resource.get("extension") or []
            if isinstance(e, dict) and e.get("url") == codes.DOSE_PRESCRIBED_TO_VOLUME]


def _sub(extension: Mapping[str, Any], name: str) -> Any:
    for sub in extension.get("extension") or []:
        if sub.get("url") == name:
            return sub
    return None


def _dose_pairs(resource: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """(totalDose cGy, fractions) of each prescribed volume of a radiotherapy draft."""
    return [((_sub(e, "totalDose") or {}).get("valueQuantity", {}).get("value"),
             (_sub(e, "fractions") or {}).get("valuePositiveInt"))
            for e in _dose_extensions(resource)]


def describe_draft(resource: Mapping[str, Any]) -> str:
    """"30 Gy in 10 × 3 Gy" for each prescribed volume of a radiotherapy draft."""
    parts = []
    for total, fractions in _dose_pairs(resource):
        if total is None and fractions is None:
            continue
        if isinstance(total, (int, float)) and isinstance(fractions, int) and fractions > 0:
            parts.append(regimen_text(total / 100, fractions))
        else:
            dose = f"{num(total / 100)} Gy" if isinstance(total, (int, float)) else "dose not given"
            count = f"{fractions} fractions" if fractions else "fractions not given"
            parts.append(f"{dose} in {count}")
    flag = [e for e in resource.get("extension") or []
            if isinstance(e, Mapping) and e.get("url") == codes.REIRRADIATION_EXTENSION]
    if flag:
        parts.append("re-irradiation: " + ("yes" if flag[0].get("valueBoolean") else "no"))
    return "; ".join(parts)


def order_name(resource: Mapping[str, Any]) -> str:
    """What is ordered, by its own words: the code's text or first display (the drug for a
    MedicationRequest), else "radiotherapy course" / "medication"."""
    concept = resource.get("medicationCodeableConcept") or resource.get("code") or {}
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str) and concept["text"].strip():
            return concept["text"]
        for coding in concept.get("coding") or []:
            if (isinstance(coding, Mapping) and coding.get("system") != codes.SALVAGE_OPTION
                    and isinstance(coding.get("display"), str) and coding["display"].strip()):
                return coding["display"]
    if resource.get("resourceType") == "MedicationRequest":
        return "medication"
    return "radiotherapy course" if _dose_extensions(resource) else "order"


def describe_order(draft: Mapping[str, Any] | None) -> str:
    """"Ordered: Whole brain radiotherapy — 30 Gy in 10 × 3 Gy; re-irradiation: no" (escaped)."""
    if draft is None:
        return "Ordered: the draft order (not found among the draft orders)"
    described = describe_draft(draft)
    text = f"Ordered: {md(order_name(draft))}"
    return text + (f" — {md(described)}" if described else "")


def corrected_resource(draft: Mapping[str, Any], correction: OrderCorrection) -> dict[str, Any]:
    """The whole draft with the correction applied (CDS Hooks: update carries the entire resource)."""
    resource = copy.deepcopy(dict(draft))
    if _changes_dose(resource, correction):
        doses = _dose_extensions(resource)
        if len(doses) > 1:
            raise InvalidResource("several prescribed volumes: the corrected dose is ambiguous")
        if not doses:
            if correction.total_dose_cgy is None or correction.fractions is None:
                raise InvalidResource("no prescribed dose to correct")
            raise InvalidResource("the draft names no prescribed volume to attach the dose to")
        extension = doses[0]
        volume = _sub(extension, "volume")
        total = correction.total_dose_cgy
        if total is None:
            total = (_sub(extension, "totalDose") or {}).get("valueQuantity", {}).get("value")
        fractions = correction.fractions
        if fractions is None:
            fractions = (_sub(extension, "fractions") or {}).get("valuePositiveInt")
        if volume is None or total is None or fractions is None:
            raise InvalidResource("the prescribed dose is incomplete")
        replacement = dose_prescribed_to_volume(volume["valueReference"]["reference"], total,
                                                fractions)
        # keep any other sub-extension of the draft (e.g. radiobiologicMetric) untouched
        kept = [s for s in extension.get("extension") or []
                if s.get("url") not in ("volume", "totalDose", "fractions")]
        replacement["extension"] += kept
        extension.clear()
        extension.update(replacement)
    if correction.option_code is not None:
        # api-contract: a suggestion's resource carries its salvage-option Coding in `code`,
        # next to the standard code; the draft's own codings other than ours are kept.
        code = resource.setdefault("code", {})
        kept = [c for c in code.get("coding") or []
                if not (isinstance(c, Mapping) and c.get("system") == codes.SALVAGE_OPTION)]
        code["coding"] = kept + [codes.option_coding(correction.option_code)]
    if correction.reirradiation is not None:
        others = [e for e in resource.get("extension") or []
                  if not (isinstance(e, Mapping) and e.get("url") == codes.REIRRADIATION_EXTENSION)]
        resource["extension"] = others + [reirradiation_extension(correction.reirradiation)]
    return validate_resource(resource)


def _changes_dose(resource: Mapping[str, Any], correction: OrderCorrection) -> bool:
    """False when the correction leaves every prescribed dose as drafted (e.g. only the
    re-irradiation flag changes): then several prescribed volumes are no obstacle."""
    if correction.total_dose_cgy is None and correction.fractions is None:
        return False
    pairs = _dose_pairs(resource)
    return not pairs or any(
        (correction.total_dose_cgy is not None and total != correction.total_dose_cgy)
        or (correction.fractions is not None and fractions != correction.fractions)
        for total, fractions in pairs)


def _correction_text(correction: OrderCorrection, escape: Callable[[Any], str]) -> str:
    """"Change to re-WBRT 10 x 2 Gy (2000 cGy in 10 fractions, re-irradiation)"."""
    if correction.action == "delete":
        return escape(correction.description) or "Remove this order"
    changes = []
    if correction.total_dose_cgy is not None and correction.fractions is not None:
        plural = "s" if correction.fractions != 1 else ""
        changes.append(f"{num(correction.total_dose_cgy)} cGy in {correction.fractions} "
                       f"fraction{plural}")
    elif correction.total_dose_cgy is not None:
        changes.append(f"{num(correction.total_dose_cgy)} cGy")
    elif correction.fractions is not None:
        changes.append(f"{correction.fractions} fractions")
    if correction.reirradiation is not None:
        changes.append("re-irradiation" if correction.reirradiation else "no re-irradiation")
    text = escape(correction.description)
    if text and changes:
        return f"{text} ({', '.join(changes)})"
    if changes:
        return "Change to " + ", ".join(changes)
    return text or "Update this order"


def _correction_label(correction: OrderCorrection) -> str:
    return _correction_text(correction, plain)


def correction_suggestion(finding: OrderFinding, correction: OrderCorrection,
                          drafts: Mapping[str, Mapping[str, Any]], *,
                          recommended: bool) -> dict[str, Any] | None:
    label = _correction_label(correction)
    if correction.action == "delete":
        action: dict[str, Any] = {"type": "delete", "description": label,
                                  "resourceId": finding.resource_id}
    elif correction.action == "update":
        draft = drafts.get(finding.resource_id)
        if draft is None:
            log.warning("order finding names a draft order not in draftOrders")
            return None
        try:
            resource = corrected_resource(draft, correction)
        except InvalidResource as exc:
            log.warning("order correction left out: %s", exc)
            return None
        action = {"type": "update", "description": label, "resource": resource,
                  "resourceId": finding.resource_id}
    else:
        log.error("unknown order correction action %r", correction.action)
        return None
    return {"label": label, "uuid": new_uuid(), "isRecommended": recommended, "actions": [action]}


def order_summary(message: str) -> str:
    """The finding's first sentence, or its first clause when the sentence is too long."""
    text = " ".join(plain(message).split())
    sentence = text.split(". ")[0].rstrip(".")
    if len(sentence) > SUMMARY_MAX:
        sentence = sentence.split("; ")[0]
    return one_line(sentence)


def topic_code(finding: OrderFinding) -> str:
    if finding.code in codes.SALVAGE_WARNINGS or finding.code in codes.SALVAGE_OPTIONS:
        return finding.code
    # A check the contract has no code for: file it under the kind of order it is about.
    return OptionCode.SYSTEMIC if finding.resource_id.startswith("Medication") else OptionCode.TUMOR_BOARD


# Findings that ask for the composite dose or compare with a prior course: the card shows it.
PRIOR_DOSE_FINDINGS = (WarningCode.RADIONECROSIS_RISK, OptionCode.RE_WBRT)


def order_card(finding: OrderFinding, drafts: Mapping[str, Mapping[str, Any]], *,
               record: PatientRecord | None = None, on: date | None = None) -> dict[str, Any]:
    suggestions: list[dict[str, Any]] = []
    for index, correction in enumerate(finding.corrections):
        suggestion = correction_suggestion(finding, correction, drafts,
                                           recommended=not suggestions and index == 0)
        if suggestion is not None:
            suggestions.append(suggestion)
    correction_lines = [_correction_text(c, md) for c in finding.corrections]
    if finding.corrections and len(suggestions) < len(finding.corrections):
        correction_lines.append("Some corrections could not be prepared as an order update: "
                                "please change the order by hand.")
    detail = render(
        "order_detail",
        message=md(finding.message),
        order=bullets([describe_order(drafts.get(finding.resource_id)),
                       prior_radiotherapy(record, on)
                       if finding.code in PRIOR_DOSE_FINDINGS else ""]),
        corrections=section("Suggested correction", bullets(correction_lines)),
    )
    indicator = finding.severity if finding.severity in ("info", "warning", "critical") else "warning"
    return card(
        summary=order_summary(finding.message),
        indicator=indicator,
        detail=detail,
        source=source(topic_code(finding)),
        suggestions=suggestions,
        selection_behavior="at-most-one",
        override_reasons=order_override_reasons(),
        links=[review_link()],
    )


def order_cards(findings: Iterable[OrderFinding], draft_orders: Mapping[str, Any] | None, *,
                record: PatientRecord | None = None, on: date | None = None
                ) -> list[dict[str, Any]]:
    drafts = draft_resources(draft_orders)
    return [order_card(finding, drafts, record=record, on=on) for finding in findings]
