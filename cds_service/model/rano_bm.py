"""RANO-BM response from the lesion series (clinical-model §6, review Table 2, Lin 2015 [17]).

Definitions used (docs/clinical-model.md, "RANO-BM"):
- baseline = the first scan (measurement date) after the last local therapy; when no local therapy
  is on record, the first scan on record;
- new lesion = first seen after the last local therapy and never inside a treated volume;
- targets = the largest measurable (>= 10 mm) non-new lesions measured at baseline, at most 5;
  every other non-new lesion measured after the last local therapy is a non-target;
- SLD of a scan = sum of the targets' longest diameters, computed only when every target was
  measured on that scan (an incomplete scan is named, never filled in);
- nadir = smallest SLD from baseline to the current scan, baseline included;
- PD = SLD >= 20 % above nadir AND one target grown >= 5 mm over its own smallest measurement;
  or a new lesion; or unequivocal non-target progression; or clinical deterioration (neurological
  symptoms dated after the last local therapy). A steroid increase alone is not PD.
All comparisons are exact (diameters as decimals rounded to 0.01 mm): 20.0 % is PD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cds_service.model.assessment import LesionResponse, RanoBm
from cds_service.model.constants import DEFAULT_CONFIG, RANO_CONFIRMATION_DAYS, ModelConfig
from cds_service.model.facts import (
    as_float,
    first_seen,
    is_new_lesion,
    measurements_after,
    mm,
    reference_date,
)
from cds_service.model.patient import Lesion, PatientRecord, SteroidTrend

PD, PR, SD, CR = "PD", "PR", "SD", "CR"


@dataclass(frozen=True)
class _Series:
    lesion: Lesion
    sizes: dict[date, Decimal]  # measurement date -> diameter, from baseline on

    def smallest(self, until: date) -> Decimal | None:
        values = [v for d, v in self.sizes.items() if d <= until]
        return min(values) if values else None

    def last(self, until: date) -> tuple[date, Decimal] | None:
        dated = sorted((d, v) for d, v in self.sizes.items() if d <= until)
        return dated[-1] if dated else None


def _pct(part: Decimal, whole: Decimal) -> str:
    return f"{(part / whole * 100).quantize(Decimal('0.1'))} %"


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f} mm"


def _series_after(lesion: Lesion, after: date | None) -> dict[date, Decimal]:
    sizes: dict[date, Decimal] = {}
    for m in measurements_after(lesion, after):
        sizes[m.date] = mm(m.longest_diameter_mm)  # the later entry of a duplicated date wins
    return sizes


def _clinical_deterioration(record: PatientRecord, after: date | None) -> tuple[str, ...]:
    if after is None:
        return ()
    return tuple(f"{s.display} on {s.date.isoformat()}" for s in record.symptoms
                 if s.date is not None and s.date > after)


def _steroid_reason(record: PatientRecord) -> str | None:
    trend = record.steroids.trend
    if trend is SteroidTrend.INCREASED:
        return "corticosteroid dose increased: not PD on its own (RANO-BM), but excludes PR/CR"
    if trend is SteroidTrend.UNKNOWN:
        return "corticosteroids in use with an unknown dose trend: PR/CR cannot be confirmed"
    return None


def assess_rano_bm(record: PatientRecord, config: ModelConfig = DEFAULT_CONFIG) -> RanoBm:
    """RANO-BM category of `record` (already cut to the assessment date by `facts.as_of`)."""
    after = reference_date(record)
    since = f"after the last local therapy ({after.isoformat()})" if after else "on record"
    series = {lesion.id: _Series(lesion, _series_after(lesion, after)) for lesion in record.lesions}
    series = {lid: s for lid, s in series.items() if s.sizes}
    if not series:
        return RanoBm(category=None, reasons=(
            f"not assessable: no lesion measurements {since}",))

    baseline = min(d for s in series.values() for d in s.sizes)
    if after is None:
        new_ids = sorted(lid for lid, s in series.items()
                         if (first_seen(s.lesion) or baseline) > baseline)
    else:
        new_ids = sorted(lid for lid, s in series.items() if is_new_lesion(record, s.lesion, after))
    old = {lid: s for lid, s in series.items() if lid not in new_ids}

    measurable_at_baseline = {lid: s.sizes[baseline] for lid, s in old.items()
                              if baseline in s.sizes
                              and s.sizes[baseline] >= config.rano_measurable_min_mm}
    ranked = sorted(measurable_at_baseline, key=lambda lid: (-measurable_at_baseline[lid], lid))
    targets = ranked[:config.rano_max_targets]
    non_targets = sorted(lid for lid in old if lid not in targets)

    reasons: list[str] = [f"baseline = first scan {since}: {baseline.isoformat()}"]
    if len(ranked) > len(targets):
        reasons.append(f"{len(ranked)} measurable lesions: the {len(targets)} largest are targets")

    scan_dates = sorted({d for s in old.values() for d in s.sizes if d >= baseline})
    complete = [d for d in scan_dates if all(d in series[t].sizes for t in targets)]
    sld = {d: sum((series[t].sizes[d] for t in targets), Decimal(0)) for d in complete}
    current_date = complete[-1] if complete else baseline
    latest_scan = max(d for s in series.values() for d in s.sizes)
    missed = [t for t in targets if latest_scan not in series[t].sizes]
    if targets and missed and latest_scan > current_date:
        reasons.append(f"target lesion(s) {', '.join(missed)} not measured on "
                       f"{latest_scan.isoformat()}: current SLD from {current_date.isoformat()}")

    unmeasured = sorted(lesion.id for lesion in record.lesions
                        if lesion.id not in series and lesion.measurements)
    if unmeasured:
        reasons.append(f"lesion(s) {', '.join(unmeasured)} not measured {since}")

    baseline_sld = sld.get(baseline) if targets else None
    current_sld = sld.get(current_date) if targets else None
    nadir_sld = min(v for d, v in sld.items() if d <= current_date) if targets else None

    lesions_out = []
    for lid in targets + non_targets:
        s = series[lid]
        last = s.last(current_date if lid in targets else latest_scan)
        lesions_out.append(LesionResponse(
            lesion=lid,
            baseline_mm=as_float(s.sizes.get(baseline)),
            nadir_mm=as_float(s.smallest(current_date if lid in targets else latest_scan)),
            current_mm=as_float(last[1]) if last else None,
            target=lid in targets,
            measurable=lid in measurable_at_baseline,
        ))

    pd_reasons: list[str] = []
    if targets and current_sld is not None and nadir_sld is not None:
        increase = current_sld - nadir_sld
        rose = current_sld > 0 if nadir_sld == 0 else (
            increase > 0 and increase / nadir_sld >= config.rano_pd_sld_increase)
        grown = []
        for t in targets:
            own_nadir = series[t].smallest(current_date)
            now = series[t].sizes.get(current_date)
            if own_nadir is not None and now is not None \
                    and now - own_nadir >= config.rano_pd_lesion_min_mm:
                grown.append(f"{t} {_fmt(own_nadir)} -> {_fmt(now)}")
        shown = _pct(increase, nadir_sld) if nadir_sld else "from 0"
        if rose and grown:
            pd_reasons.append(f"SLD {_fmt(current_sld)} is {shown} above the nadir "
                              f"{_fmt(nadir_sld)} and a lesion grew >= "
                              f"{_fmt(config.rano_pd_lesion_min_mm)}: {'; '.join(grown)}")
        elif rose:
            reasons.append(f"SLD {shown} above the nadir but no target lesion grew >= "
                           f"{_fmt(config.rano_pd_lesion_min_mm)}: not PD by target lesions")
    if new_ids:
        dated = [f"{lid} (first seen {first_seen(series[lid].lesion).isoformat()})"
                 for lid in new_ids]
        pd_reasons.append(f"new lesion(s) {since}: {', '.join(dated)}")
    for lid in non_targets:
        s = series[lid]
        dated = sorted(s.sizes.items())
        if len(dated) <= 1:  # a change needs two measurements
            continue
        own_nadir = min(v for _, v in dated[:-1])
        now = dated[-1][1]
        growth = now - own_nadir
        if growth >= config.rano_non_target_pd_mm and (
                own_nadir == 0 or growth / own_nadir >= config.rano_non_target_pd_fraction):
            pd_reasons.append(f"unequivocal progression of non-target lesion {lid}: "
                              f"{_fmt(own_nadir)} -> {_fmt(now)}")
    # Clinical deterioration is judged against the previous assessment: a symptom already present
    # at an earlier scan (say, days after SRS, before a year of stable imaging) is not new.
    all_scans = sorted({d for s in series.values() for d in s.sizes})
    since_scan = all_scans[-2] if all_scans[:-1] else baseline  # the scan before the latest
    deterioration = _clinical_deterioration(record, max(since_scan, after) if after else since_scan)
    if deterioration:
        pd_reasons.append("clinical deterioration: " + "; ".join(deterioration))
    steroid_note = _steroid_reason(record)

    def result(category: str | None, extra: list[str]) -> RanoBm:
        return RanoBm(
            category=category,
            baseline_sld_mm=as_float(baseline_sld),
            nadir_sld_mm=as_float(nadir_sld),
            current_sld_mm=as_float(current_sld),
            reasons=tuple(extra + reasons),
            baseline_date=baseline,
            current_date=current_date if targets else latest_scan,
            lesions=tuple(lesions_out),
            new_lesions=tuple(new_ids),
        )

    if pd_reasons:
        if record.steroids.trend is SteroidTrend.INCREASED:
            pd_reasons.append("corticosteroid dose also increased")
        return result(PD, pd_reasons)

    notes: list[str] = []
    if steroid_note:
        notes.append(steroid_note)
    if current_date == baseline and latest_scan == baseline:
        notes.append("only one scan after the last local therapy: no change can be measured yet")
    steroids_free = record.steroids.trend is SteroidTrend.NONE and not record.steroids.active
    steroids_ok = record.steroids.trend in (SteroidTrend.NONE, SteroidTrend.STABLE,
                                            SteroidTrend.DECREASED)

    gone = all(series[lid].sizes[max(series[lid].sizes)] == 0 for lid in old)
    if old and gone and not unmeasured and steroids_free:
        return result(CR, [f"no remaining target or non-target lesion and no steroids: CR "
                           f"(to be confirmed on a scan >= {RANO_CONFIRMATION_DAYS} days later)"]
                      + notes)
    if not targets:
        notes.append(f"no measurable target lesion (>= {_fmt(config.rano_measurable_min_mm)}) "
                     "at baseline: non-target assessment only (non-CR/non-PD)")
        return result(SD, notes)
    assert baseline_sld is not None and current_sld is not None
    decrease = baseline_sld - current_sld
    if baseline_sld > 0 and decrease / baseline_sld >= config.rano_pr_sld_decrease:
        shrink = f"SLD {_pct(decrease, baseline_sld)} below baseline {_fmt(baseline_sld)}"
        if steroids_ok:
            return result(PR, [f"{shrink}: PR (to be confirmed on a scan >= "
                               f"{RANO_CONFIRMATION_DAYS} days later)"] + notes)
        return result(SD, [f"{shrink}, but steroids do not allow PR"] + notes)
    return result(SD, [f"SLD {_fmt(current_sld)}: neither PR (vs baseline "
                       f"{_fmt(baseline_sld)}) nor PD (vs nadir {_fmt(nadir_sld)})"] + notes)
