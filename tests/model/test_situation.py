"""Situation classifier (clinical-model §1-§3) on hand-built records: one test per rule."""

from __future__ import annotations

import pytest

from cds_service.model import assessment as a
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.facts import as_of
from cds_service.model.rano_bm import assess_rano_bm
from cds_service.model.situation import classify
from tests.support.records import (
    ABSENT,
    ON,
    drug,
    lesion,
    present,
    record,
    status,
    symptom,
    treatment,
)


def situation(rec, config: ModelConfig = DEFAULT_CONFIG, on=ON):
    view = as_of(rec, on)
    return classify(view, assess_rano_bm(view, config), config)[0]


def grown(lid: str, before: float = 12, after: float = 18) -> object:
    return lesion(lid, ("2023-06-01", before), ("2024-02-01", after))


def test_no_breast_cancer_is_not_applicable() -> None:
    rec = record(breast_cancer=ABSENT, lesions=(grown("A"),),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),))
    assert situation(rec).code == a.NOT_APPLICABLE


def test_breast_cancer_without_brain_metastases_is_not_applicable() -> None:
    rec = record(brain_metastases=ABSENT)
    assert situation(rec).code == a.NOT_APPLICABLE


def test_brain_metastases_diagnosed_after_the_assessment_date_are_not_yet_in_scope() -> None:
    rec = record(brain_metastases=present("2024-06-01"))
    assert situation(rec).code == a.NOT_APPLICABLE


def test_untreated_bcbm_is_not_salvage_even_when_growing() -> None:
    rec = record(lesions=(grown("A"),))
    assert situation(rec).code == a.NOT_SALVAGE


def test_treated_stable_bcbm_is_no_progression() -> None:
    rec = record(lesions=(lesion("A", ("2023-06-01", 12), ("2024-02-01", 11)),),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),),
                 disease_statuses=(status("2024-02-05", "stable"),))
    result = situation(rec)
    assert result.code == a.NO_PROGRESSION
    assert not result.is_progressive


def test_in_field_progression_after_srs() -> None:
    rec = record(lesions=(grown("A"),), treatments=(treatment("srs", "2023-03-01", ("A",)),))
    result = situation(rec)
    assert result.code == a.LOCAL_AFTER_SRS_IN_FIELD
    assert result.progressing_lesions == ("A",)
    assert any(e.startswith("RANO-BM progressive disease") for e in result.evidence)


def test_new_lesion_outside_srs_volume_is_out_of_field() -> None:
    rec = record(lesions=(lesion("A", ("2023-06-01", 12), ("2024-02-01", 11)),
                          lesion("B", ("2024-02-01", 9))),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),))
    result = situation(rec)
    assert result.code == a.LOCAL_AFTER_SRS_OUT_OF_FIELD
    assert result.progressing_lesions == ("B",)
    assert "new brain lesion B first seen 2024-02-01" in result.evidence


def test_limited_progression_after_wbrt() -> None:
    rec = record(lesions=(grown("B"), grown("C")),
                 treatments=(treatment("wbrt", "2023-04-14"),))
    assert situation(rec).code == a.LOCAL_AFTER_WBRT


def test_limited_progression_after_surgery_alone() -> None:
    rec = record(lesions=(lesion("A", ("2023-01-10", 25), ("2023-06-01", 4), ("2024-02-01", 14)),),
                 treatments=(treatment("surgery", "2023-02-01", ("A",)),))
    assert situation(rec).code == a.LOCAL_AFTER_SURGERY


def test_in_field_wins_over_after_wbrt_when_both_were_given() -> None:
    rec = record(lesions=(grown("A"),),
                 treatments=(treatment("wbrt", "2022-05-01"), treatment("srs", "2023-03-01", ("A",))))
    assert situation(rec).code == a.LOCAL_AFTER_SRS_IN_FIELD


@pytest.mark.parametrize(("count", "code"), [
    (4, a.LOCAL_AFTER_WBRT), (5, a.DISSEMINATED_AFTER_WBRT)])
def test_more_than_four_progressing_lesions_is_disseminated(count: int, code: str) -> None:
    rec = record(lesions=tuple(grown(f"L{i}") for i in range(count)),
                 treatments=(treatment("wbrt", "2022-05-27"),))
    assert situation(rec).code == code


def test_limited_lesion_max_is_configurable() -> None:
    rec = record(lesions=tuple(grown(f"L{i}") for i in range(5)),
                 treatments=(treatment("wbrt", "2022-05-27"),))
    assert situation(rec, ModelConfig(limited_lesion_max=5)).code == a.LOCAL_AFTER_WBRT


