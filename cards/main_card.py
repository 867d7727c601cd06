"""The main patient-view card: what decides, readable in seconds; the full plan is one link away.

One card per progressive BCBM patient. `summary` names the situation and the first options
("Progressive BCBM after SRS (in-field): consider surgery or FSRT"); `indicator` is `warning`
(action is due: the disease progresses), `info` when the model flags the imaging as outdated (the
card cannot say what is due on old data). `detail` is markdown from `templates/main_detail.md`, at
most ~2,000 characters on every test patient, in this order: the situation with the date and age
of the imaging; the key evidence (≤ 3 bullets); the prior local therapy of each progressing
lesion; the ranked options, one line each with the regimen per lesion (systemic therapy: the three
best-supported regimens); one line per warning (a warning with its own card is only named);
lines "beyond the review"; patient and Breast GPA; what is missing, one line per item; the link
to the full plan and the review's DOI. Rationale, every regimen, the lesion table and the
references with their DOIs are in the SMART app (`cds_service/smart/`) and `docs/`.
Suggestions: one per actionable option (see `cards.suggestions`), `selectionBehavior: any`
because options combine (tumour-board referral with a local option and a systemic regimen;
surgery of a dominant lesion with radiotherapy of the rest, review §4.3). `isRecommended` is set
on every suggestion: true for the first-ranked option (unless it is for selected patients only)
and for the tumour-board referral (the review: decisions belong to a multidisciplinary board).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from cards import codes
from cards.beyond_review import TITLE as BEYOND_REVIEW_TITLE
from cards.beyond_review import beyond_review_lines
from cards.common import patient_override_reasons, review_link, smart_link, source
from cards.imaging_age import (
    imaging_age_line,
    is_outdated,
    latest_imaging_date,
    main_indicator,
    recommended_when_current,
    summary_with_imaging_age,
)
from cards.prior_courses import prior_course_lines
from cards.render import (
    bullets,
    card,
    lesion_md,
    md,
    num,
    one_line,
    plain,
    ref_numbers,
    regimen_text,
    render,
)
from cards.suggestions import (
    InvalidResource,
    OrderContext,
    option_not_orderable,
    option_suggestion,
)
from cds_service.model.assessment import Assessment, Option, Regimen
from cds_service.model.patient import Measurement, PatientRecord, SkippedResource
from cds_service.model.vocabulary import (
    NOT_ON_RECORD,
    SUBTYPE_LABELS,
    GpaFactorName,
    OptionCode,
    RanoCategory,
    WarningCode,
)

log = logging.getLogger("salvage_cds.cards")

NOT_TOPIC_OPTIONS = (OptionCode.TUMOR_BOARD,)
# warnings the main card says elsewhere: missing data in its own block, outdated imaging in the
# first line (no sentence twice, issue 14); always offered: never "the" option a card is about
SAID_ELSEWHERE = frozenset({WarningCode.MISSING_DATA, WarningCode.OUTDATED_IMAGING})
LESIONS_SHOWN = 5  # lesions named in the evidence line; the SMART plan has them all
SYSTEMIC_SHOWN = 3  # systemic regimens on the card; the SMART plan lists every one
SKIPPED_SHOWN = 5  # resources the mapping could not use: the first few, then a count
DIAMETER_TOLERANCE_MM = 0.05


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
        return one_line(summary_with_imaging_age(f"{label}: discuss at the tumour board",
                                                 assessment))
    text = summary_with_imaging_age(f"{label}: consider {' or '.join(shown)}", assessment)
    return text if len(text) <= 139 else one_line(summary_with_imaging_age(label, assessment))


# --- the first line ------------------------------------------------------------------------------
def headline(assessment: Assessment) -> str:
    """The imaging's date and age (and the situation, unless the summary above says it whole)."""
    label = md(assessment.situation.label) or "Progressive breast cancer brain metastases"
    shown = "" if plain(assessment.situation.label) in summary(assessment) else f" {label} —"
    age = imaging_age_line(assessment)
    when = f"assessed {assessment.assessment_date.isoformat()}"
    if is_outdated(assessment):
        return f"**{age}.**{shown} {when}."
    return f"**Data:** {age};{shown} {when}."


# --- evidence: ≤ 3 bullets -----------------------------------------------------------------------
def _series(record: PatientRecord | None, lesion_id: str) -> tuple[Measurement, ...]:
    if record is None:
        return ()
    for lesion in record.lesions:
        if lesion.id == lesion_id:
            return lesion.measurements
    return ()


Change = tuple[float | None, date | None, float, date | None]


