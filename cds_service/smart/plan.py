"""From FHIR data to the plan page's view model: map, assess, and shape for the template.

`build_plan_page` runs the same mapping (`cds_service.mapping.map_patient`) and model
(`cds_service.model.assess.assess`) as the hooks, then turns the typed `Assessment` and
`PatientRecord` into plain view objects: words instead of codes, numbers already formatted, the two
SVG charts, and the tables that carry the same numbers for screen readers and for print. The
template only loops and prints (Jinja2 autoescaping does the HTML escaping; `svg` escapes the SVG).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from markupsafe import Markup

from cards.imaging_age import imaging_age_line, is_outdated
from cds_service.assessment.pipeline import assess_resources
from cds_service.config import ServiceConfig
from cds_service.model import evidence
from cds_service.model.assessment import Assessment, Gpa, Option, RanoBm
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.evidence import REVIEW_CITATION, REVIEW_URL
from cds_service.model.patient import LocalTreatment, PatientRecord, TreatmentKind
from cds_service.model.vocabulary import (
    GPA_FACTOR_LABELS,
    NOT_ON_RECORD,
    RANO_LABELS,
    RANO_NOT_ASSESSABLE,
    SEVERITY_LABELS,
    SEVERITY_ORDER,
    SUBTYPE_LABELS,
    Severity,
)
from cds_service.smart import svg
from cds_service.smart.data import PatientData

TREATMENT_NAMES = {
    TreatmentKind.SURGERY: "Surgery",
    TreatmentKind.SRS: "SRS",
    TreatmentKind.FSRT: "FSRT",
    TreatmentKind.WBRT: "WBRT",
    TreatmentKind.OTHER_RT: "Brain RT",
}

# -- view objects ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Banner:
    name: str
    birth_date: str | None
    gender: str | None
    patient_id: str
    age: int | None


@dataclass(frozen=True)
class RegimenRow:
    dose: str  # "20 Gy"
    fractions: int
    per_fraction: str  # "20 Gy"
    lesion: str | None
    note: str | None


@dataclass(frozen=True)
class OptionView:
    rank: int
    code: str
    title: str
    rationale: str
    references: tuple[int, ...]
    selected_patients_only: bool
    reirradiation: bool
    lesions: tuple[str, ...]
    regimens: tuple[RegimenRow, ...]


@dataclass(frozen=True)
class WarningView:
    severity: str
    severity_label: str
    code: str
    message: str
    references: tuple[int, ...]


@dataclass(frozen=True)
class FactorRow:
    label: str
    value: str
    points: str


@dataclass(frozen=True)
class GpaView:
    score: str | None
    median: str | None
    factors: tuple[FactorRow, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    ecog_stand_in: bool
    references: tuple[int, ...]
    chart: Markup
    chart_phone: Markup  # the narrow layout, shown below 640 px
    bands: tuple[tuple[str, str, bool], ...]  # (score range, median, is this patient's band)


@dataclass(frozen=True)
class RanoLesionRow:
    lesion: str
    baseline: str
    nadir: str
    current: str
    target: bool
    measurable: bool
    progressing: bool


@dataclass(frozen=True)
class SumOfDiameters:
    """The numbers of the RANO-BM table and of the chart's bottom panel: one source for both.
    The model's values when it computed them; otherwise the measured sums drawn in the chart
    (first, smallest, latest), said to be so."""

    baseline: float | None
    nadir: float | None
    current: float | None
    threshold: float | None  # nadir × (1 + the model's PD increase)
    threshold_label: str  # "+20 %"
    from_model: bool


@dataclass(frozen=True)
class RanoView:
    category: str | None
    category_label: str
    baseline: str
    nadir: str
    current: str
    threshold: str  # nadir + the model's PD increase
    threshold_label: str
    from_model: bool
    change_from_nadir: str | None
    baseline_date: str | None
    current_date: str | None
    reasons: tuple[str, ...]
    lesions: tuple[RanoLesionRow, ...]
    new_lesions: tuple[str, ...]


@dataclass(frozen=True)
class MeasurementRow:
    lesion: str
    day: str
    value: str
    source: str


@dataclass(frozen=True)
class SumRow:
    day: str
    total: str
    lesions: int
    at_or_above_threshold: bool


@dataclass(frozen=True)
class TreatmentRow:
    kind: str
    dates: str
    dose: str
    lesions: str
    reirradiation: str
    source: str


@dataclass(frozen=True)
class ReferenceView:
    number: int
    text: str
    url: str | None
    # "doi": the paper itself (https://doi.org/<doi>); "web": the address the review gives;
    # "search": a PubMed search by title, offered when the registry holds no DOI (not the paper).
    link_kind: str | None = None


@dataclass(frozen=True)
class PlanPage:
    banner: Banner | None
    show_banner: bool
    assessment_date: str
    generated_at: str
    fhir_server: str
    situation_code: str
    situation_label: str
    situation_progressive: bool
    imaging_age: str  # "latest imaging 2024-02-01, 29 days old" (the main card's first line)
    imaging_outdated: bool
    imaging_limit_days: int | None
    unread: tuple[str, ...]  # essential data that could not be read (issue 18): said at the top
    evidence: tuple[str, ...]
    progressing_lesions: tuple[str, ...]
    symptomatic: bool
    on_systemic_therapy: bool
    performance: str
    subtype: str
    warnings: tuple[WarningView, ...]
    options: tuple[OptionView, ...]
    systemic_regimens: tuple[tuple[str, str | None, bool, tuple[int, ...]], ...]
    beyond_review: tuple[tuple[str, str], ...]  # (text, source), beyond the review
    gpa: GpaView
    rano: RanoView
    timeline: Markup
    timeline_phone: Markup  # the narrow layout, shown below 640 px
    lesion_count: int
    treatment_count: int
    measurements: tuple[MeasurementRow, ...]
    sums: tuple[SumRow, ...]
    treatments: tuple[TreatmentRow, ...]
    missing: tuple[str, ...]
    skipped: tuple[str, ...]
    notes: tuple[str, ...]
    references: tuple[ReferenceView, ...]
    review_citation: str = REVIEW_CITATION  # (the field `evidence` hides the module here)
    review_url: str = REVIEW_URL


# -- entry point ----------------------------------------------------------------------------------
def build_plan_page(data: PatientData, *, patient_id: str, on: date, fhir_base: str,
                    config: ServiceConfig, need_patient_banner: bool = True) -> PlanPage:
    """The same path to the assessment as the hooks and `/api/assessment`
    (`cds_service.assessment.pipeline`)."""
    result = assess_resources(data.resources(), on=on, config=config, patient_id=patient_id)
    return plan_page(result.record, result.assessment, data, fhir_base=fhir_base,
                     need_patient_banner=need_patient_banner, settings=result.settings)


def sum_of_diameters(rano: RanoBm, sums: tuple[svg.SumPoint, ...],
                     settings: ModelConfig) -> SumOfDiameters:
    increase = float(settings.rano_pd_sld_increase)
    from_model = rano.nadir_sld_mm is not None
    totals = [p.total_mm for p in sums]
    baseline = rano.baseline_sld_mm if from_model else (totals[0] if totals else None)
    nadir = rano.nadir_sld_mm if from_model else (min(totals) if totals else None)
    current = rano.current_sld_mm if from_model else (totals[-1] if totals else None)
    threshold = round(nadir * (1 + increase), 1) if nadir is not None and nadir > 0 else None
    return SumOfDiameters(baseline, nadir, current, threshold, f"+{increase * 100:.0f} %",
                          from_model)


def situation_label(assessment: Assessment, unread: tuple[str, ...]) -> str:
    """Never a negative finding made of missing data: when the data the situation rests on could
    not be read, "no progression" or "never treated" is not said."""
    if unread and not assessment.situation.is_progressive:
        return ("Progression cannot be assessed: the data it rests on could not be read "
                "(see the top of the page)")
    return assessment.situation.label


def plan_page(record: PatientRecord, assessment: Assessment, data: PatientData, *,
              fhir_base: str, need_patient_banner: bool = True,
              settings: ModelConfig = DEFAULT_CONFIG) -> PlanPage:
    rano = assessment.rano_bm
    progressing = set(assessment.situation.progressing_lesions)
    sums = sum_series(record, rano)
    sld = sum_of_diameters(rano, sums, settings)
    unread = data.unread() if record.brain_metastases.present else ()

    lesion_series = tuple(
        svg.LesionSeries(
            lesion_id=lesion.id,
            points=tuple((m.date, m.longest_diameter_mm) for m in lesion.measurements),
            progressing=lesion.id in progressing,
        )
        for lesion in record.lesions if lesion.measurements
    )
    marks = tuple(_mark(t) for t in record.treatments if t.start or t.end)
    timeline_input = svg.TimelineInput(
        lesions=lesion_series,
        treatments=marks,
        sums=sums,
        nadir_mm=sld.nadir,
        progression_mm=sld.threshold,
        progression_label=sld.threshold_label,
        assessment_date=assessment.assessment_date,
        title="Lesion timeline: longest diameter per lesion, sum of diameters, local treatments",
    )
    patient = data.patient or {}
    return PlanPage(
        banner=_banner(patient, record, assessment.assessment_date),
        show_banner=need_patient_banner,
        assessment_date=assessment.assessment_date.isoformat(),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        fhir_server=_host(fhir_base),
        situation_code=assessment.situation.code,
        situation_label=situation_label(assessment, unread),
        situation_progressive=assessment.situation.is_progressive,
        imaging_age=imaging_age_line(assessment),
        imaging_outdated=is_outdated(assessment),
        imaging_limit_days=assessment.imaging.limit_days if assessment.imaging else None,
        unread=unread,
        evidence=tuple(assessment.situation.evidence),
        progressing_lesions=tuple(assessment.situation.progressing_lesions),
        symptomatic=assessment.situation.symptomatic,
        on_systemic_therapy=assessment.situation.on_systemic_therapy,
        performance=_performance(assessment),
        subtype=_subtype(assessment),
        warnings=tuple(_warning(w) for w in _by_severity(assessment.warnings)),
        options=tuple(_option(o) for o in sorted(assessment.options, key=lambda o: o.rank)),
        systemic_regimens=tuple((r.title, r.note, r.investigational, tuple(r.references))
                                for r in assessment.systemic_regimens),
        beyond_review=tuple((b.text, b.source) for b in assessment.beyond_review),
        gpa=_gpa(assessment.gpa),
        rano=_rano(rano, sld, progressing),
        timeline=svg.lesion_timeline_svg(timeline_input),
        timeline_phone=svg.lesion_timeline_svg(timeline_input, phone=True),
        lesion_count=len(lesion_series),
        treatment_count=len(marks),
        measurements=tuple(
            MeasurementRow(lesion.id, m.date.isoformat(), svg.mm(m.longest_diameter_mm), m.source)
            for lesion in record.lesions for m in lesion.measurements
        ),
        sums=tuple(SumRow(p.day.isoformat(), svg.mm(p.total_mm), p.lesions_counted,
                          sld.threshold is not None and p.total_mm >= sld.threshold)
                     for p in sums),
        treatments=tuple(_treatment_row(t) for t in record.treatments),
        missing=tuple(dict.fromkeys((*assessment.missing_data, *data.missing))),
        skipped=tuple(f"{s.reference}: {s.reason}" for s in record.skipped),
        notes=tuple(data.notes),
        references=tuple(reference(n) for n in assessment.references),
    )


# -- pieces ---------------------------------------------------------------------------------------
def sum_series(record: PatientRecord, rano: RanoBm) -> tuple[svg.SumPoint, ...]:
    """Sum of longest diameters per scan date, over RANO-BM target lesions (all lesions when the
    model named no targets)."""
    targets = {r.lesion for r in rano.lesions if r.target}
    by_day: dict[date, list[float]] = defaultdict(list)
    for lesion in record.lesions:
        if targets and lesion.id not in targets:
            continue
        for m in lesion.measurements:
            by_day[m.date].append(m.longest_diameter_mm)
    return tuple(svg.SumPoint(day, round(sum(values), 1), len(values))
                 for day, values in sorted(by_day.items()))


def _gy(cgy: float | None) -> str | None:
    return None if cgy is None else f"{svg._num(cgy / 100)} Gy"


def in_progress_note(t: LocalTreatment) -> str:
    """" (in progress, 1 of 5 fractions)": the dose shown so far is not the course's (CM §10)."""
    if not t.in_progress:
        return ""
    of = f" of {t.planned_fractions}" if t.planned_fractions else ""
    given = f", {t.fractions}{of} fractions" if t.fractions is not None else ""
    return f" (in progress{given})"


