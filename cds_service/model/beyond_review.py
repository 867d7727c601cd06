"""Beyond the review: guideline points the review (Spalek & Mandat 2022) does not make, each on its
own line with its source, never mixed with the review's evidence (docs/clinical-model.md §11).

Rules (each a small predicate on the assessment's own facts):
- hippocampal-avoidance WBRT with memantine: WBRT is among the options and the expected survival
  (Breast GPA median) is >= ``HA_WBRT_MIN_EXPECTED_SURVIVAL_MONTHS``; when the median is not
  available (GPA not computable) the line still appears and says the survival condition could
  not be checked; when only re-WBRT is offered the line says the guidance is for a first course
  (the review reports a median survival of 3.3 months after re-WBRT [49], and the GPA median
  comes from first diagnosis); never in leptomeningeal disease (hippocampal sparing is not a
  treatment of leptomeningeal disease; our choice, documented);
- LITT: in-field progression after SRS/FSRT (situation ``local-progression-after-srs-in-field``);
- radionecrosis management: whenever the pseudoprogression warning applies;
- receptor discordance: a receptor with definitive results that differ between specimens or dates.
Sources are guidelines and a trial cited from the project's reference notes; their certainty there
is recorded in docs/clinical-model.md §11.
"""

from __future__ import annotations

from cds_service.model.assessment import (
    LEPTOMENINGEAL,
    LOCAL_AFTER_SRS_IN_FIELD,
    BeyondReview,
    Gpa,
    Option,
    Warning,
)
from cds_service.model.patient import PatientRecord, Receptor, ReceptorReading
from cds_service.model.vocabulary import OptionCode, WarningCode

# NRG Oncology CC001 (Brown PD et al., J Clin Oncol 2020;38:1019); ASCO-SNO-ASTRO 2021
# (Vogelbaum MA et al., J Clin Oncol 2022;40:492): memantine and hippocampal avoidance when
# there is no metastasis in the hippocampal region and expected survival is >= 4 months.
HA_WBRT_MIN_EXPECTED_SURVIVAL_MONTHS = 4.0
HA_WBRT_SOURCE = "NRG Oncology CC001; ASCO-SNO-ASTRO 2021"
HA_WBRT_OPTIONS = frozenset({OptionCode.WBRT, OptionCode.RE_WBRT})
HA_WBRT_FIRST_COURSE_OPTION = OptionCode.WBRT  # the guidance is for a first course (docs §11)
HA_WBRT_EXCLUDED_SITUATIONS = frozenset({LEPTOMENINGEAL})
EANO_ESMO_2021 = "EANO-ESMO 2021"  # Le Rhun et al., Ann Oncol 2021;32:1332
# ESO-ESMO 5th international consensus guidelines for advanced breast cancer (ABC5; Cardoso,
# Ann Oncol 2020;31:1623)
RECEPTOR_DISCORDANCE_SOURCE = "ESO-ESMO ABC5 consensus (Cardoso, Ann Oncol 2020)"
MARKER_NAMES = (("her2", "HER2"), ("er", "ER"), ("pr", "PR"))


def _repeat_wbrt_only() -> BeyondReview:
    return BeyondReview(
        "ha-wbrt-memantine",
        "Hippocampal-avoidance WBRT with memantine is guidance for a first WBRT course, not "
        "established for repeat WBRT.", HA_WBRT_SOURCE)


def _first_course(median: float | None) -> BeyondReview:
    survival = ("; the Breast GPA is not computable here, so check the expected survival"
                if median is None else f" (Breast GPA median {median:g} months)")
    return BeyondReview(
        "ha-wbrt-memantine",
        "If WBRT is chosen: hippocampal-avoidance WBRT with memantine when no metastasis lies "
        "in the hippocampal region and expected survival is >= "
        f"{HA_WBRT_MIN_EXPECTED_SURVIVAL_MONTHS:g} months{survival}.", HA_WBRT_SOURCE)


def hippocampal_avoidance(situation_code: str, options: tuple[Option, ...],
                          gpa: Gpa) -> BeyondReview | None:
    codes = {o.code for o in options}
    if situation_code in HA_WBRT_EXCLUDED_SITUATIONS or not codes & HA_WBRT_OPTIONS:
        return None
    if HA_WBRT_FIRST_COURSE_OPTION not in codes:  # only repeat WBRT is offered
        return _repeat_wbrt_only()
    median = gpa.median_survival_months
    if median is not None and median < HA_WBRT_MIN_EXPECTED_SURVIVAL_MONTHS:
        return None
    return _first_course(median)


def laser_interstitial_thermal_therapy(situation_code: str) -> BeyondReview | None:
    if situation_code != LOCAL_AFTER_SRS_IN_FIELD:
        return None
    return BeyondReview(
        "litt",
        "LITT (laser interstitial thermal therapy) for in-field progression or radionecrosis "
        "out of surgical reach.", EANO_ESMO_2021)


def radionecrosis_management(warnings: tuple[Warning, ...]) -> BeyondReview | None:
    if not any(w.code == WarningCode.PSEUDOPROGRESSION_POSSIBLE for w in warnings):
        return None
    return BeyondReview(
        "radionecrosis-management",
        "If radionecrosis: corticosteroids, bevacizumab if symptoms persist, surgery or LITT.",
        EANO_ESMO_2021)


def _reading_text(reading: ReceptorReading) -> str:
    day = reading.date.isoformat() if reading.date else "date unknown"
    return f"{reading.status.value} on {day} ({reading.specimen})"


def discordant(receptor: Receptor) -> bool:
    return len({r.status for r in receptor.readings}) > 1


def receptor_discordance(record: PatientRecord) -> BeyondReview | None:
    parts = []
    for attribute, name in MARKER_NAMES:
        receptor: Receptor = getattr(record, attribute)
        if discordant(receptor):
            parts.append(f"{name} " + " vs ".join(_reading_text(r) for r in receptor.readings))
    if not parts:
        return None
    return BeyondReview(
        "receptor-discordance",
        "Receptor results differ between specimens: " + "; ".join(parts) + ". The model uses "
        "the latest result; consider targeted therapy if the receptor is positive in at least "
        "one biopsy.", RECEPTOR_DISCORDANCE_SOURCE)


def beyond_review(record: PatientRecord, situation_code: str, options: tuple[Option, ...],
                  warnings: tuple[Warning, ...], gpa: Gpa) -> tuple[BeyondReview, ...]:
    """The beyond-the-review lines of a progressive situation (none when there are no options)."""
    if not options:
        return ()
    found = (
        hippocampal_avoidance(situation_code, options, gpa),
        laser_interstitial_thermal_therapy(situation_code),
        radionecrosis_management(warnings),
        receptor_discordance(record),
    )
    return tuple(item for item in found if item is not None)
