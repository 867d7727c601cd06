"""The code systems and canonical URLs of the cards: one place, public names (api-contract.md).

The project's own code systems live under `CODE_SYSTEM_BASE`; their codes are the public names of
`docs/api.md` ("Codes on cards") and must never be renamed. Standard codes (SNOMED
CT, LOINC, UCUM, RxNorm) and the mCODE / CodeX canonical URLs are the ones the input profile uses.
"""

from __future__ import annotations

from typing import Any

from cds_service.mapping import rxnorm
from cds_service.model.evidence import REVIEW_DOI, REVIEW_SHORT, REVIEW_URL  # noqa: F401 (cards.codes.REVIEW_*)
from cds_service.model.systemic import REGIMENS
from cds_service.model.vocabulary import (
    OPTION_SHORT_NAMES,
    OPTION_TITLES,
    WARNING_TITLES,
    WarningCode,
)

# --- The review every card cites (its citation lives in model/evidence.py) ------------------
SOURCE_LABEL = f"BCBM salvage ({REVIEW_SHORT})"

# --- Project code systems ----------------------------------------------------------------------
CODE_SYSTEM_BASE = "https://salvage-cds.org/fhir/CodeSystem/"
SALVAGE_OPTION = CODE_SYSTEM_BASE + "salvage-option"
SYSTEMIC_REGIMEN = CODE_SYSTEM_BASE + "systemic-regimen"
SALVAGE_WARNING = CODE_SYSTEM_BASE + "salvage-warning"
OVERRIDE_REASON = CODE_SYSTEM_BASE + "override-reason"
NAMING_SYSTEM_BASE = "https://salvage-cds.org/fhir/NamingSystem/"
LESION_IDENTIFIER_SYSTEM = NAMING_SYSTEM_BASE + "brain-lesion"
SUGGESTION_IDENTIFIER_SYSTEM = NAMING_SYSTEM_BASE + "cds-suggestion"

# The option and warning displays are the model's vocabulary (one home for model, cards, SMART).
SALVAGE_OPTIONS: dict[str, str] = OPTION_TITLES
OPTION_SHORT: dict[str, str] = OPTION_SHORT_NAMES  # "consider surgery or FSRT"

# The regimen's display is the model's title (one label; it disagreed: "Trastuzumab deruxtecan" on
# the cards, "Trastuzumab deruxtecan (T-DXd)" in the assessment), investigational ones said so.
SYSTEMIC_REGIMENS: dict[str, str] = {
    r.code: r.title + (" (investigational)" if r.investigational else "") for r in REGIMENS}

SALVAGE_WARNINGS: dict[str, str] = WARNING_TITLES

# Warnings that get a card of their own (they change a decision); the others are shown on the
# main card only.
WARNING_CARD_CODES = (
    WarningCode.RADIONECROSIS_RISK,
    WarningCode.PSEUDOPROGRESSION_POSSIBLE,
    WarningCode.POOR_PERFORMANCE_STATUS,
    WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED,
)

OVERRIDE_REASONS: dict[str, str] = {
    "patient-declined": "Patient declined",
    "tumor-board-decided": "Decided otherwise by the tumour board",
    "data-outdated": "Data shown are outdated or incomplete",
    "already-planned": "Already planned or ordered",
    "not-applicable": "Does not apply to this patient",
}
ORDER_OVERRIDE_REASONS: dict[str, str] = {
    "tumor-board-decided": "Decided otherwise by the tumour board",
    "institutional-protocol": "Follows an institutional protocol",
    "dosimetry-reviewed": "Dosimetry reviewed and accepted",
    "data-outdated": "Data shown are outdated or incomplete",
    "patient-declined": "Patient declined the alternative",
}

# --- Standard terminologies ----------------------------------------------------------------------
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
CODEXRT = "http://hl7.org/fhir/us/codex-radiation-therapy/StructureDefinition/"
COURSE_PRESCRIPTION_PROFILE = CODEXRT + "codexrt-radiotherapy-course-prescription"
DOSE_PRESCRIBED_TO_VOLUME = CODEXRT + "codexrt-radiotherapy-dose-prescribed-to-volume"
REIRRADIATION_EXTENSION = CODEXRT + "codexrt-radiotherapy-course-involves-reirradiation"
PROCEDURE_INTENT_EXTENSION = MCODE + "mcode-procedure-intent"
RADIOTHERAPY_VOLUME_PROFILE = MCODE + "mcode-radiotherapy-volume"

RT_COURSE = (SNOMED, "1217123003", "Radiotherapy course of treatment")
RT_CATEGORY = (SNOMED, "1287742003", "Radiotherapy")
PALLIATIVE_INTENT = (SNOMED, "363676003", "Palliative - procedure intent")
BRAIN = (SNOMED, "12738006", "Brain structure")
PTV = (SNOMED, "228793007", "Planning target volume")
ENTIRE = (SNOMED, "255503000", "Entire")
PARTIAL = (SNOMED, "255609007", "Partial")
SURGICAL_PROCEDURE = (SNOMED, "387713003", "Surgical procedure")
OPERATION_ON_BRAIN = (SNOMED, "70586009", "Operation on brain")
PATIENT_REFERRAL = (SNOMED, "3457005", "Patient referral")
PALLIATIVE_CARE_REFERRAL = (SNOMED, "306237005", "Referral to palliative care service")

# RxNorm ingredients of the §5b regimens: the confirmed codes of the one table,
# cds_service/mapping/rxnorm.py. A regimen whose drugs are not all confirmed gets no order
# suggestion (the card names it and says why; the clinician orders it).
RXNORM_DRUGS: dict[str, tuple[str, str]] = {
    c.drug: (c.code, c.display) for c in rxnorm.INGREDIENTS if c.confirmed}

# Drugs of each regimen, in the order they are named (the model's REGIMENS).
REGIMEN_DRUGS: dict[str, tuple[str, ...]] = {r.code: r.drugs for r in REGIMENS if r.drugs}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def snomed(triple: tuple[str, str, str]) -> dict[str, Any]:
    return coding(*triple)


def option_coding(code: str) -> dict[str, Any]:
    return coding(SALVAGE_OPTION, code, SALVAGE_OPTIONS.get(code))


def regimen_coding(code: str) -> dict[str, Any]:
    return coding(SYSTEMIC_REGIMEN, code, SYSTEMIC_REGIMENS.get(code))


def warning_coding(code: str) -> dict[str, Any]:
    return coding(SALVAGE_WARNING, code, SALVAGE_WARNINGS.get(code))


def topic_coding(code: str) -> dict[str, Any]:
    """A card topic: a salvage-warning code, else a salvage-option code."""
    if code in SALVAGE_WARNINGS:
        return warning_coding(code)
    if code in SALVAGE_OPTIONS:
        return option_coding(code)
    raise ValueError(f"{code!r} is neither a salvage-warning nor a salvage-option code")


def override_reasons(table: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [coding(OVERRIDE_REASON, code, display)
            for code, display in (table or OVERRIDE_REASONS).items()]


def quantity_cgy(value: float) -> dict[str, Any]:
    number: float | int = int(value) if float(value).is_integer() else round(value, 2)
    return {"value": number, "unit": "cGy", "system": UCUM, "code": "cGy"}