def treatment_label(t: LocalTreatment) -> str:
    name = TREATMENT_NAMES.get(t.kind, t.kind.value)
    if t.kind is TreatmentKind.SURGERY:
        return name
    dose = _gy(t.total_dose_cgy)
    if dose and t.fractions:
        return f"{name} {dose}/{t.fractions} fx{in_progress_note(t)}"
    if dose:
        return f"{name} {dose}{in_progress_note(t)}"
    return name + in_progress_note(t)


def _mark(t: LocalTreatment) -> svg.TreatmentMark:
    start = t.start or t.end
    assert start is not None
    end = t.end if t.end and t.end != start else None
    dates = start.isoformat() + (f" to {end.isoformat()}" if end else "")
    lesions = f"; lesions {', '.join(t.lesion_ids)}" if t.lesion_ids else ""
    reirr = "; re-irradiation" if t.reirradiation else ""
    return svg.TreatmentMark(kind=t.kind.value, label=treatment_label(t), start=start, end=end,
                             detail=f"{treatment_label(t)}, {dates}{lesions}{reirr}")


def _treatment_row(t: LocalTreatment) -> TreatmentRow:
    start, end = t.start, t.end
    if start and end and end != start:
        dates = f"{start.isoformat()} to {end.isoformat()}"
    else:
        given = start or end
        dates = given.isoformat() if given else "date unknown"
    dose = "—"
    if t.kind is not TreatmentKind.SURGERY:
        total = _gy(t.total_dose_cgy)
        parts = [p for p in (total, f"{t.fractions} fractions" if t.fractions else None) if p]
        if t.total_dose_cgy is not None and t.fractions:  # (total is None only when the dose is)
            parts.append(f"{svg._num(t.total_dose_cgy / 100 / t.fractions)} Gy per fraction")
        dose = (", ".join(parts) or "dose not recorded") + in_progress_note(t)
    reirradiation = {True: "yes", False: "no", None: "—"}[t.reirradiation]
    return TreatmentRow(kind=TREATMENT_NAMES.get(t.kind, t.kind.value), dates=dates, dose=dose,
                        lesions=", ".join(t.lesion_ids) or "—", reirradiation=reirradiation,
                        source=t.source)