def _change(assessment: Assessment, record: PatientRecord | None,
            lesion_id: str) -> Change | None:
    """(from mm, from date, to mm, to date) of a lesion: its nadir (RANO-BM) or first scan, and
    its latest scan on or before the assessment date; dates None without the record."""
    on = assessment.assessment_date
    series = [m for m in _series(record, lesion_id) if m.date <= on]
    response = next((r for r in assessment.rano_bm.lesions if r.lesion == lesion_id), None)
    if series:
        last = series[-1]
        before = series[:-1]
        start = None
        if response is not None and response.nadir_mm is not None:
            start = next((m for m in reversed(before) if abs(m.longest_diameter_mm
                                                              - response.nadir_mm)
                          <= DIAMETER_TOLERANCE_MM), None)
        start = start or (before[0] if before else None)
        return (start.longest_diameter_mm if start else None, start.date if start else None,
                last.longest_diameter_mm, last.date)
    if response is not None and response.current_mm is not None:
        return (response.nadir_mm, None, response.current_mm, None)
    return None


def _day(value: date | None) -> str:
    return f" ({value.isoformat()})" if value else ""


def lesion_line(assessment: Assessment, record: PatientRecord | None) -> str:
    """"lesion-A 10 mm (2023-06-01) → 18 mm (2024-02-01)"; shared dates said once."""
    new = set(assessment.rano_bm.new_lesions)
    changes = []
    for lesion in assessment.situation.progressing_lesions:
        change = _change(assessment, record, lesion)
        if change is not None:
            changes.append((lesion, *change))
    if not changes:
        return ""
    shown = changes[:LESIONS_SHOWN]
    spans = {(c[2], c[4]) for c in shown}
    same_dates = len(shown) > 1 and len(spans) == 1
    parts = []
    for lesion, a, da, b, db in shown:
        name = lesion_md(lesion) + (" (new)" if lesion in new else "")
        if a is None:
            parts.append(f"{name} {num(b)} mm" + ("" if same_dates else _day(db)))
        elif same_dates:
            parts.append(f"{name} {num(a)} → {num(b)} mm")
        else:
            parts.append(f"{name} {num(a)} mm{_day(da)} → {num(b)} mm{_day(db)}")
    text = ", ".join(parts)
    if same_dates:
        da, db = next(iter(spans))
        text += f" ({da.isoformat()} → {db.isoformat()})" if da and db else _day(db)
    if len(changes) > LESIONS_SHOWN:
        text += f", and {len(changes) - LESIONS_SHOWN} more"
    return "Growing: " + text


def status_line(assessment: Assessment, record: PatientRecord | None) -> str:
    rano = assessment.rano_bm
    if rano.category is None:
        reason = rano.reasons[0].removeprefix("not assessable: ") if rano.reasons else ""
        text = "RANO-BM not assessable" + (f": {md(reason)}" if reason else "")
    else:
        text = f"RANO-BM **{md(rano.category)}**"
        deterioration = next((r for r in rano.reasons
                              if r.startswith("clinical deterioration")), None)
        if rano.category == RanoCategory.PD and deterioration and not any(
                r.startswith(("SLD ", "new lesion", "unequivocal")) for r in rano.reasons):
            text += f": {md(deterioration)}"  # PD by the clinical criterion alone
        elif rano.new_lesions:  # new lesions decide PD whatever the sum does
            count = len(rano.new_lesions)
            text += f": {count} new lesion{'s' if count > 1 else ''} since the last local therapy"
        elif rano.nadir_sld_mm is not None and rano.current_sld_mm is not None:
            text += (f": sum of diameters {num(rano.nadir_sld_mm)} mm (nadir) → "
                     f"{num(rano.current_sld_mm)} mm")
        elif rano.reasons:
            text += f": {md(rano.reasons[0])}"
    statuses = [s for s in (record.disease_statuses if record else ())
                if s.date is None or s.date <= assessment.assessment_date]
    if statuses:
        last = statuses[-1]
        text += f"; disease status {md(last.trend.value)}{_day(last.date)}"
    return text


def first_steps_line(assessment: Assessment) -> str:
    """What comes before any option (a work-up with stable imaging, a confirming MRI under
    immunotherapy): said right after the headline, once."""
    steps = [f"{md(step.text)}" for step in assessment.first_steps]
    return f"**First:** {' '.join(steps)}" if steps else ""


# evidence the status line already says (RANO-BM, the latest disease status)
SAID_ON_THE_STATUS_LINE = ("RANO-BM", "disease status")
FHIR_REFERENCE = re.compile(r" \((?:[A-Z][A-Za-z]+/[^)\s]+(?:, )?)+\)")  # " (Observation/x)"


