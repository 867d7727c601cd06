"""FHIR R4 resources the EHR can apply: one suggestion per actionable salvage option.

- Radiotherapy options (`srs`, `fsrt`, `wbrt`, `re-wbrt`) become a CodeX
  `codexrt-radiotherapy-course-prescription` ServiceRequest: code 1217123003 + the salvage-option
  Coding, treatment intent palliative, one `codexrt-radiotherapy-dose-prescribed-to-volume` per
  target (a contained mCODE RadiotherapyVolume: whole brain, or one focal volume per lesion named by
  the lesion's identifier) with `totalDose` in cGy and `fractions`, and the re-irradiation flag
  when the option re-irradiates.
  Dose choice: per lesion, the first regimen the model lists (the model lists the review's
  Figure 1 regimen, 5 x 6 Gy, first for FSRT and the lower end of an SRS dose range first); when
  the option re-irradiates and the lesion's regimens share a fraction count (an SRS range), the
  lowest dose — radionecrosis risk rises with dose (review §4.2, [42]). A regimen not tied to a
  lesion (FSRT, WBRT) applies to every lesion the option targets; SRS doses are only prescribed
  to lesions whose diameter fixed the dose (the model's size-band table, given when a diameter is
  unknown, is shown on the card but never turned into an order). The other acceptable regimens
  are named in the resource's `note` and on the card. `note.text` is FHIR `markdown`: any lesion
  id in it is escaped like on the card (identifiers and descriptions keep the data verbatim).
- Every standard code an order carries must be confirmed in the terminology table
  (cds_service/mapping/terminology.py, `OPTION_ORDER_CODES`); otherwise the option gets no
  suggestion and its line on the card says "not offered as an order: code … not confirmed".
- `surgery`, `tumor-board` and `best-supportive-care` become ServiceRequests (operation on brain,
  patient referral, palliative-care referral) carrying the salvage-option Coding.
- `systemic-therapy` becomes one MedicationRequest per drug of the first orderable regimen the
  model lists for the subtype (the model lists them by the review's evidence, `EVIDENCE_RANKING`;
  orderable = every drug has a confirmed RxNorm ingredient code in `codes.RXNORM_DRUGS`, from
  cds_service/mapping/rxnorm.py, and it is not investigational), each with the RxNorm and the
  `systemic-regimen` Codings, tied together by `groupIdentifier`. Better-ranked regimens that
  could not be ordered are named with the reason on the label and in the note ("listed, not
  ordered"). No dose: dosing follows the prescriber's protocol.
An option with nothing to prescribe (e.g. SRS without a dose regimen) gets no suggestion.

Every resource carries an `identifier` whose value is the suggestion's uuid (so an order created
from a card can be traced to the card's feedback) and is validated with `fhir.resources` (R4B) —
plus a no-empty-member check — before it is returned. The builders wrap every string that changes
from call to call (references, uuids, lesion identifiers, notes) in `CallValue`, so that the
validation can check the constant part once per process (`cards.fhir_validation`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from cards import codes
from cards.fhir_validation import (
    CallValue,
    InvalidResource,
    strip_and_validate_built,
    validate_with_model,
)
from cards.render import (
    lesion_md,
    lesion_name,
    new_uuid,
    num,
    plain,
    regimen_text,
    strip_empty,
)
from cds_service.mapping import terminology
from cds_service.model.assessment import Option, Regimen, SystemicRegimen
from cds_service.model.vocabulary import OptionCode

log = logging.getLogger("salvage_cds.cards")

RT_OPTIONS = (OptionCode.SRS, OptionCode.FSRT, OptionCode.WBRT, OptionCode.RE_WBRT)
WHOLE_BRAIN_OPTIONS = (OptionCode.WBRT, OptionCode.RE_WBRT)
MAX_TARGETS_IN_LABEL = 3


@dataclass(frozen=True)
class OrderContext:
    """What every suggested order refers to."""

    patient_id: str
    encounter_id: str | None = None
    reason_reference: str | None = None  # e.g. "Condition/brain-mets"

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": CallValue(f"Patient/{self.patient_id}")}

    def common(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject": self.subject}
        if self.encounter_id:
            out["encounter"] = {"reference": CallValue(f"Encounter/{self.encounter_id}")}
        return out

    def reason(self) -> list[dict[str, str]]:
        return [{"reference": CallValue(self.reason_reference)}] if self.reason_reference else []


# --- validation --------------------------------------------------------------------------------
# Resource types the builders return (suggestions and corrected orders).
SUGGESTION_RESOURCE_TYPES = ("ServiceRequest", "MedicationRequest", "BodyStructure")


# A resource touching every element type the builders use: fhir.resources imports (and pydantic
# builds) each nested element class on first use, which would slow the first call of a worker.
_WARM_UP_SAMPLE = {
    "resourceType": "ServiceRequest", "id": "warm-up", "status": "draft",
    "intent": "original-order",
    "contained": [{"resourceType": "BodyStructure", "id": "v", "patient": {"reference": "#"},
                   "location": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]},
                   "locationQualifier": [{"text": "x"}], "identifier": [{"value": "x"}],
                   "morphology": {"text": "x"}, "description": "x"}],
    "extension": [
        {"url": "http://example.org/a", "extension": [
            {"url": "volume", "valueReference": {"reference": "#v"}},
            {"url": "totalDose", "valueQuantity": {"value": 1, "unit": "cGy",
                                                   "system": "http://unitsofmeasure.org",
                                                   "code": "cGy"}},
            {"url": "fractions", "valuePositiveInt": 1}]},
        {"url": "http://example.org/b", "valueBoolean": True},
        {"url": "http://example.org/c", "valueCodeableConcept": {"text": "x"}}],
    "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:x"}],
    "category": [{"text": "x"}], "code": {"coding": [{"system": "http://x", "code": "x"}]},
    "subject": {"reference": "Patient/x"}, "encounter": {"reference": "Encounter/x"},
    "reasonReference": [{"reference": "Condition/x"}], "note": [{"text": "x"}],
    "performerType": {"text": "x"}, "authoredOn": "2024-01-01", "priority": "routine",
}


def preload_models() -> None:
    """Build the fhir.resources validators at start-up, so that the first hook call of each
    worker does not pay for importing them."""
    for resource_type in SUGGESTION_RESOURCE_TYPES:
        get_fhir_model_class(resource_type)
    get_fhir_model_class("ServiceRequest").model_validate(_WARM_UP_SAMPLE)
    get_fhir_model_class("MedicationRequest").model_validate({
        "resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
        "medicationCodeableConcept": {"coding": [{"system": "http://x", "code": "x"}]},
        "subject": {"reference": "Patient/x"}, "identifier": [{"value": "x"}],
        "reasonReference": [{"reference": "Condition/x"}], "note": [{"text": "x"}],
        "category": [{"text": "x"}], "encounter": {"reference": "Encounter/x"}})


def validate_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """Return `resource` unchanged if it is valid FHIR R4 (R4B models) with no empty member."""
    if strip_empty(resource) != resource:
        raise InvalidResource(f"{resource.get('resourceType')}: null or empty member")
    return validate_with_model(resource)


def stripped_and_validated(resource: dict[str, Any]) -> dict[str, Any]:
    """`strip_empty(resource)`, validated like `validate_resource` (one traversal less:
    `strip_empty`'s output has no empty member by construction; the constant part of a built
    resource is validated once per process, `cards.fhir_validation`; stripping and the
    template's memo key are one walk)."""
    return strip_and_validate_built(resource)


def suggestion_identifier(suggestion_uuid: str) -> dict[str, str]:
    return {"system": codes.SUGGESTION_IDENTIFIER_SYSTEM,
            "value": CallValue(f"urn:uuid:{suggestion_uuid}")}


# --- radiotherapy ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RtTarget:
    whole_brain: bool
    total_dose_gy: float
    fractions: int
    lesion: str | None = None
    alternatives: tuple[Regimen, ...] = ()

    @property
    def total_dose_cgy(self) -> float:
        return round(self.total_dose_gy * 100, 2)

    def text(self) -> str:
        return regimen_text(self.total_dose_gy, self.fractions)


def rt_targets(option: Option) -> list[RtTarget]:
    """The volumes and doses of an RT option's prescription (see the module docstring)."""
    if option.code not in RT_OPTIONS or not option.regimens:
        return []

    def pick(regimens: Sequence[Regimen]) -> tuple[Regimen, tuple[Regimen, ...]]:
        chosen = regimens[0]
        if option.reirradiation and len({r.fractions for r in regimens}) == 1:
            chosen = min(regimens, key=lambda r: r.total_dose_gy)
        return chosen, tuple(r for r in regimens if r is not chosen)

    if option.code in WHOLE_BRAIN_OPTIONS:
        chosen, others = pick(option.regimens)
        return [RtTarget(True, chosen.total_dose_gy, chosen.fractions, alternatives=others)]
    by_lesion: dict[str | None, list[Regimen]] = {}
    for regimen in option.regimens:
        by_lesion.setdefault(regimen.lesion, []).append(regimen)
    targets = []
    for lesion, regimens in by_lesion.items():
        if lesion is None:
            continue
        chosen, others = pick(regimens)
        targets.append(RtTarget(False, chosen.total_dose_gy, chosen.fractions, lesion, others))
    if not targets and option.code != OptionCode.SRS and None in by_lesion:
        # a regimen that does not depend on the lesion (FSRT): one volume per targeted lesion
        chosen, others = pick(by_lesion[None])
        lesions: Sequence[str | None] = option.lesions or (None,)
        targets = [RtTarget(False, chosen.total_dose_gy, chosen.fractions, lesion, others)
                   for lesion in lesions]
    return targets


def _volume(volume_id: str, target: RtTarget, ctx: OrderContext) -> dict[str, Any]:
    qualifier = codes.ENTIRE if target.whole_brain else codes.PARTIAL
    volume: dict[str, Any] = {
        "resourceType": "BodyStructure",
        "id": volume_id,
        "meta": {"profile": [codes.RADIOTHERAPY_VOLUME_PROFILE]},
        "morphology": {"coding": [codes.snomed(codes.PTV)]},
        "location": {"coding": [codes.snomed(codes.BRAIN)]},
        "locationQualifier": [{"coding": [codes.snomed(qualifier)]}],
        "patient": ctx.subject,
    }
    if target.whole_brain:
        volume["description"] = "Whole brain"
    elif target.lesion:
        volume["identifier"] = [{"system": codes.LESION_IDENTIFIER_SYSTEM,
                                 "value": CallValue(target.lesion)}]
        volume["description"] = CallValue(
            f"Planning target volume of brain lesion {lesion_name(target.lesion)}")
    else:
        volume["description"] = "Focal planning target volume (to be delineated)"
    return volume


def dose_prescribed_to_volume(volume_reference: str, total_dose_cgy: float,
                              fractions: int) -> dict[str, Any]:
    return {
        "url": codes.DOSE_PRESCRIBED_TO_VOLUME,
        "extension": [
            {"url": "volume", "valueReference": {"reference": volume_reference}},
            {"url": "totalDose", "valueQuantity": codes.quantity_cgy(total_dose_cgy)},
            {"url": "fractions", "valuePositiveInt": int(fractions)},
        ],
    }


def reirradiation_extension(value: bool) -> dict[str, Any]:
    return {"url": codes.REIRRADIATION_EXTENSION, "valueBoolean": bool(value)}


def radiotherapy_prescription(option_code: str, targets: Sequence[RtTarget], ctx: OrderContext,
                              *, reirradiation: bool, suggestion_uuid: str,
                              note: str | None = None) -> dict[str, Any]:
    """A CodeX radiotherapy course prescription (ServiceRequest, status draft)."""
    if not targets:
        raise InvalidResource("a radiotherapy prescription needs at least one target volume")
    contained = []
    extensions: list[dict[str, Any]] = [{
        "url": codes.PROCEDURE_INTENT_EXTENSION,
        "valueCodeableConcept": {"coding": [codes.snomed(codes.PALLIATIVE_INTENT)]},
    }]
    for index, target in enumerate(targets, start=1):
        volume_id = f"volume-{index}"
        contained.append(_volume(volume_id, target, ctx))
        extensions.append(dose_prescribed_to_volume(f"#{volume_id}", target.total_dose_cgy,
                                                    target.fractions))
    if reirradiation:
        extensions.append(reirradiation_extension(True))
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "meta": {"profile": [codes.COURSE_PRESCRIPTION_PROFILE]},
        "contained": contained,
        "extension": extensions,
        "identifier": [suggestion_identifier(suggestion_uuid)],
        "status": "draft",
        "intent": "original-order",
        "category": [{"coding": [codes.snomed(codes.RT_CATEGORY)]}],
        "code": {
            "coding": [codes.snomed(codes.RT_COURSE), codes.option_coding(option_code)],
            "text": codes.SALVAGE_OPTIONS[option_code],
        },
        **ctx.common(),
        "reasonReference": ctx.reason(),
        "note": [{"text": CallValue(note)}] if note else [],
    }
    return stripped_and_validated(resource)


