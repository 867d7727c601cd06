"""Separate warning cards, only for the warnings that change a decision — each said once.

`codes.WARNING_CARD_CODES`: radionecrosis risk of re-irradiation, possible pseudoprogression,
poor performance status, hormonal therapy alone. The other warnings (SRS size limit — the options
already account for it — and missing data) are shown on the main card only, which merely *names*
the warnings that have a card. Each card (detail ≤ 600 characters): a fixed summary naming the
decision; in `detail` the patient's own facts behind the warning (the prior course and its dose,
the score, the drug) and the review's advice with its reference numbers — no reference list, no
source line (`source` and the review link carry it); the model's full message is in the SMART
plan. `indicator` is the warning's severity, `source.topic` its salvage-warning Coding.
"""

from __future__ import annotations

from typing import Any

from cards import codes
from cards.common import patient_override_reasons, review_link, source
from cards.prior_courses import course_text, reaches
from cards.render import card, lesion_md, md, render
from cds_service.model.anchoring import targets_unknown
from cds_service.model.assessment import Assessment, Warning
from cds_service.model.facts import focal_rt_courses
from cds_service.model.patient import PatientRecord, TherapyClass, TreatmentKind
from cds_service.model.vocabulary import NOT_ON_RECORD, SubtypeCode, WarningCode

# keyed by str, as Warning.code and Subtype.code are (the vocabulary's members are str)
SUMMARIES: dict[str, str] = {
    WarningCode.RADIONECROSIS_RISK: (
        "Re-irradiating a treated volume carries a significant radionecrosis risk: "
        "check the composite dose, prefer FSRT"
    ),
    WarningCode.PSEUDOPROGRESSION_POSSIBLE: (
        "Growth of an irradiated lesion may be radionecrosis: confirm with perfusion MRI, "
        "MRS or PET before salvage"
    ),
    WarningCode.POOR_PERFORMANCE_STATUS: (
        "Poor performance status ($ps): aggressive local salvage for selected patients only"
    ),
    WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED: (
        "Hormonal therapy alone is not a salvage option for progressive BCBM"
    ),
}

ADVICE_AFTER_WBRT_ONLY = (
    "SRS/FSRT after WBRT re-irradiates brain that received the whole-brain dose: account for the "
    "cumulative dose when planning. The review's radionecrosis figures come from repeat SRS/FSRT "
    "of the same volume [40–42]; FSRT may be preferred when the risk is significant [15].")
ADVICE: dict[str, str] = {
    WarningCode.RADIONECROSIS_RISK: (
        "Register the new images with the prior plan and assess the composite dose: after "
        "re-SRS, volumes of 0.28 / 0.76 / 1.6 cm³ receiving ≥ 40 Gy went with 10 / 20 / 50 % "
        "radionecrosis [40]; crude median 14.3 % (2–36 %) after re-SRS/re-FSRT [42]. "
        "Prefer FSRT when the risk is significant [15]; "
        "surgery is the mainstay for in-field progression [37–39]."
    ),
    WarningCode.PSEUDOPROGRESSION_POSSIBLE: (
        "Enlargement after SRS/FSRT may be post-radiation necrosis, not tumour [19, 20]. Before "
        "salvage, consider perfusion or diffusion MRI, MR spectroscopy, PET or SPECT [23–29]; "
        "only pathology is certain (in 4 of 32 patients resected after Gamma Knife SRS the "
        "specimen showed only radionecrosis [38])."
    ),
    WarningCode.POOR_PERFORMANCE_STATUS: (
        "With KPS ≤ 60 or ECOG ≥ 2, aggressive local options are for selected patients only and "
        "best supportive care is an option; survival after salvage SRS was longer with KPS ≥ 90 "
        "[31] or ≥ 70 [32], and performance status was the main prognostic factor after "
        "re-irradiation [34]."
    ),
    WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED: (
        "No trial or large retrospective study supports hormonal therapy as salvage of "
        "progressive BCBM, only case reports [77–79]: add or switch to a regimen with "
        "intracranial activity (main card).$subtype_advice"
    ),
}

# Subtype-specific sentence of the hormonal-therapy card (CDK4/6 inhibitors only for HR+/HER2-,
# clinical-model §5b; HER2-directed regimens only for HER2+).
HORMONAL_SUBTYPE_ADVICE: dict[str, str] = {
    SubtypeCode.LUMINAL_A: " For HR-positive, HER2-negative disease, CDK4/6 inhibitors (abemaciclib, "
                 "palbociclib) showed a moderate intracranial response in early-phase trials "
                 "[80, 81].",
    SubtypeCode.LUMINAL_B: " For HER2-positive disease, HER2-directed regimens are the systemic options "
                 "[70–76].",
    SubtypeCode.HER2_ENRICHED: " For HER2-positive disease, HER2-directed regimens are the systemic options "
                               "[70–76].",
}


def _ps_text(assessment: Assessment) -> str:
    ps = assessment.performance_status
    if ps.basis:  # the score the model judged by (the more recent of KPS and ECOG)
        return ps.basis
    if ps.kps is not None:
        return f"KPS {ps.kps}"
    if ps.ecog is not None:
        return f"ECOG {ps.ecog}"
    return "KPS/ECOG"


def _irradiated(assessment: Assessment, record: PatientRecord | None) -> list[tuple[str, str]]:
    """(course, lesions) of each focal course that reached a progressing lesion — where the
    composite dose starts and what may be necrosis."""
    progressing = assessment.situation.progressing_lesions
    out = []
    for t in (focal_rt_courses(record) if record else ()):
        lesions = [x for x in progressing if reaches(t, x)] or (
            list(t.lesion_ids) if not progressing else [])
        if lesions:
            out.append((course_text(t, None), ", ".join(lesion_md(x) for x in lesions)))
    return out


