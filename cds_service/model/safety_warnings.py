"""Warnings of a progressive situation (clinical-model §4, §5b, §7): each a small rule.

(Named safety_warnings, not warnings, so that it never shadows the standard-library module.)
"""

from __future__ import annotations

from functools import cache

from cds_service.model.assessment import Option, PerformanceStatus, Situation, Warning
from cds_service.model.constants import (
    PRN_CRUDE_MEDIAN_PERCENT,
    PRN_CRUDE_RANGE_PERCENT,
    V40GY_PRN_PROBABILITY,
)
from cds_service.model.evidence import cite, span
from cds_service.model.facts import focal_rt_courses, focal_rt_lesions
from cds_service.model.patient import PatientRecord
from cds_service.model.performance import choose_score
from cds_service.model.situation import Progression
from cds_service.model.systemic import hormonal_only
from cds_service.model.vocabulary import OptionCode, Severity, WarningCode

FOCAL_OPTIONS = (OptionCode.SRS, OptionCode.FSRT)


@cache  # the review's figures (constants): worded once
def composite_dose_figures() -> tuple[str, str]:
    volumes = " / ".join(f"{v:g}" for v, _ in V40GY_PRN_PROBABILITY)
    risks = " / ".join(f"{p}" for _, p in V40GY_PRN_PROBABILITY)
    low, high = PRN_CRUDE_RANGE_PERCENT
    return (f"after re-SRS, volumes of {volumes} cm³ receiving 40 Gy or more were associated "
            f"with {risks} % probability of post-radiation necrosis [40]",
            f"crude median PRN after re-SRS/re-FSRT {PRN_CRUDE_MEDIAN_PERCENT:g} % "
            f"({low}-{high} %) [42]")


COMPOSITE_DOSE_ADVICE = (
    "Register the new images with the prior plan and assess the composite dose before "
    "re-irradiating: {v40}; {crude}. Risk factors: larger irradiated volume, higher dose, large "
    "overlap with the prior 12-18 Gy volumes, higher covering isodose [42]. FSRT is preferred "
    "over SRS when the risk is significant [15].")


def in_field_lesions(record: PatientRecord, situation: Situation,
                     progression: Progression) -> tuple[str, ...]:
    inside = set(situation.progressing_lesions) & focal_rt_lesions(record)
    return tuple(sorted(inside | set(situation.in_field_lesions) | progression.in_field_lesions))


def _possibly_in_field(record: PatientRecord, situation: Situation,
                       progression: Progression) -> bool:
    """Progression inside a prior SRS/FSRT volume, or whose position relative to one is not
    established (clinical-model §10: the safe reading)."""
    if not focal_rt_courses(record):
        return False
    return bool(in_field_lesions(record, situation, progression)
                or progression.in_field_volumes or situation.position_unknown)


def _where(record: PatientRecord, situation: Situation, progression: Progression) -> str:
    inside = in_field_lesions(record, situation, progression)
    if situation.position_unknown and not progression.in_field_volumes:
        shown = f"lesion(s) {', '.join(inside)}" if inside else "the progressing lesion(s)"
        return f"{shown}, possibly inside a prior SRS/FSRT volume (the link is not on record)"
    if inside:
        return f"lesion(s) {', '.join(inside)}, previously irradiated"
    return "the previously irradiated volume"