# --- other service requests ---------------------------------------------------------------------
# keyed by str: Option.code is a str (the OptionCode members are str)
SERVICE_REQUEST_CODES: dict[str, tuple[tuple[str, str, str], tuple[str, str, str] | None]] = {
    OptionCode.SURGERY: (codes.OPERATION_ON_BRAIN, codes.SURGICAL_PROCEDURE),
    OptionCode.TUMOR_BOARD: (codes.PATIENT_REFERRAL, None),
    OptionCode.BEST_SUPPORTIVE_CARE: (codes.PALLIATIVE_CARE_REFERRAL, None),
}


def service_request(option_code: str, ctx: OrderContext, *, suggestion_uuid: str,
                    note: str | None = None) -> dict[str, Any]:
    standard, category = SERVICE_REQUEST_CODES[option_code]
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [suggestion_identifier(suggestion_uuid)],
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [codes.snomed(category)]}] if category else [],
        "code": {
            "coding": [codes.snomed(standard), codes.option_coding(option_code)],
            "text": codes.SALVAGE_OPTIONS[option_code],
        },
        **ctx.common(),
        "bodySite": [{"coding": [codes.snomed(codes.BRAIN)]}] if option_code == OptionCode.SURGERY else [],
        "reasonReference": ctx.reason(),
        "note": [{"text": CallValue(note)}] if note else [],
    }
    return stripped_and_validated(resource)


