"""Updated Breast GPA (Sperduto 2020 [57]): worked examples at every band edge, missing factors."""

from __future__ import annotations

import pytest

from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.facts import as_of
from cds_service.model.gpa import breast_gpa
from tests.support.records import ABSENT, ON, UNKNOWN, ecog, kps, lesion, present, record


def gpa(*, n_lesions: int = 1, extracranial=ABSENT, config: ModelConfig = DEFAULT_CONFIG, **kw):
    lesions = tuple(lesion(f"L{i}", ("2023-06-01", 12)) for i in range(n_lesions))
    rec = record(lesions=lesions, extracranial=extracranial, **kw)
    return breast_gpa(as_of(rec, ON), ON, config)


OLD, YOUNG = "1960-01-01", "1980-01-01"  # 64 and 44 on 2024-03-01
TN = {"her2": "negative", "er": "negative", "pr": "negative"}
LUM_A = {"her2": "negative", "er": "positive", "pr": "negative"}
HER2 = {"her2": "positive", "er": "negative", "pr": "negative"}
LUM_B = {"her2": "positive", "er": "negative", "pr": "positive"}


@pytest.mark.parametrize(("score", "months", "kw"), [
    (0.0, 6.0, dict(kps=kps(50), birth=OLD, n_lesions=3, extracranial=present(), **TN)),
    (1.0, 6.0, dict(kps=kps(90), birth=OLD, n_lesions=2, extracranial=present(), **TN)),
    (1.5, 12.9, dict(kps=kps(90), birth=OLD, n_lesions=2, extracranial=present(), **LUM_A)),
    (2.0, 12.9, dict(kps=kps(80), birth=OLD, n_lesions=2, extracranial=present(), **HER2)),
    (2.5, 23.5, dict(kps=kps(90), birth=OLD, n_lesions=2, extracranial=present(), **LUM_B)),
    (3.0, 23.5, dict(kps=kps(80), birth=YOUNG, n_lesions=1, extracranial=present(), **LUM_B)),
    (3.5, 36.3, dict(kps=kps(90), birth=YOUNG, n_lesions=1, extracranial=present(), **LUM_B)),
    (4.0, 36.3, dict(kps=kps(100), birth=YOUNG, n_lesions=1, **HER2)),
])
def test_worked_examples_at_each_band_edge(score: float, months: float, kw: dict) -> None:
    result = gpa(**kw)
    assert result.score == score
    assert result.median_survival_months == months
    assert result.missing == ()
    assert result.references == (57,)


@pytest.mark.parametrize(("value", "points"), [(100, 1.0), (90, 1.0), (85, 0.5), (80, 0.5),
                                               (70, 0.5), (65, 0.0), (60, 0.0), (40, 0.0)])
def test_kps_points(value: int, points: float) -> None:
    factor = gpa(kps=kps(value)).factors[0]
    assert (factor.value, factor.points) == (f"KPS {value}", points)


@pytest.mark.parametrize(("value", "points"), [(0, 1.0), (1, 0.5), (2, 0.0), (4, 0.0)])
def test_ecog_stands_in_and_is_flagged(value: int, points: float) -> None:
    result = gpa(kps=None, ecog=ecog(value))
    assert result.ecog_stand_in is True
    assert result.factors[0].points == points
    assert result.factors[0].value.startswith(f"ECOG {value} (stands in for KPS")
    assert any("ECOG stands in for KPS" in n for n in result.notes)


def test_age_60_scores_zero_and_59_scores_half() -> None:
    assert gpa(birth="1964-03-01").factors[2].points == 0.0  # 60 today
    assert gpa(birth="1964-03-02").factors[2].points == 0.5  # 59, turns 60 tomorrow


def test_extracranial_none_recorded_is_absent_and_said_so() -> None:
    result = gpa(extracranial=ABSENT)
    assert result.factors[4].points == 0.5
    assert "extracranial metastases: none recorded (scored as absent)" in result.notes


@pytest.mark.parametrize(("kw", "missing"), [
    (dict(kps=None), "performance status (KPS or ECOG)"),
    (dict(birth=None), "birth date (age)"),
    (dict(her2="unknown", er="negative", pr="negative"), "receptor status"),
    (dict(her2="negative", er="negative", pr="equivocal"), "receptor status"),
    (dict(n_lesions=0), "number of brain metastases"),
    (dict(extracranial=UNKNOWN), "extracranial metastasis status"),
])
def test_missing_factor_is_named_and_score_not_computed(kw: dict, missing: str) -> None:
    result = gpa(**kw)
    assert result.score is None and result.median_survival_months is None
    assert len(result.missing) == 1 and missing in result.missing[0]
    assert "score not computable" in result.notes


def test_her2_positive_with_unknown_hormone_receptors_scores_either_way() -> None:
    result = gpa(her2="positive", er="unknown", pr="unknown")
    assert result.factors[1].points == 1.5
    assert "same points either way" in result.factors[1].value
    # if a site sets HER2-enriched to 1.0 (the paper's possible weight), it is no longer determinate
    strict = gpa(her2="positive", er="unknown", pr="unknown",
                 config=ModelConfig(gpa_her2_enriched_points=1.0))
    assert strict.score is None


def test_her2_negative_er_positive_is_luminal_a_even_if_pr_unknown() -> None:
    assert gpa(her2="negative", er="positive", pr="unknown").factors[1].points == 0.5
