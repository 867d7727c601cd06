"""RANO-BM (clinical-model §6, review Table 2, Lin 2015): every category and its boundaries."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cds_service.model.facts import as_of
from cds_service.model.rano_bm import assess_rano_bm
from tests.support.records import ON, d, lesion, record, steroids, symptom, treatment

SRS_DAY = "2023-03-01"


def rano(*lesions, treatments=None, **kw):
    rec = record(lesions=lesions,
                 treatments=(treatment("srs", SRS_DAY, ("A",)),) if treatments is None
                 else treatments, **kw)
    return assess_rano_bm(as_of(rec, ON))


def test_not_assessable_without_measurements_after_the_last_local_therapy() -> None:
    result = rano(lesion("A", ("2023-02-01", 15)))
    assert result.category is None
    assert "no lesion measurements after the last local therapy (2023-03-01)" in result.reasons[0]


def test_sld_exactly_20_percent_over_nadir_with_a_5_mm_lesion_is_pd() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2024-02-01", 20)),
                  lesion("B", ("2023-06-01", 10), ("2024-02-01", 10)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert (result.nadir_sld_mm, result.current_sld_mm) == (25.0, 30.0)
    assert result.category == "PD"
    assert "20.0 % above the nadir" in result.reasons[0]


def test_20_percent_exact_despite_floating_point_centimetres() -> None:
    # 1.1 cm * 10 = 11.000000000000002 mm: a naive float comparison sees 19.999... %
    result = rano(lesion("A", ("2023-06-01", 1.1 * 10), ("2024-02-01", 16)),
                  lesion("B", ("2023-06-01", 14), ("2024-02-01", 14)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert result.category == "PD"


def test_just_under_20_percent_is_not_pd() -> None:
    result = rano(lesion("A", ("2023-06-01", 16), ("2024-02-01", 21)),
                  lesion("B", ("2023-06-01", 10), ("2024-02-01", 10)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert result.current_sld_mm == 31.0  # +19.2 % over 26
    assert result.category == "SD"


def test_20_percent_but_no_lesion_grew_5_mm_is_not_pd() -> None:
    result = rano(lesion("A", ("2023-06-01", 20), ("2024-02-01", 24)),
                  lesion("B", ("2023-06-01", 20), ("2024-02-01", 24)),
                  lesion("C", ("2023-06-01", 10), ("2024-02-01", 12)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B", "C")),))
    assert (result.nadir_sld_mm, result.current_sld_mm) == (50.0, 60.0)
    assert result.category == "SD"
    assert any("no target lesion grew >= 5 mm: not PD" in r for r in result.reasons)


def test_pd_is_measured_against_the_nadir_not_the_baseline() -> None:
    result = rano(lesion("A", ("2023-06-01", 40), ("2023-09-01", 20), ("2024-02-01", 25)))
    assert (result.baseline_sld_mm, result.nadir_sld_mm, result.current_sld_mm) == (40, 20, 25)
    assert result.category == "PD"  # 37.5 % below baseline, yet 25 % above nadir with +5 mm


def test_lesion_growth_is_measured_against_its_own_nadir() -> None:
    # SLD nadir on 2023-09 (A 10 + B 20 = 30); A's own nadir 8 mm (2023-12), B unchanged.
    result = rano(lesion("A", ("2023-06-01", 12), ("2023-09-01", 10), ("2023-12-01", 8),
                         ("2024-02-01", 13)),
                  lesion("B", ("2023-06-01", 30), ("2023-09-01", 20), ("2023-12-01", 24),
                         ("2024-02-01", 24)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert (result.nadir_sld_mm, result.current_sld_mm) == (30.0, 37.0)
    assert result.category == "PD"  # A grew 8 -> 13 mm (5 mm over its own nadir)


def test_new_lesion_is_pd_even_with_stable_targets() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2024-02-01", 15)),
                  lesion("N", ("2024-02-01", 6)))
    assert result.category == "PD"
    assert result.new_lesions == ("N",)
    assert any("new lesion(s)" in r for r in result.reasons)


def test_treated_lesion_first_measured_after_therapy_is_not_new() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2024-02-01", 15)))
    assert result.new_lesions == ()
    assert result.category == "SD"


def test_unequivocal_non_target_progression_is_pd() -> None:
    result = rano(lesion("A", ("2023-06-01", 20), ("2024-02-01", 20)),
                  lesion("B", ("2023-06-01", 8), ("2024-02-01", 14)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert [(x.lesion, x.target, x.measurable) for x in result.lesions] == [
        ("A", True, True), ("B", False, False)]
    assert result.category == "PD"
    assert any("non-target lesion B" in r for r in result.reasons)


def test_clinical_deterioration_alone_is_pd() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2024-02-01", 15)),
                  symptoms=(symptom("2024-01-20", "Hemiparesis"),))
    assert result.category == "PD"
    assert "clinical deterioration: Hemiparesis on 2024-01-20" in result.reasons


def test_symptom_before_the_last_local_therapy_is_not_deterioration() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2024-02-01", 15)),
                  symptoms=(symptom("2023-02-01"),))
    assert result.category == "SD"


def test_steroid_increase_alone_is_not_pd() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2024-02-01", 16)),
                  steroids=steroids("increased"))
    assert result.category == "SD"
    assert any("not PD on its own" in r for r in result.reasons)


def test_partial_response_at_exactly_30_percent() -> None:
    result = rano(lesion("A", ("2023-06-01", 20), ("2024-02-01", 14)),
                  lesion("B", ("2023-06-01", 10), ("2024-02-01", 7)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert (result.baseline_sld_mm, result.current_sld_mm) == (30.0, 21.0)
    assert result.category == "PR"


def test_just_under_30_percent_is_stable_disease() -> None:
    result = rano(lesion("A", ("2023-06-01", 20), ("2024-02-01", 14.1)),
                  lesion("B", ("2023-06-01", 10), ("2024-02-01", 7)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert result.category == "SD"


@pytest.mark.parametrize(("trend", "category"), [
    ("stable", "PR"), ("decreased", "PR"), ("increased", "SD"), ("unknown", "SD")])
def test_partial_response_needs_stable_or_reduced_steroids(trend: str, category: str) -> None:
    result = rano(lesion("A", ("2023-06-01", 20), ("2024-02-01", 10)),
                  steroids=steroids(trend))
    assert result.category == category


def test_complete_response_needs_no_lesion_and_no_steroids() -> None:
    gone = (lesion("A", ("2023-06-01", 12), ("2024-02-01", 0)),)
    assert rano(*gone).category == "CR"
    assert rano(*gone, steroids=steroids("stable")).category == "PR"  # steroids: not CR


def test_at_most_five_targets_the_largest_at_baseline() -> None:
    sizes = {"A": 30, "B": 25, "C": 20, "D": 18, "E": 15, "F": 12, "G": 11}
    lesions = [lesion(k, ("2023-06-01", v), ("2024-02-01", v)) for k, v in sizes.items()]
    result = rano(*lesions, treatments=(treatment("srs", SRS_DAY, tuple(sizes)),))
    assert [x.lesion for x in result.lesions if x.target] == ["A", "B", "C", "D", "E"]
    assert result.baseline_sld_mm == 108.0
    assert any("7 measurable lesions" in r for r in result.reasons)


def test_incomplete_latest_scan_is_named_not_filled_in() -> None:
    result = rano(lesion("A", ("2023-06-01", 15), ("2023-10-01", 15), ("2024-02-01", 30)),
                  lesion("B", ("2023-06-01", 15), ("2023-10-01", 15)),
                  treatments=(treatment("srs", SRS_DAY, ("A", "B")),))
    assert result.current_date == d("2023-10-01")
    assert result.current_sld_mm == 30.0
    assert any("B not measured on 2024-02-01" in r for r in result.reasons)


def test_only_measurements_up_to_the_assessment_date_count() -> None:
    rec = record(lesions=(lesion("A", ("2023-06-01", 15), ("2024-05-01", 30)),),
                 treatments=(treatment("srs", SRS_DAY, ("A",)),))
    assert assess_rano_bm(as_of(rec, ON)).category == "SD"
    assert assess_rano_bm(as_of(rec, d("2024-06-01"))).category == "PD"


def test_without_local_therapy_the_first_scan_is_baseline() -> None:
    result = rano(lesion("A", ("2023-06-01", 12), ("2024-02-01", 18)), treatments=())
    assert result.baseline_date == d("2023-06-01")
    assert result.category == "PD"


SCAN_DAYS = ("2023-06-01", "2023-09-01", "2023-12-01", "2024-02-01")
sizes = st.lists(st.integers(min_value=0, max_value=600).map(lambda tenths: tenths / 10),
                 min_size=len(SCAN_DAYS), max_size=len(SCAN_DAYS))


@settings(max_examples=200, deadline=None)
@given(st.lists(sizes, min_size=1, max_size=6))
@example([[6.2, 6.2, 6.2, 11.2], [10.0, 0.0, 0.0, 0.0]])  # a non-target grows exactly 5.0 mm
def test_pd_by_targets_iff_20_percent_over_nadir_and_5_mm_growth(series) -> None:
    """Property: with no new lesion, symptom or non-target, PD <=> the two target conditions."""
    lesions = [lesion(f"L{i}", *zip(SCAN_DAYS, values, strict=False)) for i, values in enumerate(series)]
    result = rano(*lesions, treatments=(treatment("srs", SRS_DAY, tuple(f"L{i}" for i in
                                                                        range(len(series)))),))
    targets = [x.lesion for x in result.lesions if x.target]
    # in tenths of a millimetre, as the model compares rounded diameters: in floats 11.2 - 6.2 is
    # 4.999..., which made this oracle call a 5.0 mm growth "under 5 mm" (found by Hypothesis)
    non_targets_grew = any(
        not x.target and any(b - a >= 50 and (a == 0 or (b - a) * 5 >= a)
                             for a, b in [(min(s[:-1]), s[-1])])
        for x, s in ((x, [round(v * 10) for v in series[int(x.lesion[1:])]])
                     for x in result.lesions))
    if not targets:
        assert result.category in ("SD", "CR", "PD")
        return
    tenths = {t: [round(v * 10) for v in series[int(t[1:])]] for t in targets}
    sld = [sum(tenths[t][k] for t in targets) for k in range(len(SCAN_DAYS))]
    nadir, current = min(sld), sld[-1]
    grew = any(tenths[t][-1] - min(tenths[t]) >= 50 for t in targets)
    rose = current > 0 if nadir == 0 else (current - nadir) * 5 >= nadir  # >= 20 % exactly
    target_pd = rose and grew
    if target_pd:
        assert result.category == "PD"
    elif not non_targets_grew:
        assert result.category != "PD"