def _banner(patient: dict[str, Any], record: PatientRecord, on: date) -> Banner | None:
    if not patient and record.patient_id is None:
        return None
    return Banner(
        name=_patient_name(patient) or "(no name on record)",
        birth_date=record.birth_date.isoformat() if record.birth_date else None,
        gender=record.gender,
        patient_id=str(patient.get("id") or record.patient_id or ""),
        age=record.age_on(on),
    )


def _patient_name(patient: dict[str, Any]) -> str | None:
    names = patient.get("name")
    if not isinstance(names, list) or not names:
        return None
    chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"),
                  names[0])
    if not isinstance(chosen, dict):
        return None
    if isinstance(chosen.get("text"), str) and chosen["text"].strip():
        return chosen["text"].strip()[:200]
    given = " ".join(g for g in chosen.get("given") or [] if isinstance(g, str))
    family = chosen.get("family") if isinstance(chosen.get("family"), str) else ""
    text = " ".join(p for p in (given, family.upper() if family else "") if p)
    return text[:200] or None


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _performance(assessment: Assessment) -> str:
    return assessment.performance_status.summary() or NOT_ON_RECORD


def _subtype(assessment: Assessment) -> str:
    s = assessment.subtype
    return f"{SUBTYPE_LABELS.get(s.code, s.code)} — HER2 {s.her2}, ER {s.er}, PR {s.pr}"


