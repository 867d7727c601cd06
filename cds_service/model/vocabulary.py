"""The model's vocabulary: every code it emits and the one human label of each, in one place.

The codes are public names (docs/api.md, the api-contract): the assessment JSON and the cards carry
them, so a member's value must never change. Each set is a `StrEnum`, so a member is the plain
string everywhere (JSON, f-strings, dictionary keys). The labels beside them are the words the
model, the cards and the SMART app show for the codes; no other module keeps its own copy.
"""

from __future__ import annotations

from enum import StrEnum


# --- Situations (clinical-model §3), first match wins in this order -----------------------------
class SituationCode(StrEnum):
    LEPTOMENINGEAL = "leptomeningeal-disease"
    DISSEMINATED_AFTER_WBRT = "disseminated-progression-after-wbrt"
    DISSEMINATED_AFTER_LOCAL = "disseminated-progression-after-local"
    LOCAL_AFTER_SRS_IN_FIELD = "local-progression-after-srs-in-field"
    LOCAL_AFTER_SRS_OUT_OF_FIELD = "local-progression-after-srs-out-of-field"
    LOCAL_AFTER_WBRT = "local-progression-after-wbrt"
    LOCAL_AFTER_SURGERY = "local-progression-after-surgery"
    NO_PROGRESSION = "no-progression"
    NOT_SALVAGE = "not-salvage"
    NOT_APPLICABLE = "not-applicable"


PROGRESSIVE_SITUATIONS = (
    SituationCode.LEPTOMENINGEAL,
    SituationCode.DISSEMINATED_AFTER_WBRT,
    SituationCode.DISSEMINATED_AFTER_LOCAL,
    SituationCode.LOCAL_AFTER_SRS_IN_FIELD,
    SituationCode.LOCAL_AFTER_SRS_OUT_OF_FIELD,
    SituationCode.LOCAL_AFTER_WBRT,
    SituationCode.LOCAL_AFTER_SURGERY,
)

SITUATION_LABELS: dict[str, str] = {
    SituationCode.LEPTOMENINGEAL: "Leptomeningeal disease after local therapy of BCBM",
    SituationCode.DISSEMINATED_AFTER_WBRT: "Disseminated intracranial progression after WBRT",
    SituationCode.DISSEMINATED_AFTER_LOCAL:
        "Disseminated intracranial progression after surgery/SRS/FSRT",
    SituationCode.LOCAL_AFTER_SRS_IN_FIELD:
        "Local progression within a previously SRS/FSRT-irradiated volume",
    SituationCode.LOCAL_AFTER_SRS_OUT_OF_FIELD:
        "Limited progression outside the prior SRS/FSRT volumes",
    SituationCode.LOCAL_AFTER_WBRT: "Limited progression after WBRT",
    SituationCode.LOCAL_AFTER_SURGERY: "Limited progression after surgery without radiotherapy",
    SituationCode.NO_PROGRESSION: "BCBM treated locally, no progression on record",
    SituationCode.NOT_SALVAGE: "BCBM never treated locally: not a salvage situation",
    SituationCode.NOT_APPLICABLE: "Not breast cancer with brain metastases",
}


# --- Salvage options (code system salvage-option) -----------------------------------------------
class OptionCode(StrEnum):
    SURGERY = "surgery"
    SRS = "srs"
    FSRT = "fsrt"
    WBRT = "wbrt"
    RE_WBRT = "re-wbrt"
    SYSTEMIC = "systemic-therapy"
    BEST_SUPPORTIVE_CARE = "best-supportive-care"
    TUMOR_BOARD = "tumor-board"


# The one title of each option: the assessment's Option.title and the code system's display on
# the cards (they disagreed: "Surgical resection" / "Systemic therapy" on the cards).
OPTION_TITLES: dict[str, str] = {
    OptionCode.SURGERY: "Salvage surgery (resection)",
    OptionCode.SRS: "Stereotactic radiosurgery (SRS)",
    OptionCode.FSRT: "Fractionated stereotactic radiotherapy (FSRT)",
    OptionCode.WBRT: "Whole-brain radiotherapy (WBRT)",
    OptionCode.RE_WBRT: "Repeat whole-brain radiotherapy (re-WBRT)",
    OptionCode.SYSTEMIC: "Systemic therapy with intracranial activity",
    OptionCode.BEST_SUPPORTIVE_CARE: "Best supportive care",
    OptionCode.TUMOR_BOARD: "Multidisciplinary tumour board",
}

# Short names used in one-line summaries ("consider surgery or FSRT").
OPTION_SHORT_NAMES: dict[str, str] = {
    OptionCode.SURGERY: "surgery",
    OptionCode.SRS: "SRS",
    OptionCode.FSRT: "FSRT",
    OptionCode.WBRT: "WBRT",
    OptionCode.RE_WBRT: "re-WBRT",
    OptionCode.SYSTEMIC: "systemic therapy",
    OptionCode.BEST_SUPPORTIVE_CARE: "best supportive care",
    OptionCode.TUMOR_BOARD: "tumour board",
}


