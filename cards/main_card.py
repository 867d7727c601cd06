"""The main patient-view card: situation, evidence, prognosis, ranked options, suggestions.

One card per progressive BCBM patient. `summary` names the situation and the first options
("Progressive BCBM after SRS (in-field): consider surgery or FSRT"); `indicator` is `warning`
(action is due: the disease progresses); `detail` is markdown from `templates/main_detail.md`.
Suggestions: one per actionable option (see `cards.suggestions`), `selectionBehavior: any`
because options combine (tumour-board referral with a local option and a systemic regimen;
surgery of a dominant lesion with radiotherapy of the rest, review §4.3). `isRecommended` is set
on every suggestion: true for the first-ranked option (unless it is for selected patients only)
and for the tumour-board referral (the review: decisions belong to a multidisciplinary board).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cards import codes
from cards.beyond_review import beyond_review_section
from cards.common import patient_override_reasons, review_link, smart_link, source
from cards.imaging_age import (
    main_indicator,
    recommended_when_current,
    summary_with_imaging_age,
    with_imaging_age_line,
)
from cards.references import references_section
from cards.render import (
    bullets,
    card,
    md,
    num,
    one_line,
    plain,
    ref_numbers,
    regimen_text,
    render,
    section,
    table,
)
from cards.suggestions import InvalidResource, OrderContext, option_suggestion
from cds_service.model.assessment import Assessment, Option, Regimen
from cds_service.model.patient import SkippedResource

log = logging.getLogger("salvage_cds.cards")

NOT_TOPIC_OPTIONS = ("tumor-board",)  # always offered: never "the" option a card is about
SUBTYPE_NAMES = {
    "her2": "HER2-positive",
    "luminal-a": "Luminal A (HR-positive, HER2-negative)",
    "luminal-b": "Luminal B (HR-positive, HER2-positive)",
    "triple-negative": "Triple-negative",
    "unknown": "Unknown",
}
GPA_FACTOR_NAMES = {
    "kps": "KPS",
    "subtype": "Subtype",
    "age": "Age",
    "brain_metastases": "Brain metastases",
    "extracranial_metastases": "Extracranial metastases",
}


def ranked(options: Sequence[Option]) -> list[Option]:
    return sorted(options, key=lambda o: o.rank)


def main_option(options: Sequence[Option]) -> Option | None:
    """The option the card is about: the best-ranked one that is not the tumour board."""
    candidates = [o for o in ranked(options) if o.code not in NOT_TOPIC_OPTIONS]
    if candidates:
        return candidates[0]
    return ranked(options)[0] if options else None


def summary(assessment: Assessment) -> str:
    label = plain(assessment.situation.label) or "Progressive breast cancer brain metastases"
    shown: list[str] = []
    for option in ranked(assessment.options):
        if option.code in NOT_TOPIC_OPTIONS:
            continue
        name = codes.OPTION_SHORT.get(option.code, option.code)
        if name not in shown:
            shown.append(name)
        if len(shown) == 2:
            break
    if not shown:
        return one_line(f"{label}: discuss at the tumour board")
    text = f"{label}: consider {' or '.join(shown)}"
    return text if len(text) <= 139 else one_line(label)


# --- detail sections ----------------------------------------------------------------------------
def _evidence(assessment: Assessment) -> str:
    situation = assessment.situation
    items = [md(e) for e in situation.evidence]
    if situation.symptomatic:
        items.append("Neurological symptoms on record (symptomatic disease).")
    if situation.on_systemic_therapy:
        items.append("Progression during active systemic therapy: consider switching the systemic line.")
    return section("Evidence of progression", bullets(items))


def _rano_bm(assessment: Assessment) -> str:
    rano = assessment.rano_bm
    if rano.category is None:
        text = "Not assessable."
        if rano.reasons:
            text += "\n\n" + bullets(md(r) for r in rano.reasons)
        return section("RANO-BM response [17]", text)
    parts = [f"Category **{md(rano.category)}**"]
    sld = []
    if rano.baseline_sld_mm is not None:
        when = f" ({rano.baseline_date.isoformat()})" if rano.baseline_date else ""
        sld.append(f"baseline {num(rano.baseline_sld_mm)} mm{when}")
    if rano.nadir_sld_mm is not None:
        sld.append(f"nadir {num(rano.nadir_sld_mm)} mm")
    if rano.current_sld_mm is not None:
        when = f" ({rano.current_date.isoformat()})" if rano.current_date else ""
        sld.append(f"current {num(rano.current_sld_mm)} mm{when}")
    if sld:
        parts.append("sum of longest diameters: " + ", ".join(sld))
    lines = [" — ".join(parts)]
    if rano.reasons:
        lines.append(bullets(md(r) for r in rano.reasons))
    rows = [
        (md(les.lesion), f"{num(les.baseline_mm)} mm" if les.baseline_mm is not None else "–",
         f"{num(les.nadir_mm)} mm" if les.nadir_mm is not None else "–",
         f"{num(les.current_mm)} mm" if les.current_mm is not None else "–",
         "target" if les.target else ("non-target" if les.measurable else "non-measurable"))
        for les in rano.lesions
    ]
    lesion_table = table(("Lesion", "Baseline", "Nadir", "Current", "Role"), rows)
    if lesion_table:
        lines.append(lesion_table)
    if rano.new_lesions:
        lines.append("New lesions: " + ", ".join(md(x) for x in rano.new_lesions))
    return section("RANO-BM response [17]", "\n\n".join(lines))


def _performance(assessment: Assessment) -> str:
    ps = assessment.performance_status
    scores = ps.scores_text()
    if scores is None:
        return "not recorded"
    verdict = {True: "good", False: "poor", None: "unknown"}[ps.good]
    return f"{scores} ({verdict})"


def _patient(assessment: Assessment) -> str:
    subtype = assessment.subtype
    receptors = f"HER2 {md(subtype.her2)}, ER {md(subtype.er)}, PR {md(subtype.pr)}"
    items = [
        f"Subtype: **{SUBTYPE_NAMES.get(subtype.code, md(subtype.code))}** ({receptors})",
        f"Performance status: {_performance(assessment)}",
    ]
    return section("Patient", bullets(items))


def _gpa(assessment: Assessment) -> str:
    gpa = assessment.gpa
    refs = ref_numbers(gpa.references or (57,))
    if gpa.score is None:
        missing = ", ".join(md(m) for m in gpa.missing) or "see missing data"
        body = f"Not computable — missing: {missing}."
    else:
        survival = (f" → median survival **{num(gpa.median_survival_months)} months**"
                    if gpa.median_survival_months is not None
                    else " → median survival not given (see the note below)"
                    if gpa.median_withheld else "")
        body = f"**{num(gpa.score)}**{survival}"
        factors = [
            f"{GPA_FACTOR_NAMES.get(f.name, md(f.name))}: {md(f.value) if f.value else 'missing'}"
            + (f" ({num(f.points)} pt)" if f.points is not None else "")
            for f in gpa.factors
        ]
        if factors:
            body += "\n\n" + bullets(factors)
    notes = [md(n) for n in gpa.notes]
    if gpa.ecog_stand_in and not any("ECOG" in n for n in gpa.notes):
        notes.append("The KPS band was taken from ECOG.")
    if notes:
        body += "\n\n" + bullets(notes)
    return section(f"Breast GPA (updated 2020) {refs}", body)


def _regimens(option: Option) -> str:
    if not option.regimens:
        return ""
    by_lesion: dict[str | None, list[Regimen]] = {}
    for regimen in option.regimens:
        by_lesion.setdefault(regimen.lesion, []).append(regimen)
    parts = []
    for lesion, regimens in by_lesion.items():
        notes = {r.note for r in regimens}
        if len(notes) == 1:  # one note for the lesion (e.g. its diameter): say it once
            joined = " or ".join(regimen_text(r.total_dose_gy, r.fractions) for r in regimens)
            if regimens[0].note:
                joined += f" ({md(regimens[0].note)})"
        else:
            joined = " or ".join(
                regimen_text(r.total_dose_gy, r.fractions) + (f" ({md(r.note)})" if r.note else "")
                for r in regimens)
        parts.append(f"{md(lesion)}: {joined}" if lesion else joined)
    return "; ".join(parts)


def _options(assessment: Assessment) -> str:
    lines = []
    for index, option in enumerate(ranked(assessment.options), start=1):
        flags = []
        if option.selected_patients_only:
            flags.append("selected patients only")
        if option.reirradiation:
            flags.append("re-irradiation")
        head = f"{index}. **{md(option.title)}**"
        if flags:
            head += f" _({', '.join(flags)})_"
        refs = ref_numbers(option.references)
        rationale = md(option.rationale)
        if rationale or refs:
            head += f" — {rationale} {refs}".rstrip()
        regimens = _regimens(option)
        if regimens:
            head += f"\n   - Regimen: {regimens}"
        if option.lesions:
            head += "\n   - Target: " + ", ".join(md(x) for x in option.lesions)
        lines.append(head)
    return section("Salvage options (ranked)", "\n".join(lines))


def _systemic(assessment: Assessment) -> str:
    items = []
    for regimen in assessment.systemic_regimens:
        text = f"{md(regimen.title)} {ref_numbers(regimen.references)}".rstrip()
        if regimen.investigational:
            text += " _(investigational)_"
        if regimen.note:
            text += f" — {md(regimen.note)}"
        items.append(text)
    return section("Systemic therapy for this subtype", bullets(items))


def _warnings(assessment: Assessment) -> str:
    items = []
    for warning in assessment.warnings:
        name = codes.SALVAGE_WARNINGS.get(warning.code, md(warning.code))
        own = " (see its card)" if warning.code in codes.WARNING_CARD_CODES else ""
        refs = ref_numbers(warning.references)
        items.append(f"**{name}**{own}: {md(warning.message)} {refs}".rstrip())
    return section("Warnings", bullets(items))


SKIPPED_SHOWN = 5  # resources the mapping could not use: the first few, then a count


def _missing(assessment: Assessment, unavailable: Sequence[str], notes: Sequence[str],
             skipped: Sequence[SkippedResource]) -> str:
    items = [md(m) for m in assessment.missing_data]
    items += [f"Could not be obtained — {md(m)}" for m in unavailable]
    items += [f"Partial data — {md(n)}" for n in notes]
    items += [f"Not used — {md(s.reference)}: {md(s.reason)}" for s in skipped[:SKIPPED_SHOWN]]
    if len(skipped) > SKIPPED_SHOWN:
        items.append(f"… and {len(skipped) - SKIPPED_SHOWN} more records not used")
    return section("Data missing or not obtained", bullets(items))


def detail(assessment: Assessment, *, unavailable: Sequence[str] = (),
           notes: Sequence[str] = (), skipped: Sequence[SkippedResource] = ()) -> str:
    cited = set(assessment.references)
    cited.update(n for o in assessment.options for n in o.references)
    cited.update(n for r in assessment.systemic_regimens for n in r.references)
    cited.update(n for w in assessment.warnings for n in w.references)
    cited.update(assessment.gpa.references or (57,))
    cited.add(17)  # RANO-BM
    return render(
        "main_detail",
        situation_label=md(assessment.situation.label),
        assessment_date=assessment.assessment_date.isoformat(),
        evidence=_evidence(assessment),
        rano_bm=_rano_bm(assessment),
        patient=_patient(assessment),
        gpa=_gpa(assessment),
        options=_options(assessment),
        systemic=_systemic(assessment),
        warnings=_warnings(assessment) + beyond_review_section(assessment),  # issue 13 #8
        missing=_missing(assessment, unavailable, notes, skipped),
        references=references_section(sorted(cited)),
        review_citation=codes.REVIEW_CITATION,
        review_doi=codes.REVIEW_DOI,
        review_url=codes.REVIEW_URL,
    )


# --- suggestions ---------------------------------------------------------------------------------
def recommended_codes(options: Sequence[Option]) -> set[str]:
    out = {o.code for o in options if o.code == "tumor-board"}
    first = main_option(options)
    if first is not None and not first.selected_patients_only:
        out.add(first.code)
    return out


def suggestions(assessment: Assessment, ctx: OrderContext) -> list[dict[str, Any]]:
    recommended = recommended_when_current(recommended_codes(assessment.options), assessment)
    out = []
    for option in ranked(assessment.options):
        try:
            suggestion = option_suggestion(option, ctx, recommended=option.code in recommended,
                                           regimens=assessment.systemic_regimens)
        except InvalidResource as exc:
            # A defect of ours, never of the patient's data: leave it out, loudly.
            log.error("suggestion for option %s left out: %s", option.code, exc)
            continue
        if suggestion is not None:
            out.append(suggestion)
    return out


def main_card(assessment: Assessment, ctx: OrderContext, *, public_base_url: str,
              hook_instance: str, unavailable: Sequence[str] = (),
              notes: Sequence[str] = (), skipped: Sequence[SkippedResource] = ()) -> dict[str, Any]:
    topic = main_option(assessment.options)
    return card(
        # outdated imaging (CM §10): its age leads the summary and the detail, indicator info
        summary=summary_with_imaging_age(summary(assessment), assessment),
        indicator=main_indicator(assessment),
        detail=with_imaging_age_line(
            detail(assessment, unavailable=unavailable, notes=notes, skipped=skipped),
            assessment),
        source=source(topic.code if topic else "tumor-board"),
        suggestions=suggestions(assessment, ctx),
        selection_behavior="any",
        override_reasons=patient_override_reasons(),
        links=[
            smart_link(public_base_url, assessment_date=assessment.assessment_date.isoformat(),
                       hook_instance=hook_instance),
            review_link(),
        ],
    )
