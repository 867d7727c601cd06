"""Beyond the review (issue 13 item 8) and the Breast GPA caveats (item 7), rule by rule.

Guideline sentences are quoted as the project's reference notes give them
(/work/shared/reference/clinical-and-fhir-reference.md §5, marked there as not checked against
the full guideline text); the review's sentences are quoted verbatim."""

from __future__ import annotations

from dataclasses import replace

from cds_service.model.assessment import (
    DISSEMINATED_AFTER_LOCAL,
    DISSEMINATED_AFTER_WBRT,
    LEPTOMENINGEAL,
    LOCAL_AFTER_SRS_IN_FIELD,
    LOCAL_AFTER_WBRT,
    Gpa,
    Option,
    Warning,
)
from cds_service.model.beyond_review import (
    HA_WBRT_MIN_EXPECTED_SURVIVAL_MONTHS,
    hippocampal_avoidance,
    laser_interstitial_thermal_therapy,
    radionecrosis_management,
    receptor_discordance,
)
from cds_service.model.gpa import GPA_DERIVATION_NOTE, gpa_for_situation
from cds_service.model.patient import Receptor, ReceptorReading, ReceptorStatus
from tests.support.records import d, record

WBRT = (Option("wbrt", 1, "WBRT", "r", (16,)),)
RE_WBRT = (Option("re-wbrt", 1, "re-WBRT", "r", (49,)),)


def gpa(median: float | None) -> Gpa:
    return Gpa(score=None if median is None else 2.0, median_survival_months=median)


def test_ha_wbrt_when_expected_survival_is_at_least_4_months() -> None:
    # ASCO-SNO-ASTRO 2021 (reference notes): "WBRT: offer memantine + hippocampal avoidance if
    # there are no hippocampal lesions and expected survival is >= 4 months".
    assert HA_WBRT_MIN_EXPECTED_SURVIVAL_MONTHS == 4
    line = hippocampal_avoidance(DISSEMINATED_AFTER_LOCAL, WBRT, gpa(6.0))
    assert line is not None and "Breast GPA median 6 months" in line.text
    assert "NRG Oncology CC001" in line.source and "ASCO-SNO-ASTRO" in line.source
    assert hippocampal_avoidance(DISSEMINATED_AFTER_LOCAL, WBRT, gpa(3.9)) is None
    assert hippocampal_avoidance(DISSEMINATED_AFTER_LOCAL, WBRT, gpa(4.0)) is not None


def test_ha_wbrt_without_a_gpa_says_survival_must_be_checked() -> None:
    line = hippocampal_avoidance(DISSEMINATED_AFTER_LOCAL, WBRT, gpa(None))
    assert line is not None and "not computable" in line.text


def test_ha_wbrt_only_for_whole_brain_options_and_never_in_leptomeningeal_disease() -> None:
    srs = (Option("srs", 1, "SRS", "r", (14,)),)
    assert hippocampal_avoidance(LOCAL_AFTER_WBRT, srs, gpa(12.9)) is None
    assert hippocampal_avoidance(LEPTOMENINGEAL, WBRT, gpa(None)) is None


def test_repeat_wbrt_only_says_the_guidance_is_for_a_first_course() -> None:
    # review §4.3: "The median overall survival following re-WBRT was 3.3 months." [49]
    line = hippocampal_avoidance(DISSEMINATED_AFTER_WBRT, RE_WBRT, gpa(6.0))
    assert line is not None and "first WBRT course" in line.text
    assert "GPA median" not in line.text


def test_litt_only_for_in_field_progression() -> None:
    # EANO-ESMO 2021 (reference notes): "treat radionecrosis with steroids, bevacizumab or
    # surgery/LITT".
    line = laser_interstitial_thermal_therapy(LOCAL_AFTER_SRS_IN_FIELD)
    assert line is not None and "LITT" in line.text and "EANO-ESMO" in line.source
    assert laser_interstitial_thermal_therapy(DISSEMINATED_AFTER_LOCAL) is None


def test_radionecrosis_management_follows_the_pseudoprogression_warning() -> None:
    warning = Warning("pseudoprogression-possible", "m", (19, 20))
    line = radionecrosis_management((warning,))
    assert line is not None
    assert all(word in line.text for word in ("corticosteroids", "bevacizumab", "LITT"))
    assert radionecrosis_management((Warning("radionecrosis-risk", "m"),)) is None


def test_receptor_discordance_names_each_specimen_and_date() -> None:
    her2 = Receptor(ReceptorStatus.POSITIVE, d("2024-02-25"), readings=(
        ReceptorReading(ReceptorStatus.NEGATIVE, d("2020-01-20"), "primary core biopsy"),
        ReceptorReading(ReceptorStatus.POSITIVE, d("2024-02-25"), "brain metastasis")))
    line = receptor_discordance(replace(record(), her2=her2))
    assert line is not None
    assert ("HER2 negative on 2020-01-20 (primary core biopsy) vs positive on 2024-02-25 "
            "(brain metastasis)") in line.text
    same = Receptor(ReceptorStatus.POSITIVE, readings=(
        ReceptorReading(ReceptorStatus.POSITIVE, d("2020-01-20"), "a"),
        ReceptorReading(ReceptorStatus.POSITIVE, d("2024-02-25"), "b")))
    assert receptor_discordance(replace(record(), her2=same)) is None


def test_gpa_median_is_withheld_in_leptomeningeal_disease_only() -> None:
    # review §4.4: "However, the real benefit of such a treatment is disputable, and the
    # prognosis remains very poor."
    computed = Gpa(score=1.5, median_survival_months=12.9, notes=(GPA_DERIVATION_NOTE,))
    shown = gpa_for_situation(computed, LEPTOMENINGEAL)
    assert shown.score == 1.5 and shown.median_survival_months is None
    assert shown.median_withheld and "very poor" in shown.median_withheld
    assert gpa_for_situation(computed, LOCAL_AFTER_WBRT) == computed


def test_gpa_always_says_it_was_derived_at_first_diagnosis_of_bcbm() -> None:
    # Sperduto 2020 [57] (abstract): "2473 patients with breast cancer with newly diagnosed
    # brain metastases (BCBM)".
    assert "first diagnosis of BCBM" in GPA_DERIVATION_NOTE and "progression" in GPA_DERIVATION_NOTE
