"""Which local therapy each lesion is judged from, and which lesions are new (review §2, Table 2;
Lin 2015 [17]; clinical-model §6, updated 2026-12-01).

- **Anchor.** Each lesion's series is anchored at the last local therapy that covered it — its own
  SRS/FSRT/surgery, or WBRT, which covers every lesion present — not at the patient's last local
  therapy: a later SRS to another lesion must not hide the in-field growth of an earlier-treated
  one (review §2: progressive BCBM "recurred or progressed after" *any form of* local therapy).
- **Covered.** A therapy covers a lesion when it is WBRT, when it names the lesion, or when it
  names no lesion at all (its targets are not on record, so it may have treated this one: the
  safe reading) unless the lesion was absent on a scan taken on or before it (a focal therapy
  treats what its planning MRI shows) — and the lesion may have been present when it was given
  (measured on or before it, or first measured on the first scan after it: not having been
  measured before a therapy is not evidence that a lesion appeared after it).
- **Uncovered.** A lesion no therapy covered is judged from the patient's last local therapy.
- **New.** A lesion is new only when it appears on a scan after an earlier scan on which it was
  absent (a pre-therapy scan of other lesions counts as such a scan), after the patient's last
  local therapy, and no therapy covered it. A lesion on the first scan after a therapy that covers
  it is part of that therapy's baseline, never new.

Every function is pure and total: missing dates give ``None``, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cds_service.model.patient import Lesion, LocalTreatment, PatientRecord, TreatmentKind


@dataclass(frozen=True)
class Anchor:
    """The therapy a lesion is judged from (None: no dated local therapy on record)."""

    lesion: str
    treatment: LocalTreatment | None
    covered: bool  # the therapy covered the lesion (False: the patient's last therapy, by default)

    @property
    def day(self) -> date | None:
        return self.treatment.date if self.treatment else None


def scan_dates(record: PatientRecord) -> tuple[date, ...]:
    """Every day on which any brain lesion was measured, oldest first."""
    return tuple(sorted({m.date for lesion in record.lesions for m in lesion.measurements}))


def first_measured(lesion: Lesion) -> date | None:
    """The earlier of its first-seen date and its first measurement (asked for every lesion
    against every therapy: no list built)."""
    seen = lesion.first_seen
    measured = lesion.measurements[0].date if lesion.measurements else None
    if seen is None or measured is None:
        return seen or measured
    return min(seen, measured)


def _dated(record: PatientRecord) -> list[LocalTreatment]:
    dated = sorted(((t.date, t) for t in record.treatments if t.date is not None), key=lambda d: d[0])
    return [treatment for _, treatment in dated]


def _may_have_been_present(lesion: Lesion, day: date, scans: tuple[date, ...]) -> bool:
    """Measured on or before `day`, or first measured on the first scan after it."""
    first = first_measured(lesion)
    if first is None:
        return False
    if first <= day:
        return True
    return not any(day < scan < first for scan in scans)


def names_the_lesion(treatment: LocalTreatment, lesion: Lesion) -> bool:
    return lesion.id in treatment.lesion_ids


def targets_unknown(treatment: LocalTreatment) -> bool:
    """A focal therapy (surgery, SRS, FSRT, other) that names no lesion."""
    return treatment.kind is not TreatmentKind.WBRT and not treatment.lesion_ids


def covers(treatment: LocalTreatment, lesion: Lesion, scans: tuple[date, ...]) -> bool:
    if treatment.date is None:
        return False
    if treatment.kind is TreatmentKind.WBRT or names_the_lesion(treatment, lesion):
        return _may_have_been_present(lesion, treatment.date, scans)
    if not targets_unknown(treatment):
        return False
    # A focal therapy whose targets are not on record treated what its planning MRI showed: a
    # lesion absent on a scan taken on or before it was not among its targets.
    absent = absent_on_earlier_scan(lesion, scans)
    if absent is not None and absent <= treatment.date:
        return False
    return _may_have_been_present(lesion, treatment.date, scans)


def anchor_of(record: PatientRecord, lesion: Lesion, scans: tuple[date, ...] | None = None,
              dated: list[LocalTreatment] | None = None) -> Anchor:
    """`scans`, `dated`: the record's scan dates and dated therapies, when the caller has them."""
    scans = scan_dates(record) if scans is None else scans
    dated = _dated(record) if dated is None else dated
    covering = [t for t in dated if covers(t, lesion, scans)]
    if covering:
        return Anchor(lesion.id, covering[-1], covered=True)
    return Anchor(lesion.id, dated[-1] if dated else None, covered=False)


def anchors(record: PatientRecord) -> dict[str, Anchor]:
    scans, dated = scan_dates(record), _dated(record)
    return {lesion.id: anchor_of(record, lesion, scans, dated) for lesion in record.lesions}


def absent_on_earlier_scan(lesion: Lesion, scans: tuple[date, ...]) -> date | None:
    """The latest scan before the lesion's first measurement (on which it was absent)."""
    first = first_measured(lesion)
    earlier = [s for s in scans if first is not None and s < first]
    return earlier[-1] if earlier else None


def is_new(record: PatientRecord, lesion: Lesion, anchor: Anchor,
           scans: tuple[date, ...] | None = None) -> bool:
    scans = scan_dates(record) if scans is None else scans
    first = first_measured(lesion)
    last = record.last_local_treatment
    if anchor.covered or first is None or last is None or last.date is None:
        return False
    return first > last.date and absent_on_earlier_scan(lesion, scans) is not None


def new_lesions(record: PatientRecord, by_lesion: dict[str, Anchor] | None = None
                ) -> tuple[str, ...]:
    """The new lesions; `by_lesion`: the anchors when the caller has them already."""
    scans = scan_dates(record)
    by_lesion = anchors(record) if by_lesion is None else by_lesion
    return tuple(sorted(lesion.id for lesion in record.lesions
                        if is_new(record, lesion, by_lesion[lesion.id], scans)))


def grown_since_anchor(record: PatientRecord, min_growth: Decimal,
                       by_lesion: dict[str, Anchor] | None = None
                       ) -> dict[str, tuple[Decimal, Decimal]]:
    """Lesions whose latest diameter exceeds their own smallest diameter measured after the
    therapy that covered them by at least `min_growth` mm: {lesion id: (nadir mm, latest mm)}.
    `by_lesion`: the anchors when the caller has them already."""
    grown: dict[str, tuple[Decimal, Decimal]] = {}
    by_lesion = anchors(record) if by_lesion is None else by_lesion
    for lesion in record.lesions:
        lid, day = lesion.id, by_lesion[lesion.id].day
        series = [m for m in lesion.measurements if day is None or m.date > day]
        if len(series) <= 1:  # a change needs two measurements
            continue
        nadir = min(m.diameter for m in series[:-1])
        latest = series[-1].diameter
        if latest - nadir >= min_growth:
            grown[lid] = (nadir, latest)
    return grown
