"""Warning cards exist only for the warnings that change a decision."""

from __future__ import annotations

from dataclasses import replace

from cards import codes
from cards.warning_cards import warning_cards
from cds_service.model.assessment import PerformanceStatus, Subtype, Warning
from cds_service.protocol.response_schema import response_errors
from tests.support.assessments import srs_in_field


def test_one_card_per_decision_changing_warning() -> None:
    assessment = replace(srs_in_field(), warnings=(
        Warning("radionecrosis-risk", "m1", (40,)),
        Warning("srs-size-limit", "lesion > 4 cm"),
        Warning("missing-data", "no KPS"),
        Warning("radionecrosis-risk", "again"),
        Warning("pseudoprogression-possible", "m2", severity="info"),
    ))
    cards = warning_cards(assessment)
    assert [c["source"]["topic"]["code"] for c in cards] == ["radionecrosis-risk",
                                                             "pseudoprogression-possible"]
    assert [c["indicator"] for c in cards] == ["warning", "info"]
    assert all(c["source"]["topic"]["system"] == codes.SALVAGE_WARNING for c in cards)
    assert response_errors({"cards": cards}) == []
    assert "composite" in cards[0]["detail"] and "[40]" in cards[0]["detail"]


def test_poor_performance_status_card_names_the_score() -> None:
    assessment = replace(srs_in_field(),
                         performance_status=PerformanceStatus(kps=60, ecog=None, good=False),
                         warnings=(Warning("poor-performance-status", "KPS 60"),))
    [card] = warning_cards(assessment)
    assert card["summary"].startswith("Poor performance status (KPS 60)")
    assert len(card["summary"]) < 140


def test_hormonal_therapy_alone_card() -> None:
    assessment = replace(srs_in_field(), warnings=(
        Warning("hormonal-therapy-not-recommended", "letrozole is the only systemic therapy"),))
    [card] = warning_cards(assessment)
    assert "Hormonal therapy alone" in card["summary"]
    assert assessment.subtype.code == "her2"
    assert "HER2-directed" in card["detail"] and "abemaciclib" not in card["detail"]
    luminal_a = replace(assessment, subtype=Subtype("luminal-a", "negative", "positive",
                                                    "positive"))
    [card] = warning_cards(luminal_a)
    assert "abemaciclib" in card["detail"]


def test_every_summary_fits() -> None:
    for code in codes.WARNING_CARD_CODES:
        [card] = warning_cards(replace(srs_in_field(), warnings=(Warning(code, "m"),)))
        assert 0 < len(card["summary"]) < 140


def test_after_wbrt_alone_the_radionecrosis_card_speaks_of_the_cumulative_dose() -> None:
    """SRS after WBRT is the standard salvage (review §4.1): its card does not say "prefer
    FSRT" or quote the repeat-SRS figures as if an SRS volume were re-treated."""
    from datetime import date

    from cds_service.model.patient import LocalTreatment, TreatmentKind
    from tests.support.records import record
    wbrt = LocalTreatment(kind=TreatmentKind.WBRT, start=date(2023, 4, 3), end=date(2023, 4, 14),
                          source="Procedure/wbrt", total_dose_cgy=3000, fractions=10)
    cards = warning_cards(srs_in_field(), record(treatments=(wbrt,)))
    card = next(c for c in cards if c["source"]["topic"]["code"] == "radionecrosis-risk")
    assert card["summary"] == "SRS/FSRT after WBRT re-irradiates the brain: account for the " \
                              "cumulative dose"
    assert "prefer FSRT" not in card["summary"] and "cumulative dose" in card["detail"]
    assert "WBRT 30 Gy in 10 × 3 Gy" in card["detail"]