# --- codes every order carries (issue 20 item 2) -------------------------------------------------
# The standard codes each option's order carries (the project's own salvage-option Coding aside);
# tests/cards/test_terminology_codes.py checks that every standard Coding of a built suggestion is
# listed here. An option whose codes are not all confirmed in the terminology table
# (cds_service/mapping/terminology.py) is not offered as an order, and the card says why.
_RT_ORDER_CODES = (codes.RT_COURSE, codes.RT_CATEGORY, codes.PALLIATIVE_INTENT, codes.BRAIN,
                   codes.PTV, codes.ENTIRE, codes.PARTIAL)
OPTION_ORDER_CODES: dict[str, tuple[tuple[str, str, str], ...]] = {
    **{code: _RT_ORDER_CODES for code in RT_OPTIONS},
    OptionCode.SURGERY: (codes.OPERATION_ON_BRAIN, codes.SURGICAL_PROCEDURE, codes.BRAIN),
    OptionCode.TUMOR_BOARD: (codes.PATIENT_REFERRAL,),
    OptionCode.BEST_SUPPORTIVE_CARE: (codes.PALLIATIVE_CARE_REFERRAL,),
}


def unconfirmed(triples: Iterable[tuple[str, str, str]]) -> list[str]:
    """"code display" of the codes the terminology table does not confirm."""
    return [f"{code} {display}" for system, code, display in triples
            if not terminology.confirmed(system, code)]


