"""The model's vocabulary: each code has its one label, the public codes are the documented ones,
and the cards and the SMART app read the same words."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.model import vocabulary as v
from cds_service.model.assessment import PerformanceStatus

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(("codes", "labels"), [
    (v.SituationCode, v.SITUATION_LABELS),
    (v.OptionCode, v.OPTION_TITLES),
    (v.OptionCode, v.OPTION_SHORT_NAMES),
    (v.WarningCode, v.WARNING_TITLES),
    (v.Severity, v.SEVERITY_LABELS),
    (v.SubtypeCode, v.SUBTYPE_LABELS),
    (v.GpaFactorName, v.GPA_FACTOR_LABELS),
    (v.GpaFactorName, v.GPA_FACTOR_MISSING),
    (v.RanoCategory, v.RANO_LABELS),
])
def test_every_code_has_exactly_one_label(codes, labels) -> None:
    assert set(labels) == set(codes)
    assert all(label.strip() for label in labels.values())


def test_the_progressive_situations_are_the_review_situations() -> None:
    silent = {v.SituationCode.NO_PROGRESSION, v.SituationCode.NOT_SALVAGE,
              v.SituationCode.NOT_APPLICABLE}
    assert set(v.PROGRESSIVE_SITUATIONS) == set(v.SituationCode) - silent


def test_the_public_codes_are_the_documented_ones() -> None:
    """Codes are public names (docs/api.md, docs/clinical-model.md): never renamed."""
    documented = (DOCS / "api.md").read_text() + (DOCS / "clinical-model.md").read_text()
    for codes in (v.SituationCode, v.OptionCode, v.WarningCode, v.SubtypeCode):
        for code in codes:
            assert code.value in documented, code


def test_codes_are_plain_strings_in_json_and_text() -> None:
    import json

    assert json.dumps({"code": v.OptionCode.RE_WBRT}) == '{"code": "re-wbrt"}'
    assert f"{v.WarningCode.MISSING_DATA}" == "missing-data"
    assert v.SituationCode("not-applicable") is v.SituationCode.NOT_APPLICABLE


def test_cards_and_smart_app_use_the_vocabulary_labels() -> None:
    from cards import codes

    assert codes.SALVAGE_OPTIONS is v.OPTION_TITLES
    assert codes.SALVAGE_WARNINGS is v.WARNING_TITLES
    assert codes.OPTION_SHORT is v.OPTION_SHORT_NAMES


def test_a_performance_status_off_the_record_is_said_the_same_way_everywhere() -> None:
    """The card said "not recorded", the SMART app "not on record" (issue 15): one wording."""
    from cards.main_card import _performance as card_performance
    from cds_service.smart.plan import _performance as plan_performance
    from tests.support.assessments import srs_in_field

    unknown = PerformanceStatus(kps=None, ecog=None, good=None)
    assessment = srs_in_field(performance_status=unknown)
    assert card_performance(assessment) == f"KPS/ECOG {v.NOT_ON_RECORD}"
    assert plan_performance(assessment) == v.NOT_ON_RECORD
    known = PerformanceStatus(kps=60, ecog=None, good=False, basis="KPS 60")
    assert known.summary() == "KPS 60 (poor)"
    assert card_performance(srs_in_field(performance_status=known)) == "KPS 60 (poor)"