def _by_severity(warnings: Any) -> list[Any]:
    return sorted(warnings, key=lambda w: SEVERITY_ORDER.get(w.severity, len(SEVERITY_ORDER)))


def _warning(w: Any) -> WarningView:
    return WarningView(severity=w.severity,
                       severity_label=SEVERITY_LABELS.get(w.severity, SEVERITY_LABELS[Severity.INFO]),
                       code=w.code, message=w.message, references=tuple(w.references))


def _option(o: Option) -> OptionView:
    regimens = tuple(
        RegimenRow(dose=f"{svg._num(r.total_dose_gy)} Gy", fractions=r.fractions,
                   per_fraction=f"{svg._num(r.dose_per_fraction_gy)} Gy", lesion=r.lesion,
                   note=r.note)
        for r in o.regimens
    )
    return OptionView(rank=o.rank, code=o.code, title=o.title, rationale=o.rationale,
                      references=tuple(o.references),
                      selected_patients_only=o.selected_patients_only,
                      reirradiation=o.reirradiation, lesions=tuple(o.lesions), regimens=regimens)


def _gpa(gpa: Gpa) -> GpaView:
    current = svg.gpa_band(gpa.score)
    factors = tuple(
        FactorRow(label=GPA_FACTOR_LABELS.get(f.name, f.name.replace("_", " ")),
                  value=f.value if f.value is not None else "missing",
                  points="—" if f.points is None else svg._num(f.points))
        for f in gpa.factors
    )
    return GpaView(
        score=None if gpa.score is None else f"{gpa.score:.1f}",
        median=None if gpa.median_survival_months is None else svg._num(gpa.median_survival_months),
        factors=factors,
        missing=tuple(gpa.missing),
        notes=tuple(gpa.notes),
        ecog_stand_in=gpa.ecog_stand_in,
        references=tuple(gpa.references),
        chart=svg.gpa_bar_svg(gpa.score, gpa.median_survival_months, missing=gpa.missing),
        chart_phone=svg.gpa_bar_svg(gpa.score, gpa.median_survival_months, missing=gpa.missing,
                                    phone=True),
        bands=tuple((f"{b.low:.1f}–{b.high:.1f}", f"{b.median_months:.1f}",
                     b is current) for b in svg.GPA_BANDS),
    )