def evidence_lines(assessment: Assessment, record: PatientRecord | None) -> list[str]:
    lines = [lesion_line(assessment, record), status_line(assessment, record)]
    if not lines[0]:  # no measured progressing lesion: the model's own evidence says why
        lines[0] = next((md(FHIR_REFERENCE.sub("", e)) for e in assessment.situation.evidence
                         if not e.startswith(SAID_ON_THE_STATUS_LINE)), "")
    if assessment.situation.symptomatic:
        lines.append("Neurological symptoms on record")
    return [line for line in lines if line][:3]


# --- options: one line each ----------------------------------------------------------------------
def _range(regimens: Sequence[Regimen]) -> str:
    """Same fraction count: "20–24 Gy × 1" / "25–35 Gy in 5 fractions"; else the first regimen."""
    doses = sorted({r.total_dose_gy for r in regimens})
    n = regimens[0].fractions
    if len(doses) == 1:
        return regimen_text(doses[0], n)
    span = f"{num(doses[0])}–{num(doses[-1])} Gy"
    return f"{span} × 1" if n == 1 else f"{span} in {n} fractions"


def regimens_text(regimens: Sequence[Regimen]) -> str:
    """The first regimen (the one a prescription carries) and the others by fraction count:
    "30 Gy in 5 × 6 Gy; also 3 × 7–9 Gy, 5 × 5–7 Gy"."""
    if len({r.fractions for r in regimens}) == 1:
        text = _range(regimens)
        if len({r.note for r in regimens}) > 1 and not regimens[0].lesion:
            text += " by lesion diameter (Table 1)"
        return text
    first, others = regimens[0], regimens[1:]
    by_fractions: dict[int, list[float]] = {}
    for r in others:
        by_fractions.setdefault(r.fractions, []).append(r.dose_per_fraction_gy)
    alternatives = []
    for n, per in by_fractions.items():
        lo, hi = min(per), max(per)
        dose = f"{num(lo, 2)} Gy" if lo == hi else f"{num(lo, 2)}–{num(hi, 2)} Gy"
        alternatives.append(f"{n} × {dose}")
    return f"{regimen_text(first.total_dose_gy, first.fractions)}; also {', '.join(alternatives)}"


def option_regimens(option: Option) -> str:
    """Per lesion (lesions with the same regimens grouped): "lesion-A: 20–24 Gy × 1"."""
    if not option.regimens:
        return lesion_names(option.lesions)
    by_lesion: dict[str | None, list[Regimen]] = {}
    for regimen in option.regimens:
        by_lesion.setdefault(regimen.lesion, []).append(regimen)
    by_text: dict[str, list[str]] = {}
    for lesion, regimens in by_lesion.items():
        names = [lesion] if lesion else list(option.lesions)
        by_text.setdefault(regimens_text(regimens), []).extend(names)
    return "; ".join(f"{lesion_names(names)}: {text}" if names else text
                     for text, names in by_text.items())


def lesion_names(lesions: Sequence[str]) -> str:
    """"lesion-A, lesion-B", or "each of the 5 lesions" beyond three (named above)."""
    if len(lesions) > 3:
        return f"each of the {len(lesions)} lesions"
    return ", ".join(lesion_md(x) for x in lesions)


def _split_notes(notes: Sequence[str | None]) -> tuple[list[str], list[list[str]]]:
    """Clauses ("; "-separated) every note shares — said once — and each note's own clauses."""
    parts = [[p.strip() for p in (n or "").split(";") if p.strip()] for n in notes]
    shared = [p for p in parts[0] if all(p in other for other in parts)] if parts else []
    if len(parts) < 2:
        shared = []
    return shared, [[p for p in own if p not in shared] for own in parts]


def systemic_text(assessment: Assessment) -> str:
    """The three best-supported regimens for this subtype and situation (the model lists the
    subtype's own regimens first, then those for any subtype; investigational ones never), each
    with its reference numbers; a note every regimen shares is said once."""
    regimens = list(assessment.systemic_regimens)
    if not regimens:
        return ""
    shared, own = _split_notes([r.note for r in regimens])
    candidates = [(r, o) for r, o in zip(regimens, own, strict=True) if not r.investigational]
    items = []
    for regimen, notes in candidates[:SYSTEMIC_SHOWN]:
        text = f"{md(regimen.title)} {ref_numbers(regimen.references)}".rstrip()
        if notes:
            text += f" ({md('; '.join(notes))})"
        items.append(text)
    text = "; ".join(items)
    rest = len(regimens) - len(items)
    if rest:
        text += f"; {rest} more in the full plan"
    if shared:
        text = f"{md('; '.join(shared))} — {text}"
    return text