@functools.lru_cache(maxsize=64)  # a handful of option codes (OptionCode)
def option_not_orderable(option_code: str) -> str | None:
    """Why the option's order is not offered (a code it would carry is not confirmed against a
    published source); None when it can be offered. Kept per option code: the order codes and
    the terminology table are module constants (a test that changes the table clears it)."""
    missing = unconfirmed(OPTION_ORDER_CODES.get(option_code, ()))
    if not missing:
        return None
    return f"not offered as an order: code {', '.join(missing)} not confirmed"


# --- systemic therapy ---------------------------------------------------------------------------
def why_not_orderable(regimen: SystemicRegimen) -> str | None:
    """Why `regimen` cannot be put on an order; None when it can."""
    drugs = codes.REGIMEN_DRUGS.get(regimen.code)
    if regimen.investigational:
        return "investigational"
    if not drugs:
        return "a class of drugs, no single drug to order"
    not_confirmed = [d for d in drugs if d not in codes.RXNORM_DRUGS
                     or not terminology.confirmed(codes.RXNORM, codes.RXNORM_DRUGS[d][0])]
    if not_confirmed:
        return f"RxNorm code of {', '.join(not_confirmed)} not confirmed"
    return None


def orderable_regimen(regimens: Iterable[SystemicRegimen]) -> SystemicRegimen | None:
    """The first regimen the model lists (its evidence ranking) that can be ordered: every drug
    has a confirmed RxNorm ingredient code, and it is not investigational."""
    for regimen in regimens:
        if why_not_orderable(regimen) is None:
            return regimen
    return None