def _rano(rano: RanoBm, sld: SumOfDiameters, progressing: set[str]) -> RanoView:
    change = None
    if sld.nadir and sld.current is not None:
        pct = (sld.current - sld.nadir) / sld.nadir * 100
        change = f"{pct:+.0f} %"
    return RanoView(
        category=rano.category,
        category_label=RANO_LABELS.get(rano.category or "", RANO_NOT_ASSESSABLE),
        baseline=svg.mm(sld.baseline),
        nadir=svg.mm(sld.nadir),
        current=svg.mm(sld.current),
        threshold=svg.mm(sld.threshold),
        threshold_label=sld.threshold_label,
        from_model=sld.from_model,
        change_from_nadir=change,
        baseline_date=rano.baseline_date.isoformat() if rano.baseline_date else None,
        current_date=rano.current_date.isoformat() if rano.current_date else None,
        reasons=tuple(rano.reasons),
        lesions=tuple(
            RanoLesionRow(lesion=r.lesion, baseline=svg.mm(r.baseline_mm), nadir=svg.mm(r.nadir_mm),
                          current=svg.mm(r.current_mm), target=r.target, measurable=r.measurable,
                          progressing=r.lesion in progressing)
            for r in rano.lesions
        ),
        new_lesions=tuple(rano.new_lesions),
    )


# -- references -----------------------------------------------------------------------------------
def reference(number: int) -> ReferenceView:
    """One reference line (model/evidence.py formats it), with its link when it has one."""
    entry = evidence.REFERENCES.get(number)
    if entry is None:  # never for a number the model cited (`cite` refuses unknown numbers)
        return ReferenceView(number, f"Reference {number} of {evidence.REVIEW_SHORT}.", None)
    url, kind = link(entry) or (None, None)
    return ReferenceView(number, evidence.citation(entry), url, kind)


DOI_RESOLVER = "https://doi.org/"
PUBMED_SEARCH = "https://pubmed.ncbi.nlm.nih.gov/?term="
_DOI_SAFE = "/:;()"  # kept as written in doi.org paths; "<", ">", "#", "?" and spaces are escaped


def link(ref: evidence.Reference) -> tuple[str, str] | None:
    """Where the reference can be read, and what the link is: ("doi", the paper itself), ("web",
    the address the review gives) or ("search", a PubMed search by its title, offered when no DOI
    is on record: a search, not the paper)."""
    if ref.doi:
        doi = ref.doi.removeprefix(DOI_RESOLVER).removeprefix("doi:")
        return DOI_RESOLVER + quote(doi, safe=_DOI_SAFE), "doi"
    if ref.url and ref.url.startswith("https://"):
        return ref.url, "web"
    if ref.title:
        return PUBMED_SEARCH + quote_plus(ref.title), "search"
    return None
