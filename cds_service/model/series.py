"""Dated series and what was current on a date: the one rule behind `facts.as_of` (CM §10a).

The mapping keeps every dated score, receptor result, steroid order and systemic-therapy order;
the functions here choose, for an assessment date, the entry that was current on it — the latest
recorded or effective on or before the date. Later entries do not exist for that assessment.
Undated entries are kept (they cannot be placed in time) and sort before every dated one. The
mapping uses the same functions for the "latest on record" fields (`PatientRecord.kps`, `.her2`,
`.steroids` …), so the latest reading and the reading as of a date can never follow two rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from cds_service.model.patient import (
    PerformanceScore,
    Receptor,
    ReceptorReading,
    ReceptorStatus,
    SteroidOrder,
    SteroidTrend,
    SteroidUse,
    SystemicTherapy,
)

MISSING_STEROID_TREND = "corticosteroid dose trend"
DOSE_TOLERANCE_MG = 1e-6  # equal doses after unit conversion compare as equal


def on_or_before(day: date | None, on: date) -> bool:
    """Recorded or effective on or before `on`; an undated entry is kept (it cannot be placed)."""
    return day is None or day <= on


def _sort_day(day: date | None) -> date:
    return day or date.min  # undated entries lose to any dated one


# --- Performance status --------------------------------------------------------------------------
def latest_score(scores: Iterable[PerformanceScore], higher_is_better: bool
                 ) -> PerformanceScore | None:
    """The latest score; on the same day the worse one (the cautious reading of a disagreement)."""
    ranked = [(_sort_day(s.when), -s.value if higher_is_better else s.value, s) for s in scores]
    return max(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None


def score_as_of(scores: Sequence[PerformanceScore], on: date, higher_is_better: bool
                ) -> PerformanceScore | None:
    return latest_score((s for s in scores if on_or_before(s.when, on)), higher_is_better)


# --- Receptors -----------------------------------------------------------------------------------
def _reading_day(reading: ReceptorReading) -> date:
    """`_sort_day(reading.when)` in one call (every receptor is re-read on every assessment)."""
    return reading.start or reading.date or date.min


def receptor_from(results: Sequence[ReceptorReading]) -> tuple[Receptor, bool]:
    """(receptor, conflict) from every result of one marker: the latest result; on the same day a
    definitive result beats an equivocal one, and two definitive results that disagree leave the
    status unknown (conflict True). `readings` keeps every definitive result, oldest first."""
    ordered = tuple(sorted(results, key=_reading_day))
    readings = tuple(r for r in ordered if r.status is not ReceptorStatus.EQUIVOCAL)
    if not ordered:
        return Receptor(ReceptorStatus.UNKNOWN, results=ordered), False
    last_day = _reading_day(ordered[-1])
    same_day = [r for r in ordered if _reading_day(r) == last_day]
    winners = [r for r in same_day if r.status is not ReceptorStatus.EQUIVOCAL] or same_day
    outcomes = {r.status for r in winners}
    conflict = len(outcomes) > 1
    status = ReceptorStatus.UNKNOWN if conflict else next(iter(outcomes))
    sources = tuple(dict.fromkeys(r.source for r in winners if r.source))
    return Receptor(status, winners[0].date, sources, readings, ordered), conflict


def receptor_as_of(receptor: Receptor, on: date) -> Receptor:
    """The receptor as its results stood on `on`. A receptor built without `results` (hand-made
    records) keeps its status; only its readings are cut."""
    if not receptor.results:
        return replace(receptor, readings=tuple(r for r in receptor.readings
                                                if on_or_before(r.when, on)))
    return receptor_from([r for r in receptor.results if on_or_before(r.when, on)])[0]


# --- Corticosteroids -----------------------------------------------------------------------------
def _trend(latest: SteroidOrder, previous: SteroidOrder | None) -> SteroidTrend:
    if previous is None or latest.dex_mg is None or previous.dex_mg is None:
        return SteroidTrend.UNKNOWN
    if latest.per is None or latest.per != previous.per:
        return SteroidTrend.UNKNOWN
    if abs(latest.dex_mg - previous.dex_mg) <= DOSE_TOLERANCE_MG:
        return SteroidTrend.STABLE
    return SteroidTrend.INCREASED if latest.dex_mg > previous.dex_mg else SteroidTrend.DECREASED


def _order_key(order: SteroidOrder) -> tuple[date, str]:
    return _sort_day(order.when), order.source


def steroid_use(orders: Iterable[SteroidOrder]) -> SteroidUse:
    """The latest active systemic steroid order compared with the order dated just before it
    (whatever its status: a dose change usually stops the old order). NONE when none is active;
    UNKNOWN when a dose or the earlier order is missing (one order alone tells no trend)."""
    ordered = sorted(orders, key=_order_key)
    active = [o for o in ordered if o.active]
    if not active:
        return SteroidUse(SteroidTrend.NONE, False, orders=tuple(ordered))
    latest = active[-1]
    earlier = [o for o in ordered if o is not latest and _order_key(o) <= _order_key(latest)]
    previous = earlier[-1] if earlier else None
    sources = tuple(o.source for o in (previous, latest) if o is not None)
    return SteroidUse(_trend(latest, previous), True, sources, tuple(ordered))


def steroids_as_of(steroids: SteroidUse, on: date) -> SteroidUse:
    """The steroid use on `on`, from the orders on or before it. Today's order statuses describe
    today: when later orders exist, an order that is no longer active may still have been in effect
    on `on`, so it counts as in effect unless its own end date lies before `on` (never read a
    stopped order as "no steroids" on a date it may have covered). Without orders (hand-made
    records) the use is kept."""
    if not steroids.orders:
        return steroids
    kept = [o for o in steroids.orders if on_or_before(o.when, on)]
    if len(kept) < len(steroids.orders):
        kept = [o if o.active else replace(o, active=o.end is None or o.end >= on) for o in kept]
    return steroid_use(kept)


# --- Systemic therapy ----------------------------------------------------------------------------
def current_systemic(orders: Iterable[SystemicTherapy]) -> tuple[SystemicTherapy, ...]:
    """One entry per drug: its most recent active order (undated orders first)."""
    latest: dict[str, SystemicTherapy] = {}
    for order in sorted(orders, key=lambda t: (_sort_day(t.start), t.source)):
        latest[order.drug] = order
    return tuple(sorted(latest.values(), key=lambda t: (t.therapy_class.value, t.drug)))


def systemic_as_of(current: tuple[SystemicTherapy, ...], orders: tuple[SystemicTherapy, ...],
                   on: date) -> tuple[SystemicTherapy, ...]:
    """The drugs in use on `on`: the latest order of each drug on or before it. Without the
    order series (hand-made records) the current entries are filtered by their start."""
    if not orders:
        return tuple(t for t in current if on_or_before(t.start, on))
    return current_systemic(t for t in orders if on_or_before(t.start, on))