def option_name(option: Option) -> str:
    """The short name ("FSRT", "Surgery"); the full title is in the SMART plan."""
    short = codes.OPTION_SHORT.get(option.code)
    return short[0].upper() + short[1:] if short else md(option.title)


def option_line(index: int, option: Option, assessment: Assessment) -> str:
    flags = [f for f, on in (("selected patients only", option.selected_patients_only),
                             ("re-irradiation", option.reirradiation)) if on]
    head = f"{index}. **{option_name(option)}**" + (f" ({', '.join(flags)})" if flags else "")
    if option.code == OptionCode.SYSTEMIC:
        body = systemic_text(assessment)
        line = f"{head}: {body}" if body else f"{head} {ref_numbers(option.references)}".rstrip()
        return line + (f". {md(option.note)}" if option.note else "")
    body = option_regimens(option)
    refs = ref_numbers(option.references)
    line = f"{head}" + (f": {body}" if body else "") + (f" {refs}" if refs else "")
    not_orderable = option_not_orderable(option.code)  # issue 20: unconfirmed code, said here
    return line + (f" ({md(not_orderable)})" if not_orderable else "")


def options_block(assessment: Assessment) -> str:
    options = ranked(assessment.options)
    lines = [option_line(i, o, assessment) for i, o in enumerate(options, start=1)]
    if assessment.systemic_regimens and not any(o.code == OptionCode.SYSTEMIC for o in options):
        lines.append(f"- Systemic regimens for this subtype: {systemic_text(assessment)}")
    return "**Options (ranked)**\n\n" + "\n".join(lines) if lines else ""


# --- warnings, patient, missing, footer ----------------------------------------------------------
def warning_lines(assessment: Assessment) -> list[str]:
    """One line per warning: a warning with its own card is only named (its card says it); the
    others carry the model's message. `missing-data` is the "Missing" block below."""
    seen: set[str] = set()
    lines = []
    with_cards = []
    for warning in assessment.warnings:
        if warning.code in seen or warning.code in SAID_ELSEWHERE:
            continue
        seen.add(warning.code)
        name = codes.SALVAGE_WARNINGS.get(warning.code, md(warning.code))
        if warning.code in codes.WARNING_CARD_CODES:
            with_cards.append(f"**{name}**")
        else:
            refs = ref_numbers(warning.references)
            lines.append(f"⚠ **{name}**: {md(warning.message)} {refs}".rstrip())
    if with_cards:  # named once, together: each says itself on its own card
        lines.insert(0, f"⚠ {'; '.join(with_cards)} (own cards)")
    return lines


def _performance(assessment: Assessment) -> str:
    return assessment.performance_status.summary() or f"KPS/ECOG {NOT_ON_RECORD}"


def patient_line(assessment: Assessment) -> str:
    subtype = assessment.subtype
    name = SUBTYPE_LABELS.get(subtype.code, md(subtype.code))
    receptors = ", ".join(f"{marker}{RECEPTOR_SIGNS.get(value, ' ' + md(value))}"
                          for marker, value in (("HER2", subtype.her2), ("ER", subtype.er),
                                                ("PR", subtype.pr)))
    return f"**Patient:** {name} ({receptors}), {_performance(assessment)}"


RECEPTOR_SIGNS = {"positive": "+", "negative": "−"}  # equivocal / unknown are said in words


# the card's compact prefix of a factor whose value does not name it ("age: 56 years")
GPA_FACTOR_PREFIXES: dict[str, str] = {GpaFactorName.AGE: "age",
                                       GpaFactorName.EXTRACRANIAL_METASTASES: "extracranial"}


def gpa_factor(name: str, value: str | None) -> str:
    label = GPA_FACTOR_PREFIXES.get(name)
    if value is None:
        return f"{md(name.replace('_', ' '))} missing"
    return f"{label}: {md(value)}" if label else md(value)


def _said_by_factors(note: str, factors: Sequence[str]) -> bool:
    """A GPA note that only repeats a factor already shown ("extracranial metastases: none
    recorded" next to "extracranial: absent (none recorded)")."""
    head = note.split(":")[0].split("(")[0].strip().lower()
    return any(head.startswith(label) for label in ("extracranial", "ecog stands in")) and any(
        head.split()[0] in f.lower() for f in factors)