def _skipped(regimens: Sequence[SystemicRegimen], chosen: SystemicRegimen
             ) -> list[tuple[str, str]]:
    """(title, reason) of each better-ranked regimen left off the order."""
    skipped = []
    for regimen in regimens:
        if regimen is chosen:
            break
        reason = why_not_orderable(regimen)
        if reason is not None:
            skipped.append((plain(regimen.title), reason))
    return skipped


def listed_not_ordered(regimens: Sequence[SystemicRegimen], chosen: SystemicRegimen) -> str:
    """For the order's note: the better-ranked regimens left off it, each with its reason."""
    skipped = [f"{title} ({reason})" for title, reason in _skipped(regimens, chosen)]
    return ("Ranked higher, listed, not ordered: " + "; ".join(skipped) + ".") if skipped else ""


def not_ordered_label(regimens: Sequence[SystemicRegimen], chosen: SystemicRegimen) -> str:
    """For the button: the better-ranked drugs left off only for an unconfirmed code, by name
    (a class of drugs or an investigational regimen is no order to miss; every reason is in the
    order's note and the plan)."""
    names = [title for title, reason in _skipped(regimens, chosen)
             if reason.startswith("RxNorm code")]
    return f" ({', '.join(names)}: not orderable here)" if names else ""


def medication_requests(regimen_code: str, ctx: OrderContext, *, suggestion_uuid: str,
                        note: str | None = None) -> list[dict[str, Any]]:
    drugs = codes.REGIMEN_DRUGS[regimen_code]
    regimen_name = codes.SYSTEMIC_REGIMENS.get(regimen_code, regimen_code)
    out = []
    for drug in drugs:
        rxnorm, display = codes.RXNORM_DRUGS[drug]
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "identifier": [suggestion_identifier(suggestion_uuid)],
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [codes.coding(codes.RXNORM, rxnorm, display),
                           codes.regimen_coding(regimen_code)],
                "text": f"{display} ({regimen_name})" if len(drugs) > 1 else display,
            },
            **ctx.common(),
            "reasonReference": ctx.reason(),
            "groupIdentifier": suggestion_identifier(suggestion_uuid),
            "note": [{"text": CallValue(note)}] if note else [],
        }
        out.append(stripped_and_validated(resource))
    return out


# --- suggestions -------------------------------------------------------------------------------
def _create(description: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"type": "create", "description": description, "resource": resource}


def _target_label(targets: Sequence[RtTarget]) -> str:
    if len(targets) > MAX_TARGETS_IN_LABEL:
        doses = {(t.total_dose_gy, t.fractions) for t in targets}
        if len(doses) == 1:
            return f"{len(targets)} lesions, {targets[0].text()} each"
        return f"{len(targets)} lesions (dose by lesion diameter)"
    parts = []
    for target in targets:
        if target.whole_brain:
            parts.append(f"whole brain, {target.text()}")
        elif target.lesion:
            parts.append(f"{lesion_name(target.lesion)}: {target.text()}")
        else:
            parts.append(target.text())
    return "; ".join(parts)