def radionecrosis_risk(record: PatientRecord, situation: Situation, progression: Progression,
                       options: tuple[Option, ...]) -> Warning | None:
    """Any SRS/FSRT option flagged as re-irradiation carries this warning (issue: re-irradiation
    without its warning). Its content follows what is re-irradiated: a prior SRS/FSRT volume
    (possibly) — the review's composite-dose data [40-42]; otherwise brain that received WBRT."""
    if not any(o.code in FOCAL_OPTIONS and o.reirradiation for o in options):
        return None
    v40, crude = composite_dose_figures()
    if focal_rt_courses(record):
        where = (f"Repeat SRS/FSRT of {_where(record, situation, progression)} carries"
                 if _possibly_in_field(record, situation, progression) else
                 "Where a new SRS/FSRT target overlaps a prior SRS/FSRT volume, re-irradiation "
                 "carries")
        return Warning(
            code=WarningCode.RADIONECROSIS_RISK,
            message=(f"{where} a significant risk of post-radiation necrosis (PRN). "
                     + COMPOSITE_DOSE_ADVICE.format(v40=v40, crude=crude)),
            references=cite(15, 40, 41, 42))
    return Warning(
        code=WarningCode.RADIONECROSIS_RISK,
        message=("SRS/FSRT after WBRT re-irradiates brain that received the whole-brain dose: "
                 "account for the cumulative dose when planning. The review's PRN figures come "
                 f"from repeat SRS/FSRT of the same volume ({crude}); FSRT may be preferred over "
                 "SRS when the risk of PRN is significant [15]."),
        references=cite(15, 42))


def pseudoprogression(record: PatientRecord, situation: Situation,
                      progression: Progression) -> Warning | None:
    """Enlargement after SRS/FSRT may be PRN, unless pathology confirmed progression; given too
    when the position relative to the prior SRS/FSRT volumes is not established."""
    if not _possibly_in_field(record, situation, progression) or progression.pathology_confirmed:
        return None
    return Warning(
        code=WarningCode.PSEUDOPROGRESSION_POSSIBLE,
        message=("Enlargement of a lesion treated with SRS/FSRT may be post-radiation necrosis "
                 "(pseudoprogression) rather than tumour [19, 20]. Before salvage, consider "
                 "perfusion/diffusion MRI, MR spectroscopy, PET or SPECT [23-29]; only a "
                 "pathological examination is 100 % reliable."),
        references=cite(19, 20, *span(23, 29)))


def poor_performance(record: PatientRecord, performance: PerformanceStatus) -> Warning | None:
    if performance.good is not False:
        return None
    score = choose_score(record)
    shown = score.text() if score else "poor performance status"
    return Warning(
        code=WarningCode.POOR_PERFORMANCE_STATUS,
        message=(f"Poor performance status ({shown}): aggressive local options are for "
                 "selected patients only; best supportive care is an option. Performance status "
                 "was the most important prognostic factor in reirradiated patients [34]."),
        references=cite(34))


def hormonal_therapy_alone(record: PatientRecord) -> Warning | None:
    classes = [t.therapy_class for t in record.systemic_therapies]
    if not hormonal_only(classes):
        return None
    drugs = ", ".join(sorted({t.drug for t in record.systemic_therapies}))
    return Warning(
        code=WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED,
        message=(f"Hormonal therapy ({drugs}) is the only active systemic therapy. No clinical "
                 "trial or large retrospective study supports hormonal therapy as salvage "
                 "treatment of progressive BCBM, only case reports [77-79]; it should not be "
                 "relied on alone. CDK4/6 inhibitors showed a moderate intracranial response in "
                 "early-phase trials in HR-positive BCBM [80, 81]."),
        references=span(77, 81))


def missing_data(items: tuple[str, ...]) -> Warning | None:
    if not items:
        return None
    return Warning(code=WarningCode.MISSING_DATA, severity=Severity.INFO,
                   message="Not on record, and needed for this decision: " + "; ".join(items)
                   + ". Nothing was assumed in its place.")


def safety_warnings(record: PatientRecord, situation: Situation, progression: Progression,
                    performance: PerformanceStatus, options: tuple[Option, ...],
                    option_warnings: tuple[Warning, ...],
                    decision_missing: tuple[str, ...]) -> tuple[Warning, ...]:
    """All warnings of a progressive situation; none for any other situation."""
    if not situation.is_progressive:
        return ()
    found = [
        *option_warnings,
        radionecrosis_risk(record, situation, progression, options),
        pseudoprogression(record, situation, progression),
        hormonal_therapy_alone(record),
        poor_performance(record, performance),
        missing_data(decision_missing),
    ]
    return tuple(w for w in found if w is not None)