def gpa_line(assessment: Assessment) -> str:
    gpa = assessment.gpa
    refs = ref_numbers(gpa.references or (57,))
    if gpa.score is None:  # the missing factor is named once, in the missing block below
        return f"**Breast GPA** not computable: a factor is missing (below) {refs}"
    text = f"**Breast GPA {num(gpa.score)}**"
    if gpa.median_survival_months is not None:
        text += f" → median {num(gpa.median_survival_months)} months"
    elif gpa.median_withheld:
        text += " → median survival not given"
    # the subtype is on the patient line just above: not said twice
    factors = [gpa_factor(f.name, f.value) for f in gpa.factors
               if f.name != GpaFactorName.SUBTYPE or f.value is None]
    notes = [md(n) for n in gpa.notes if not _said_by_factors(n, factors)]
    if gpa.ecog_stand_in and not any("ECOG" in n for n in gpa.notes):
        notes.append("the KPS band was taken from ECOG")
    text += f" {refs}"
    if factors:
        text += f" ({'; '.join(factors)})"
    if notes:
        text += f"; {'; '.join(notes)}"
    return text


def missing_block(assessment: Assessment, unavailable: Sequence[str], notes: Sequence[str],
                  skipped: Sequence[SkippedResource]) -> str:
    items = [md(m) for m in assessment.missing_data]
    items += [f"Could not be obtained — {md(m)}" for m in unavailable]
    items += [f"Partial data — {md(n)}" for n in notes]
    items += [f"Not used — {md(s.reference)}: {md(s.reason)}" for s in skipped[:SKIPPED_SHOWN]]
    if len(skipped) > SKIPPED_SHOWN:
        items.append(f"… and {len(skipped) - SKIPPED_SHOWN} more records not used")
    if not items:
        return ""
    return "**Missing or not obtained** (nothing was assumed in its place):\n\n" + bullets(items)


def footer() -> str:
    return (f"Rationale, every regimen, references: **Full salvage plan** (below). "
            f"[doi:{codes.REVIEW_DOI}]({codes.REVIEW_URL})")


def beyond_review_block(assessment: Assessment, extra_lines: Sequence[str] = ()) -> str:
    """Guideline points beyond the review, each with its source, under their own heading: never
    mixed with the review's options or warnings (issue 13, item 8)."""
    return _block(BEYOND_REVIEW_TITLE, [*beyond_review_lines(assessment), *extra_lines])


def _block(title: str, lines: Sequence[str]) -> str:
    lines = [line for line in lines if line]
    return f"**{title}**\n\n" + bullets(lines) if lines else ""


def detail(assessment: Assessment, *, record: PatientRecord | None = None,
           unavailable: Sequence[str] = (), notes: Sequence[str] = (),
           skipped: Sequence[SkippedResource] = (), extra_lines: Sequence[str] = ()) -> str:
    """The card's markdown. `extra_lines`: already-safe markdown lines "beyond the review"."""
    until = latest_imaging_date(assessment)
    prior = prior_course_lines(record, assessment.situation.progressing_lesions,
                               assessment.assessment_date, until)
    return render(
        "main_detail",
        headline=headline(assessment),
        first_steps=first_steps_line(assessment),
        evidence=bullets(evidence_lines(assessment, record)),
        prior=_block("Prior local therapy", prior),
        options=options_block(assessment),
        warnings=_block("Warnings", warning_lines(assessment)),
        beyond_review=beyond_review_block(assessment, extra_lines),
        patient=patient_line(assessment) + "\n\n" + gpa_line(assessment),
        missing=missing_block(assessment, unavailable, notes, skipped),
        footer=footer(),
    )


# --- suggestions ---------------------------------------------------------------------------------
def recommended_codes(options: Sequence[Option]) -> set[str]:
    out = {o.code for o in options if o.code == OptionCode.TUMOR_BOARD}
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
              hook_instance: str, record: PatientRecord | None = None,
              unavailable: Sequence[str] = (), notes: Sequence[str] = (),
              skipped: Sequence[SkippedResource] = (),
              extra_lines: Sequence[str] = ()) -> dict[str, Any]:
    topic = main_option(assessment.options)
    return card(
        summary=summary(assessment),
        indicator=main_indicator(assessment),
        detail=detail(assessment, record=record, unavailable=unavailable, notes=notes,
                      skipped=skipped, extra_lines=extra_lines),
        source=source(topic.code if topic else OptionCode.TUMOR_BOARD),
        suggestions=suggestions(assessment, ctx),
        selection_behavior="any",
        override_reasons=patient_override_reasons(),
        links=[
            smart_link(public_base_url, assessment_date=assessment.assessment_date.isoformat(),
                       hook_instance=hook_instance),
            review_link(),
        ],
    )