def _unlinked_focal(record: PatientRecord) -> list[str]:
    """Focal courses whose targets are not on record: the progression may lie in their volume."""
    return [course_text(t, None) for t in focal_rt_courses(record) if targets_unknown(t)]


def _whole_brain(record: PatientRecord) -> list[str]:
    return [course_text(t, None) for t in record.treatments if t.kind is TreatmentKind.WBRT]


def _course_facts(warning: Warning, assessment: Assessment, record: PatientRecord | None) -> str:
    if record is None:
        return "Prior course and dose: see the full plan."
    courses = _irradiated(assessment, record)
    if not courses and _unlinked_focal(record):
        unlinked = "; ".join(_unlinked_focal(record))
        if warning.code == WarningCode.RADIONECROSIS_RISK:
            return f"Prior dose: {unlinked} (targets not on record)."
        return f"The progression may lie in the volume of {unlinked} (targets not on record)."
    if not courses and _whole_brain(record) and warning.code == WarningCode.RADIONECROSIS_RISK:
        return f"Prior dose: {'; '.join(_whole_brain(record))}."
    if not courses:
        return "Prior focal course: not identified on record."
    if warning.code == WarningCode.RADIONECROSIS_RISK:
        return "Prior dose: " + "; ".join(f"{c} ({lesions})" for c, lesions in courses) + "."
    if not assessment.situation.progressing_lesions:  # deterioration with stable imaging
        return ("No lesion has grown since " + "; ".join(f"{c} ({lesions})"
                                                        for c, lesions in courses)
                + ": the deterioration may be radionecrosis or oedema.")
    return "; ".join(f"{lesions} grew after {c}" for c, lesions in courses) + "."


def _ps_facts(assessment: Assessment, record: PatientRecord | None) -> str:
    scores = []
    for name, score in (("KPS", record.kps if record else None),
                        ("ECOG", record.ecog if record else None)):
        if score is not None:
            scores.append(f"{name} {score.value}" + (f" ({score.date.isoformat()})"
                                                       if score.date else ""))
    text = ", ".join(scores) or assessment.performance_status.scores_text() or NOT_ON_RECORD
    return f"Recorded: {text}."


def _hormonal_facts(record: PatientRecord | None) -> str:
    drugs = sorted({t.drug for t in (record.systemic_therapies if record else ())
                    if t.therapy_class is TherapyClass.HORMONAL})
    return f"Only active systemic therapy: {', '.join(md(d) for d in drugs)}." if drugs else ""


def facts(warning: Warning, assessment: Assessment, record: PatientRecord | None) -> str:
    """The patient's own facts behind the warning, in one sentence."""
    if warning.code in (WarningCode.RADIONECROSIS_RISK, WarningCode.PSEUDOPROGRESSION_POSSIBLE):
        return _course_facts(warning, assessment, record)
    if warning.code == WarningCode.POOR_PERFORMANCE_STATUS:
        return _ps_facts(assessment, record)
    if warning.code == WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED:
        return _hormonal_facts(record)
    return md(warning.message)


def warning_card(warning: Warning, assessment: Assessment,
                 record: PatientRecord | None = None) -> dict[str, Any]:
    summary = _summary(warning, record).replace("$ps", _ps_text(assessment))
    detail = render(
        "warning_detail",
        facts=facts(warning, assessment, record),
        advice=_advice(warning, record).replace(
            "$subtype_advice", HORMONAL_SUBTYPE_ADVICE.get(assessment.subtype.code, "")),
    )
    indicator = warning.severity if warning.severity in ("info", "warning", "critical") else "warning"
    return card(
        summary=summary,
        indicator=indicator,
        detail=detail,
        source=source(warning.code),
        override_reasons=patient_override_reasons(),
        links=[review_link()],
    )


SUMMARY_AFTER_WBRT_ONLY = ("SRS/FSRT after WBRT re-irradiates the brain: account for the "
                           "cumulative dose")


def _after_wbrt_only(record: PatientRecord | None) -> bool:
    return record is not None and not focal_rt_courses(record)


def _summary(warning: Warning, record: PatientRecord | None) -> str:
    """After WBRT alone the radionecrosis card says what applies there — the cumulative dose —
    not the repeat-SRS advice (SRS after WBRT is the standard salvage, review §4.1)."""
    if warning.code == WarningCode.RADIONECROSIS_RISK and _after_wbrt_only(record):
        return SUMMARY_AFTER_WBRT_ONLY
    return SUMMARIES[warning.code]


def _advice(warning: Warning, record: PatientRecord | None) -> str:
    """The review's advice; re-irradiation after WBRT alone (no SRS/FSRT on record) gets the
    cumulative-dose advice, not the repeat-SRS figures (model/safety_warnings.py)."""
    if warning.code == WarningCode.RADIONECROSIS_RISK and _after_wbrt_only(record):
        return ADVICE_AFTER_WBRT_ONLY
    return ADVICE.get(warning.code, "")


def warning_cards(assessment: Assessment, record: PatientRecord | None = None
                  ) -> list[dict[str, Any]]:
    """One card per decision-changing warning, in the model's order, each code at most once."""
    seen: set[str] = set()
    out = []
    for warning in assessment.warnings:
        if warning.code not in codes.WARNING_CARD_CODES or warning.code in seen:
            continue
        seen.add(warning.code)
        out.append(warning_card(warning, assessment, record))
    return out