def test_disseminated_after_srs_only_is_after_local() -> None:
    new = tuple(lesion(f"N{i}", ("2024-02-01", 8)) for i in range(5))
    rec = record(lesions=(lesion("A", ("2023-06-01", 10), ("2024-02-01", 9)), *new),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),))
    assert situation(rec).code == a.DISSEMINATED_AFTER_LOCAL


def test_leptomeningeal_disease_after_local_therapy_comes_first() -> None:
    rec = record(leptomeningeal=present("2024-02-01"),
                 lesions=tuple(grown(f"L{i}") for i in range(6)),
                 treatments=(treatment("wbrt", "2022-05-27"),))
    result = situation(rec)
    assert result.code == a.LEPTOMENINGEAL
    assert "leptomeningeal disease diagnosed 2024-02-01" in result.evidence


def test_leptomeningeal_disease_before_the_last_therapy_is_not_progression_evidence() -> None:
    rec = record(leptomeningeal=present("2023-01-01"),
                 treatments=(treatment("wbrt", "2023-02-01"),))
    assert situation(rec).code == a.NO_PROGRESSION


def test_worsened_status_after_the_last_therapy_is_progression() -> None:
    rec = record(lesions=(lesion("A", ("2023-06-01", 12), ("2024-02-01", 13)),),
                 treatments=(treatment("wbrt", "2023-03-01"),),
                 disease_statuses=(status("2024-02-05", lesions=("A",)),))
    result = situation(rec)
    assert result.code == a.LOCAL_AFTER_WBRT
    assert result.progressing_lesions == ("A",)


def test_worsened_status_before_the_last_therapy_is_not() -> None:
    rec = record(treatments=(treatment("wbrt", "2023-03-01"),),
                 disease_statuses=(status("2023-01-05"),))
    assert situation(rec).code == a.NO_PROGRESSION


def test_local_worsening_of_an_srs_volume_is_in_field_without_measurements() -> None:
    srs = treatment("srs", "2023-03-01", ("A",), volumes=("BodyStructure/vol-A",))
    rec = record(treatments=(srs,), disease_statuses=(
        status("2024-02-05", volumes=("BodyStructure/vol-A",), qualifier="local"),))
    result = situation(rec)
    assert result.code == a.LOCAL_AFTER_SRS_IN_FIELD
    assert result.progressing_lesions == ("A",)


def test_progression_without_identified_lesions_is_limited_and_says_so() -> None:
    rec = record(treatments=(treatment("wbrt", "2023-03-01"),),
                 disease_statuses=(status("2024-02-05"),))
    result = situation(rec)
    assert result.code == a.LOCAL_AFTER_WBRT
    assert any("no progressing lesion identified" in e for e in result.evidence)


def test_undated_local_therapy_cannot_anchor_progression() -> None:
    rec = record(lesions=(grown("A"),), treatments=(treatment("srs", None, ("A",)),))
    result = situation(rec)
    assert result.code == a.NO_PROGRESSION
    assert any("without a date" in e for e in result.evidence)


def test_symptoms_without_imaging_after_therapy_are_not_progression_but_noted() -> None:
    rec = record(lesions=(lesion("A", ("2023-01-10", 15)),),
                 treatments=(treatment("srs", "2023-03-01", ("A",)),),
                 symptoms=(symptom("2024-02-01"),))
    result = situation(rec)
    assert result.code == a.NO_PROGRESSION
    assert result.symptomatic
    assert any("RANO-BM not assessable" in e for e in result.evidence)


def test_progression_during_systemic_therapy_is_flagged() -> None:
    rec = record(lesions=(grown("A"),), treatments=(treatment("srs", "2023-03-01", ("A",)),),
                 systemic_therapies=(drug("trastuzumab", "her2-directed", "2023-01-10"),))
    assert situation(rec).on_systemic_therapy is True
    later = record(lesions=(grown("A"),), treatments=(treatment("srs", "2023-03-01", ("A",)),),
                   systemic_therapies=(drug("trastuzumab", "her2-directed", "2024-02-20"),))
    assert situation(later).on_systemic_therapy is False


def test_symptomatic_flag() -> None:
    rec = record(lesions=(grown("A"),), treatments=(treatment("srs", "2023-03-01", ("A",)),),
                 symptoms=(symptom("2024-01-20"),))
    assert situation(rec).symptomatic is True