# --- Warnings (code system salvage-warning) ------------------------------------------------------
class WarningCode(StrEnum):
    RADIONECROSIS_RISK = "radionecrosis-risk"
    PSEUDOPROGRESSION_POSSIBLE = "pseudoprogression-possible"
    SRS_SIZE_LIMIT = "srs-size-limit"
    HORMONAL_THERAPY_NOT_RECOMMENDED = "hormonal-therapy-not-recommended"
    POOR_PERFORMANCE_STATUS = "poor-performance-status"
    MISSING_DATA = "missing-data"
    OUTDATED_IMAGING = "outdated-imaging"


WARNING_TITLES: dict[str, str] = {
    WarningCode.RADIONECROSIS_RISK: "Radionecrosis risk of re-irradiation",
    WarningCode.PSEUDOPROGRESSION_POSSIBLE: "Possible pseudoprogression or radionecrosis",
    WarningCode.SRS_SIZE_LIMIT: "Lesion too large for single-fraction SRS",
    WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED: "Hormonal therapy alone is not a salvage option",
    WarningCode.POOR_PERFORMANCE_STATUS: "Poor performance status",
    WarningCode.MISSING_DATA: "Data missing for the assessment",
    WarningCode.OUTDATED_IMAGING: "Brain imaging outdated: repeat MRI first",
}


class Severity(StrEnum):
    """A warning's or an order finding's severity (maps to the card indicator)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_LABELS: dict[str, str] = {
    Severity.CRITICAL: "Critical", Severity.WARNING: "Warning", Severity.INFO: "Note"}
SEVERITY_ORDER: dict[str, int] = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


# --- Subtypes (clinical-model §8) ----------------------------------------------------------------
class SubtypeCode(StrEnum):
    HER2_ENRICHED = "her2"  # HER2+, ER-, PR-
    LUMINAL_A = "luminal-a"  # ER or PR +, HER2-
    LUMINAL_B = "luminal-b"  # HER2+, ER or PR +
    TRIPLE_NEGATIVE = "triple-negative"  # ER-, PR-, HER2-
    UNKNOWN = "unknown"


# The subtype as the cards and the SMART app name it (the receptor results are shown beside it).
SUBTYPE_LABELS: dict[str, str] = {
    SubtypeCode.HER2_ENRICHED: "HER2-positive",
    SubtypeCode.LUMINAL_A: "Luminal A",
    SubtypeCode.LUMINAL_B: "Luminal B",
    SubtypeCode.TRIPLE_NEGATIVE: "Triple-negative",
    SubtypeCode.UNKNOWN: "Subtype unknown",
}
# The subtype as the Breast GPA names its categories (Sperduto 2020 [57]): the GPA factor's value.
GPA_SUBTYPE_NAMES: dict[str, str] = {
    SubtypeCode.TRIPLE_NEGATIVE: "basal (triple-negative)",
    SubtypeCode.LUMINAL_A: "luminal A (ER/PR+, HER2-)",
    SubtypeCode.HER2_ENRICHED: "HER2-enriched (HER2+, ER-, PR-)",
    SubtypeCode.LUMINAL_B: "luminal B (HER2+, ER or PR +)",
}


# --- Breast GPA factors (clinical-model §8) ------------------------------------------------------
class GpaFactorName(StrEnum):
    KPS = "kps"
    SUBTYPE = "subtype"
    AGE = "age"
    BRAIN_METASTASES = "brain_metastases"
    EXTRACRANIAL_METASTASES = "extracranial_metastases"


GPA_FACTOR_LABELS: dict[str, str] = {
    GpaFactorName.KPS: "Performance status (KPS)",
    GpaFactorName.SUBTYPE: "Tumour subtype",
    GpaFactorName.AGE: "Age",
    GpaFactorName.BRAIN_METASTASES: "Number of brain metastases",
    GpaFactorName.EXTRACRANIAL_METASTASES: "Extracranial metastases",
}
# What is missing when a factor is not on record (the assessment's missing-data list).
GPA_FACTOR_MISSING: dict[str, str] = {
    GpaFactorName.KPS: "performance status (KPS or ECOG)",
    GpaFactorName.SUBTYPE: "receptor status (HER2, ER, PR) to tell the subtype",
    GpaFactorName.AGE: "birth date (age)",
    GpaFactorName.BRAIN_METASTASES: "number of brain metastases (no brain lesion on record)",
    GpaFactorName.EXTRACRANIAL_METASTASES: "extracranial metastasis status",
}


# --- RANO-BM categories (review Table 2, Lin 2015 [17]) -----------------------------------------
class RanoCategory(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"


RANO_LABELS: dict[str, str] = {
    RanoCategory.CR: "Complete response (CR)",
    RanoCategory.PR: "Partial response (PR)",
    RanoCategory.SD: "Stable disease (SD)",
    RanoCategory.PD: "Progressive disease (PD)",
}
RANO_NOT_ASSESSABLE = "Not assessable"


# --- Words for what the record does not hold -----------------------------------------------------
NOT_ON_RECORD = "not on record"  # one wording for a fact absent from the record
# The verdict on a performance status (`PerformanceStatus.good`).
PERFORMANCE_VERDICTS: dict[bool | None, str] = {True: "good", False: "poor", None: "not assessable"}
