"""RANO-BM response from the lesion series (clinical-model §6, review Table 2, Lin 2015 [17]).

Definitions used (docs/clinical-model.md, "RANO-BM"):
- each lesion is judged from the last local therapy that covered it (`anchoring.py`); lesions
  judged from the same therapy date form one *cohort* with its own baseline (the first scan after
  that therapy; when no local therapy is on record, the first scan), targets, SLD and nadir;
- new lesion (`anchoring.is_new`): absent on an earlier scan, first measured after the last local
  therapy, covered by no therapy; a lesion on a baseline scan is never new;
- targets = the largest measurable (>= 10 mm) lesions of a cohort at its baseline, at most 5;
  every other lesion of the cohort is a non-target;
- SLD of a scan = sum of the cohort's targets, only on scans where every target was measured (an
  incomplete scan is named, never filled in); nadir = smallest SLD from baseline on;
- PD (any cohort or the patient) = SLD >= 20 % above nadir AND one target grown >= 5 mm over its own
  smallest measurement; or unequivocal non-target progression; or a new lesion (except under immune
  checkpoint therapy, review Table 2: then "to be confirmed"); or clinical deterioration. A steroid
  increase alone is not PD.
- CR when every lesion of every cohort measures 0 and no steroids; PR when every cohort with
  targets shrank >= 30 % from its baseline and steroids allow it; SD otherwise.
All comparisons are exact (diameters as decimals rounded to 0.01 mm): 20.0 % is PD.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cds_service.model.anchoring import Anchor, anchors, first_measured, new_lesions
from cds_service.model.assessment import LesionResponse, RanoBm
from cds_service.model.constants import DEFAULT_CONFIG, RANO_CONFIRMATION_DAYS, ModelConfig
from cds_service.model.facts import as_float, on_immunotherapy, reference_date
from cds_service.model.patient import Lesion, PatientRecord, SteroidTrend
from cds_service.model.vocabulary import RanoCategory

PD, PR, SD, CR = RanoCategory.PD, RanoCategory.PR, RanoCategory.SD, RanoCategory.CR
IMMUNOTHERAPY_NEW_LESION = ("new lesion(s) {lesions} during immune checkpoint therapy: not PD on "
                            "their own (RANO-BM, review Table 2: 'except patients who receive "
                            "immunotherapy') - progression to be confirmed by a repeat MRI")

Sizes = dict[date, Decimal]


def _pct(part: Decimal, whole: Decimal) -> str:
    return f"{(part / whole * 100).quantize(Decimal('0.1'))} %"


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f} mm"


def _since(day: date | None) -> str:
    return f"after the last local therapy ({day.isoformat()})" if day else "on record"


def _series_after(lesion: Lesion, after: date | None) -> Sizes:
    sizes: Sizes = {}
    for m in lesion.measurements:
        if after is None or m.date > after:
            sizes[m.date] = m.diameter  # the later entry of a duplicated date wins
    return sizes


def _smallest(sizes: Sizes, until: date) -> Decimal | None:
    values = [v for d, v in sizes.items() if d <= until]
    return min(values) if values else None


def _last(sizes: Sizes, until: date) -> tuple[date, Decimal] | None:
    dated = sorted((d, v) for d, v in sizes.items() if d <= until)
    return dated[-1] if dated else None


@dataclass
class Cohort:
    """The lesions judged from one therapy date, and their response."""

    anchor_day: date | None
    series: dict[str, Sizes]
    config: ModelConfig
    baseline: date = field(init=False)
    targets: list[str] = field(init=False)
    non_targets: list[str] = field(init=False)
    measurable: set[str] = field(init=False)
    sld: dict[date, Decimal] = field(init=False)
    current_date: date = field(init=False)
    latest_scan: date = field(init=False)
    reasons: list[str] = field(default_factory=list)
    pd_reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        scans = sorted({d for s in self.series.values() for d in s})
        self.baseline, self.latest_scan = scans[0], scans[-1]
        at_baseline = {lid: s[self.baseline] for lid, s in self.series.items()
                       if self.baseline in s and s[self.baseline] >= self.config.rano_measurable_min_mm}
        ranked = sorted(at_baseline, key=lambda lid: (-at_baseline[lid], lid))
        self.measurable = set(at_baseline)
        self.targets = ranked[:self.config.rano_max_targets]
        self.non_targets = sorted(lid for lid in self.series if lid not in self.targets)
        if len(ranked) > len(self.targets):
            self.reasons.append(f"{len(ranked)} measurable lesions: the {len(self.targets)} "
                                "largest are targets")
        complete = [d for d in scans if all(d in self.series[t] for t in self.targets)]
        self.sld = {d: sum((self.series[t][d] for t in self.targets), Decimal(0)) for d in complete}
        self.current_date = complete[-1] if complete else self.baseline
        missed = [t for t in self.targets if self.latest_scan not in self.series[t]]
        if self.targets and missed and self.latest_scan > self.current_date:
            self.reasons.append(f"target lesion(s) {', '.join(missed)} not measured on "
                                f"{self.latest_scan.isoformat()}: current SLD from "
                                f"{self.current_date.isoformat()}")
        self._target_progression()
        self._non_target_progression()

    @property
    def baseline_sld(self) -> Decimal | None:
        return self.sld.get(self.baseline) if self.targets else None

    @property
    def current_sld(self) -> Decimal | None:
        return self.sld.get(self.current_date) if self.targets else None

    @property
    def nadir_sld(self) -> Decimal | None:
        if not self.targets:
            return None
        return min(v for d, v in self.sld.items() if d <= self.current_date)

    def _grown_targets(self) -> list[str]:
        grown = []
        for t in self.targets:
            own_nadir = _smallest(self.series[t], self.current_date)
            now = self.series[t].get(self.current_date)
            if own_nadir is not None and now is not None \
                    and now - own_nadir >= self.config.rano_pd_lesion_min_mm:
                grown.append(f"{t} {_fmt(own_nadir)} -> {_fmt(now)}")
        return grown

    def _target_progression(self) -> None:
        current, nadir = self.current_sld, self.nadir_sld
        if current is None or nadir is None:
            return
        increase = current - nadir
        rose = current > 0 if nadir == 0 else (
            increase > 0 and increase / nadir >= self.config.rano_pd_sld_increase)
        if not rose:
            return
        shown = _pct(increase, nadir) if nadir else "from 0"
        grown = self._grown_targets()
        if grown:
            self.pd_reasons.append(
                f"SLD {_fmt(current)} is {shown} above the nadir {_fmt(nadir)} and a lesion grew "
                f">= {_fmt(self.config.rano_pd_lesion_min_mm)}: {'; '.join(grown)}")
        else:
            self.reasons.append(f"SLD {shown} above the nadir but no target lesion grew >= "
                                f"{_fmt(self.config.rano_pd_lesion_min_mm)}: not PD by target "
                                "lesions")

    def _non_target_progression(self) -> None:
        for lid in self.non_targets:
            dated = sorted(self.series[lid].items())
            if len(dated) <= 1:  # a change needs two measurements
                continue
            own_nadir = min(v for _, v in dated[:-1])
            now = dated[-1][1]
            growth = now - own_nadir
            if growth >= self.config.rano_non_target_pd_mm and (
                    own_nadir == 0 or growth / own_nadir >= self.config.rano_non_target_pd_fraction):
                self.pd_reasons.append(f"unequivocal progression of non-target lesion {lid}: "
                                       f"{_fmt(own_nadir)} -> {_fmt(now)}")

    def all_gone(self) -> bool:
        return all(s[max(s)] == 0 for s in self.series.values())

    def shrank(self) -> Decimal | None:
        """Fraction of the baseline SLD lost, when the cohort has targets."""
        base, now = self.baseline_sld, self.current_sld
        if base is None or now is None or base <= 0:
            return None
        return (base - now) / base

    def rows(self) -> list[LesionResponse]:
        out = []
        for lid in self.targets + self.non_targets:
            sizes = self.series[lid]
            until = self.current_date if lid in self.targets else self.latest_scan
            last = _last(sizes, until)
            out.append(LesionResponse(
                lesion=lid, baseline_mm=as_float(sizes.get(self.baseline)),
                nadir_mm=as_float(_smallest(sizes, until)),
                current_mm=as_float(last[1]) if last else None,
                target=lid in self.targets, measurable=lid in self.measurable,
                anchor_date=self.anchor_day, baseline_date=min(sizes)))
        return out


def _cohorts(record: PatientRecord, by_lesion: dict[str, Anchor], new: tuple[str, ...],
             config: ModelConfig) -> list[Cohort]:
    grouped: dict[date | None, dict[str, Sizes]] = defaultdict(dict)
    for lesion in record.lesions:
        if lesion.id in new:
            continue
        day = by_lesion[lesion.id].day
        sizes = _series_after(lesion, day)
        if sizes:
            grouped[day][lesion.id] = sizes
    return [Cohort(day, series, config)
            for day, series in sorted(grouped.items(), key=lambda kv: (kv[0] is not None,
                                                                       kv[0] or date.min))]


def _clinical_deterioration(record: PatientRecord, since: date | None) -> tuple[str, ...]:
    if since is None:
        return ()
    return tuple(f"{s.display} on {s.date.isoformat()}" for s in record.symptoms
                 if s.date is not None and s.date > since)


def _deterioration_since(record: PatientRecord, after: date | None) -> date | None:
    """Clinical deterioration is judged against the previous assessment: a symptom already present
    at an earlier scan (say, days after SRS, before a year of stable imaging) is not new."""
    scans = sorted({m.date for lesion in record.lesions for m in lesion.measurements
                    if after is None or m.date > after})
    if not scans or after is None:
        return None
    since_scan = scans[-2] if len(scans) > 1 else scans[0]
    return max(since_scan, after)


def _steroid_reason(record: PatientRecord) -> str | None:
    trend = record.steroids.trend
    if trend is SteroidTrend.INCREASED:
        return "corticosteroid dose increased: not PD on its own (RANO-BM), but excludes PR/CR"
    if trend is SteroidTrend.UNKNOWN:
        return "corticosteroids in use with an unknown dose trend: PR/CR cannot be confirmed"
    return None


def _cohort_lines(cohorts: list[Cohort]) -> list[str]:
    if len(cohorts) == 1:
        return [f"baseline = first scan {_since(cohorts[0].anchor_day)}: "
                f"{cohorts[0].baseline.isoformat()}"]
    return [f"lesion(s) {', '.join(sorted(c.series))} judged from the local therapy of "
            f"{c.anchor_day.isoformat() if c.anchor_day else 'no date'}: baseline "
            f"{c.baseline.isoformat()}" for c in cohorts]


def _new_lesion_reason(record: PatientRecord, new: tuple[str, ...], after: date | None) -> str:
    lesions = {x.id: x for x in record.lesions}
    firsts = [(lid, first_measured(lesions[lid])) for lid in new]
    # a new lesion is a measured one (anchoring.is_new)
    assert all(day is not None for _, day in firsts)
    dated = [f"{lid} (first seen {day.isoformat()})" for lid, day in firsts if day is not None]
    return f"new lesion(s) {_since(after)}: {', '.join(dated)}"


def _deciding(cohorts: list[Cohort]) -> Cohort:
    """The cohort whose SLDs are reported: the first progressing one, else the latest with
    targets, else the latest."""
    progressing = [c for c in cohorts if c.pd_reasons]
    with_targets = [c for c in cohorts if c.targets]
    return (progressing or with_targets or cohorts)[-1 if not progressing else 0]


def _response(cohorts: list[Cohort], record: PatientRecord, config: ModelConfig,
              unmeasured: list[str]) -> tuple[str, list[str]]:
    """CR / PR / SD when nothing of PD holds."""
    notes: list[str] = []
    steroid_note = _steroid_reason(record)
    if steroid_note:
        notes.append(steroid_note)
    if all(c.current_date == c.baseline and c.latest_scan == c.baseline for c in cohorts):
        notes.append("only one scan after the last local therapy: no change can be measured yet")
    steroids_free = record.steroids.trend is SteroidTrend.NONE and not record.steroids.active
    steroids_ok = record.steroids.trend in (SteroidTrend.NONE, SteroidTrend.STABLE,
                                            SteroidTrend.DECREASED)
    if all(c.all_gone() for c in cohorts) and not unmeasured and steroids_free:
        return CR, [f"no remaining target or non-target lesion and no steroids: CR (to be "
                    f"confirmed on a scan >= {RANO_CONFIRMATION_DAYS} days later)"] + notes
    with_targets = [c for c in cohorts if c.targets]
    if not with_targets:
        notes.append(f"no measurable target lesion (>= {_fmt(config.rano_measurable_min_mm)}) "
                     "at baseline: non-target assessment only (non-CR/non-PD)")
        return SD, notes
    shown = _deciding(cohorts)
    # a cohort with targets has all three sums
    assert shown.baseline_sld is not None and shown.current_sld is not None
    assert shown.nadir_sld is not None
    shrinks = [c.shrank() for c in with_targets]
    if all(s is not None and s >= config.rano_pr_sld_decrease for s in shrinks):
        shrink = (f"SLD {_pct(shown.baseline_sld - shown.current_sld, shown.baseline_sld)} "
                  f"below baseline {_fmt(shown.baseline_sld)}")
        if steroids_ok:
            return PR, [f"{shrink}: PR (to be confirmed on a scan >= "
                        f"{RANO_CONFIRMATION_DAYS} days later)"] + notes
        return SD, [f"{shrink}, but steroids do not allow PR"] + notes
    return SD, [f"SLD {_fmt(shown.current_sld)}: neither PR (vs baseline "
                f"{_fmt(shown.baseline_sld)}) nor PD (vs nadir {_fmt(shown.nadir_sld)})"] + notes


def assess_rano_bm(record: PatientRecord, config: ModelConfig = DEFAULT_CONFIG,
                   by_lesion: dict[str, Anchor] | None = None) -> RanoBm:
    """RANO-BM category of `record` (already cut to the assessment date by `facts.as_of`);
    `by_lesion`: the lesions' anchors (`anchoring.anchors`) when the caller has them already."""
    after = reference_date(record)
    by_lesion = anchors(record) if by_lesion is None else by_lesion
    new = new_lesions(record, by_lesion)
    cohorts = _cohorts(record, by_lesion, new, config)
    if not cohorts and not new:
        return RanoBm(category=None, reasons=(
            f"not assessable: no lesion measurements {_since(after)}",))

    reasons = _cohort_lines(cohorts) + [r for c in cohorts for r in c.reasons]
    in_cohorts = {lid for c in cohorts for lid in c.series}
    unmeasured = sorted(lesion.id for lesion in record.lesions
                        if lesion.id not in in_cohorts and lesion.id not in new
                        and lesion.measurements)
    if unmeasured:
        reasons.append(f"lesion(s) {', '.join(unmeasured)} not measured after the local therapy "
                       "that covered them")

    pd_reasons = [r for c in cohorts for r in c.pd_reasons]
    confirm: tuple[str, ...] = ()
    if new and on_immunotherapy(record):
        confirm = new
        reasons.insert(0, IMMUNOTHERAPY_NEW_LESION.format(lesions=", ".join(new)))
    elif new:
        pd_reasons.append(_new_lesion_reason(record, new, after))
    deterioration = _clinical_deterioration(record, _deterioration_since(record, after))
    if deterioration:
        pd_reasons.append("clinical deterioration: " + "; ".join(deterioration))

    shown = _deciding(cohorts) if cohorts else None

    def result(category: str | None, extra: list[str]) -> RanoBm:
        return RanoBm(
            category=category,
            baseline_sld_mm=as_float(shown.baseline_sld) if shown else None,
            nadir_sld_mm=as_float(shown.nadir_sld) if shown else None,
            current_sld_mm=as_float(shown.current_sld) if shown else None,
            reasons=tuple(extra + reasons),
            baseline_date=shown.baseline if shown else None,
            current_date=(shown.current_date if shown.targets else shown.latest_scan)
            if shown else None,
            lesions=tuple(row for c in cohorts for row in c.rows()),
            new_lesions=new,
            to_confirm=confirm,
        )

    if pd_reasons:
        if record.steroids.trend is SteroidTrend.INCREASED:
            pd_reasons.append("corticosteroid dose also increased")
        return result(PD, pd_reasons)
    if not cohorts:  # only new lesions under immunotherapy: nothing else measured
        return result(None, ["not assessable beyond the new lesion(s): no other lesion measured "
                             f"{_since(after)}"])
    category, extra = _response(cohorts, record, config, unmeasured)
    return result(category, extra)