def _alternatives_note(targets: Sequence[RtTarget]) -> str | None:
    by_text: dict[str, list[str]] = {}
    for target in targets:
        if not target.alternatives:
            continue
        text = ", ".join(regimen_text(r.total_dose_gy, r.fractions) for r in target.alternatives)
        by_text.setdefault(text, []).append(lesion_md(target.lesion) if target.lesion
                                           else "this volume")
    if not by_text:
        return None
    if len(by_text) == 1:
        return f"Other regimens the review accepts: {next(iter(by_text))}."
    notes = [f"lesion {', '.join(where)}: {text}" for text, where in by_text.items()]
    return "Other regimens the review accepts — " + "; ".join(notes) + "."


def _unprescribed(option: Option, targets: Sequence[RtTarget]) -> tuple[str, ...]:
    covered = {t.lesion for t in targets}
    return tuple(lesion for lesion in option.lesions if lesion not in covered)


def option_suggestion(option: Option, ctx: OrderContext, *, recommended: bool,
                      regimens: Sequence[SystemicRegimen] = ()) -> dict[str, Any] | None:
    """The suggestion of one option, or None when the option has nothing to order.

    Raises InvalidResource when a built resource fails validation (a defect: the caller logs it
    and leaves the suggestion out).
    """
    if option_not_orderable(option.code) is not None:
        return None  # the card's option line says why (cards/main_card.py option_line)
    suggestion_uuid = new_uuid()
    short = codes.OPTION_SHORT.get(option.code, option.code)
    caution = "Selected patients only: " if option.selected_patients_only else ""
    rationale = f"Salvage option {option.rank} ({codes.REVIEW_SHORT})."

    if option.code in RT_OPTIONS:
        targets = rt_targets(option)
        if not targets:
            return None
        reirradiation = bool(option.reirradiation)
        left_out = _unprescribed(option, targets)
        missing = (f"Not prescribed (no diameter on record to set the dose): "
                   f"{', '.join(lesion_md(x) for x in left_out)}." if left_out else None)
        note = " ".join(filter(None, [rationale, _alternatives_note(targets), missing]))
        resource = radiotherapy_prescription(option.code, targets, ctx,
                                             reirradiation=reirradiation,
                                             suggestion_uuid=suggestion_uuid, note=note)
        flag = " (re-irradiation)" if reirradiation else ""
        label = f"{caution}Prescribe {short}{flag}: {_target_label(targets)}"
        if left_out:
            label += f" (not included, no diameter: {', '.join(map(lesion_name, left_out))})"
        total = ", ".join(f"{num(t.total_dose_cgy)} cGy / {t.fractions} fx" for t in targets)
        actions = [_create(f"Draft CodeX radiotherapy course prescription, {short} "
                           f"({total})", resource)]
    elif option.code in SERVICE_REQUEST_CODES:
        wordings: dict[str, str] = {
            OptionCode.SURGERY: "Request neurosurgical resection",
            OptionCode.TUMOR_BOARD: "Refer to the multidisciplinary tumour board",
            OptionCode.BEST_SUPPORTIVE_CARE: "Refer to palliative / best supportive care",
        }
        wording = wordings[option.code]
        resource = service_request(option.code, ctx, suggestion_uuid=suggestion_uuid,
                                   note=rationale)
        label = f"{caution}{wording}"
        actions = [_create(f"Draft ServiceRequest: {wording.lower()}", resource)]
    elif option.code == OptionCode.SYSTEMIC:
        regimen = orderable_regimen(regimens)
        if regimen is None:
            return None
        skipped = listed_not_ordered(regimens, regimen)
        resources = medication_requests(
            regimen.code, ctx, suggestion_uuid=suggestion_uuid,
            note=" ".join(filter(None, [rationale, "Dose and schedule per the prescriber's "
                                        "protocol.", skipped])),
        )
        name = codes.SYSTEMIC_REGIMENS.get(regimen.code, regimen.code)
        label = f"{caution}Order {name}{not_ordered_label(regimens, regimen)}"
        actions = [
            _create(f"Draft MedicationRequest: {r['medicationCodeableConcept']['text']}", r)
            for r in resources
        ]
    else:
        return None
    return {
        "label": label,
        "uuid": suggestion_uuid,
        "isRecommended": recommended,
        "actions": actions,
    }
