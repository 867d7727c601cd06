"""Review Table 1 and §2: every SRS boundary, FSRT/WBRT/re-WBRT schedules, per-lesion dosing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cds_service.model.patient import mm
from cds_service.model.regimens import (
    fsrt_regimens,
    re_wbrt_regimens,
    srs_doses_for_diameter,
    srs_plan,
    srs_table_regimens,
    wbrt_regimens,
)


@pytest.mark.parametrize(("diameter_cm", "doses"), [
    (0.5, (20.0, 24.0)),
    (1.99, (20.0, 24.0)),
    (2.0, (20.0, 24.0)),   # <= 2.0 cm: 20-24 Gy
    (2.01, (18.0,)),       # inside the 2.0-2.1 gap: next band, the lower dose
    (2.1, (18.0,)),        # 2.1-3.0 cm: 18 Gy
    (3.0, (18.0,)),
    (3.01, (15.0,)),
    (3.1, (15.0,)),        # 3.1-4.0 cm: 15 Gy
    (4.0, (15.0,)),
    (4.01, None),          # > 4.0 cm: SRS not suitable
    (4.1, None),
    (6.0, None),
])
def test_srs_dose_by_maximum_diameter(diameter_cm: float, doses: tuple[float, ...] | None) -> None:
    assert srs_doses_for_diameter(mm(diameter_cm * 10)) == doses


def test_boundary_survives_unit_conversion_float_error() -> None:
    # 0.1 * 3 * 10 is 3.0000000000000004 mm... in floating point; the boundary must still hold
    assert srs_doses_for_diameter(mm(0.1 * 3 * 100 / 1.5)) == (20.0, 24.0)  # 20.000000000000004
    assert srs_doses_for_diameter(mm(1.1 * 10 * 2 - 2)) == (20.0, 24.0)


def test_each_lesion_dosed_by_its_own_diameter() -> None:
    plan = srs_plan({"A": Decimal("15"), "B": Decimal("25"), "C": Decimal("35"),
                     "D": Decimal("45"), "E": None})
    by_lesion = {(r.lesion, r.total_dose_gy) for r in plan.regimens if r.lesion}
    assert by_lesion == {("A", 20.0), ("A", 24.0), ("B", 18.0), ("C", 15.0)}
    assert all(r.fractions == 1 for r in plan.regimens)
    assert plan.too_large == (("D", Decimal("45")),)
    assert plan.unknown_size == ("E",)
    # an unknown diameter brings the whole table, not mapped to a lesion
    assert {(r.total_dose_gy, r.lesion) for r in plan.regimens if r.lesion is None} == {
        (20.0, None), (24.0, None), (18.0, None), (15.0, None)}


def test_table_without_lesions_names_the_bands() -> None:
    notes = [r.note for r in srs_table_regimens()]
    assert notes[0] == "max diameter <= 2.0 cm"
    assert "max diameter > 3.0 cm to 4.0 cm" in notes


def test_fsrt_schedules_3_and_5_fractions_and_figure_1() -> None:
    pairs = [(r.total_dose_gy, r.fractions) for r in fsrt_regimens()]
    assert pairs[0] == (30.0, 5)  # Figure 1: 5 x 6 Gy first
    assert set(pairs) == {(30.0, 5), (21.0, 3), (27.0, 3), (25.0, 5), (35.0, 5)}
    assert {r.dose_per_fraction_gy for r in fsrt_regimens()} == {6.0, 7.0, 9.0, 5.0}


def test_wbrt_and_re_wbrt() -> None:
    assert [(r.total_dose_gy, r.fractions) for r in wbrt_regimens()] == [(20.0, 5), (30.0, 10)]
    assert [(r.total_dose_gy, r.fractions) for r in re_wbrt_regimens()] == [(20.0, 10)]
    assert re_wbrt_regimens()[0].dose_per_fraction_gy == 2.0
