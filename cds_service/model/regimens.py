"""Dose regimens (review Table 1 and §2; clinical-model §5).

SRS dose follows each lesion's own maximum diameter (its latest measurement):
<= 2.0 cm: 20-24 Gy; 2.1-3.0 cm: 18 Gy; 3.1-4.0 cm: 15 Gy; > 4.0 cm: SRS not suitable.
Every boundary is inclusive on the upper side and exact (2.0 cm -> 20-24 Gy, 2.1 cm -> 18 Gy,
3.0 -> 18, 3.1 -> 15, 4.0 -> 15, 4.1 -> none). A diameter inside a gap of the table (2.05 cm)
takes the next band's lower dose. A range gives one regimen per end (20 and 24 Gy).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from cds_service.model.assessment import Regimen
from cds_service.model.constants import (
    FSRT_3_FRACTION_RANGE,
    FSRT_5_FRACTION_RANGE,
    FSRT_FIGURE_1_REGIMEN,
    RE_WBRT_REGIMEN,
    SRS_DOSE_TABLE,
    SRS_FRACTIONS,
    SRS_MAX_DIAMETER_MM,
    WBRT_REGIMENS,
)
from cds_service.model.facts import cm_text


def srs_doses_for_diameter(diameter_mm: Decimal) -> tuple[float, ...] | None:
    """Table 1 single-fraction doses (Gy) for a lesion of this maximum diameter; None if > 4 cm."""
    for upper_mm, doses in SRS_DOSE_TABLE:
        if diameter_mm <= upper_mm:
            return doses
    return None


def srs_max_dose_for_diameter(diameter_mm: Decimal) -> float | None:
    doses = srs_doses_for_diameter(diameter_mm)
    return max(doses) if doses else None


def srs_suitable(diameter_mm: Decimal) -> bool:
    return diameter_mm <= SRS_MAX_DIAMETER_MM


@dataclass(frozen=True)
class SrsPlan:
    regimens: tuple[Regimen, ...]
    lesions: tuple[str, ...]  # lesions dosed (<= 4 cm)
    too_large: tuple[tuple[str, Decimal], ...]  # lesions > 4 cm: SRS not suitable
    unknown_size: tuple[str, ...]  # lesions without a diameter on record


@cache  # constants of Table 1 / §4: built once, shared (a tuple of frozen values)
def srs_table_regimens() -> tuple[Regimen, ...]:
    """The whole table, not mapped to a lesion (when no diameter is known)."""
    out = []
    previous = Decimal(0)
    for upper_mm, doses in SRS_DOSE_TABLE:
        band = (f"max diameter <= {cm_text(upper_mm)}" if previous == 0
                else f"max diameter > {cm_text(previous)} to {cm_text(upper_mm)}")
        out += [Regimen(total_dose_gy=d, fractions=SRS_FRACTIONS, note=band) for d in doses]
        previous = upper_mm
    return tuple(out)


def srs_plan(diameters: dict[str, Decimal | None]) -> SrsPlan:
    """One SRS dose (or range) per lesion, each from its own diameter; the whole table when a
    diameter is unknown or no lesion is identified."""
    regimens: list[Regimen] = []
    dosed, too_large, unknown = [], [], []
    for lesion, diameter in sorted(diameters.items()):
        if diameter is None:
            unknown.append(lesion)
            continue
        doses = srs_doses_for_diameter(diameter)
        if doses is None:
            too_large.append((lesion, diameter))
            continue
        dosed.append(lesion)
        regimens += [Regimen(total_dose_gy=d, fractions=SRS_FRACTIONS, lesion=lesion,
                             note=f"max diameter {cm_text(diameter)}") for d in doses]
    if unknown or not diameters:  # no diameter: the whole table, not mapped to a lesion
        regimens += list(srs_table_regimens())
    return SrsPlan(tuple(regimens), tuple(dosed), tuple(too_large), tuple(unknown))


@cache  # constants of Table 1 / §4: built once, shared (a tuple of frozen values)
def fsrt_regimens() -> tuple[Regimen, ...]:
    """5 x 6 Gy (review Figure 1) first, then the ends of 3 x 7-9 Gy and 5 x 5-7 Gy."""
    total, fractions = FSRT_FIGURE_1_REGIMEN
    out = [Regimen(total, fractions, note="review Figure 1: 5 x 6 Gy")]
    for label, bounds in (("3 x 7-9 Gy", FSRT_3_FRACTION_RANGE),
                          ("5 x 5-7 Gy", FSRT_5_FRACTION_RANGE)):
        out += [Regimen(t, f, note=label) for t, f in bounds]
    return tuple(out)


@cache  # constants of Table 1 / §4: built once, shared (a tuple of frozen values)
def wbrt_regimens() -> tuple[Regimen, ...]:
    return tuple(Regimen(t, f, note=f"{f} x {t / f:g} Gy") for t, f in WBRT_REGIMENS)


@cache  # constants of Table 1 / §4: built once, shared (a tuple of frozen values)
def re_wbrt_regimens() -> tuple[Regimen, ...]:
    total, fractions = RE_WBRT_REGIMEN
    return (Regimen(total, fractions, note=f"{fractions} x {total / fractions:g} Gy, "
                                           "more conservative than the first course"),)
