"""Systemic regimens by subtype (clinical-model §5b) and the switch-line rule (review §5)."""

from __future__ import annotations

import itertools

import pytest

from cds_service.model.assess import assess
from cds_service.model.systemic import (
    ANY_SUBTYPE_REGIMENS,
    CDK46_REGIMENS,
    HER2_REGIMENS,
    TRIPLE_NEGATIVE_REGIMENS,
)
from tests.support.records import ON, drug, lesion, record, treatment

PROGRESSIVE = dict(lesions=tuple(lesion(f"L{i}", ("2023-06-01", 12), ("2024-02-01", 18))
                                 for i in range(5)),
                   treatments=(treatment("wbrt", "2022-05-27"),))


def regimens(her2: str, er: str, pr: str, **kw):
    result = assess(record(her2=her2, er=er, pr=pr, **dict(PROGRESSIVE, **kw)), ON)
    assert result.situation.is_progressive
    return result


@pytest.mark.parametrize(("receptors", "subtype", "expected"), [
    (("positive", "negative", "negative"), "her2", HER2_REGIMENS | ANY_SUBTYPE_REGIMENS),
    (("positive", "positive", "negative"), "luminal-b", HER2_REGIMENS | ANY_SUBTYPE_REGIMENS),
    (("negative", "positive", "positive"), "luminal-a", CDK46_REGIMENS | ANY_SUBTYPE_REGIMENS),
    (("negative", "negative", "positive"), "luminal-a", CDK46_REGIMENS | ANY_SUBTYPE_REGIMENS),
    (("negative", "negative", "negative"), "triple-negative",
     TRIPLE_NEGATIVE_REGIMENS | ANY_SUBTYPE_REGIMENS),
    (("unknown", "positive", "negative"), "unknown", ANY_SUBTYPE_REGIMENS),
    (("equivocal", "negative", "negative"), "unknown", ANY_SUBTYPE_REGIMENS),
    (("negative", "unknown", "negative"), "unknown", ANY_SUBTYPE_REGIMENS),
])
def test_regimens_per_subtype(receptors: tuple[str, str, str], subtype: str,
                              expected: frozenset[str]) -> None:
    result = regimens(*receptors)
    assert result.subtype.code == subtype
    assert {r.code for r in result.systemic_regimens} == expected


def test_any_subtype_regimens_are_the_four_of_the_review() -> None:
    assert ANY_SUBTYPE_REGIMENS == {"temozolomide", "temozolomide-capecitabine", "cmf",
                                    "bevacizumab"}
    assert len(HER2_REGIMENS) == 6 and CDK46_REGIMENS == {"abemaciclib", "palbociclib"}


STATUSES = ("positive", "negative", "equivocal", "unknown")


@pytest.mark.parametrize(("her2", "er", "pr"), list(itertools.product(STATUSES, repeat=3)))
def test_safety_gates_hold_for_every_receptor_combination(her2: str, er: str, pr: str) -> None:
    codes = {r.code for r in regimens(her2, er, pr).systemic_regimens}
    if her2 != "positive":
        assert not codes & HER2_REGIMENS, "HER2 agent for HER2-negative/unknown disease"
    if "positive" not in (er, pr):
        assert not codes & CDK46_REGIMENS, "CDK4/6 inhibitor without a positive HR"
    if her2 != "negative":
        assert not codes & CDK46_REGIMENS
    if (her2, er, pr) != ("negative", "negative", "negative"):
        assert not codes & TRIPLE_NEGATIVE_REGIMENS
    assert ANY_SUBTYPE_REGIMENS <= codes
    hormonal = ("letrozole", "anastrozole", "exemestane", "tamoxifen", "fulvestrant", "megestrol")
    assert not any(h in code for code in codes for h in hormonal)


def test_missing_her2_is_named() -> None:
    result = regimens("unknown", "positive", "negative")
    assert any(m.startswith("HER2 status") for m in result.missing_data)
    assert any(w.code == "missing-data" and "HER2" in w.message for w in result.warnings)


def test_iniparib_irinotecan_is_investigational_only() -> None:
    result = regimens("negative", "negative", "negative")
    iniparib = next(r for r in result.systemic_regimens if r.code == "iniparib-irinotecan")
    assert iniparib.investigational and iniparib.references == (68,)


def test_progression_on_current_line_switches_it() -> None:
    current = (drug("tucatinib", "her2-directed"), drug("trastuzumab", "her2-directed"),
               drug("capecitabine", "chemotherapy"))
    result = regimens("positive", "negative", "negative", systemic_therapies=current)
    codes = [r.code for r in result.systemic_regimens]
    assert "tucatinib-trastuzumab-capecitabine" not in codes  # the failing line
    assert "trastuzumab-deruxtecan" in codes
    # said once, on the option, never per regimen (issue: ten repeated lines)
    assert not any("switch" in (r.note or "") for r in result.systemic_regimens)
    systemic = next(o for o in result.options if o.code == "systemic-therapy")
    # review §5: switch "if ... there are no options of local therapy"; local options exist here
    assert ("keep the line with local therapy, or switch the systemic line if local therapy is "
            "not feasible") in systemic.rationale


def test_no_switch_note_without_current_therapy() -> None:
    result = regimens("positive", "negative", "negative")
    assert not any("switch" in (r.note or "") for r in result.systemic_regimens)


def test_hormonal_therapy_alone_is_warned() -> None:
    result = regimens("negative", "positive", "positive",
                      systemic_therapies=(drug("letrozole", "hormonal"),))
    warning = next(w for w in result.warnings if w.code == "hormonal-therapy-not-recommended")
    assert "letrozole" in warning.message and set(warning.references) == {77, 78, 79, 80, 81}


def test_hormonal_therapy_with_a_cdk46_inhibitor_is_not_warned() -> None:
    result = regimens("negative", "positive", "positive",
                      systemic_therapies=(drug("letrozole", "hormonal"),
                                          drug("palbociclib", "cdk4/6")))
    assert "hormonal-therapy-not-recommended" not in [w.code for w in result.warnings]
    assert "palbociclib" not in [r.code for r in result.systemic_regimens]  # current line


def test_regimens_follow_the_named_evidence_ranking() -> None:
    from cds_service.model.systemic import EVIDENCE_RANKING, REGIMENS
    # review §5.3: HER2CLIMB (randomized) [70] and DESTINY-Breast03 ("Even better results") [75]
    # first; review §5.2: sacituzumab govitecan before conventional chemotherapy.
    assert [r.code for r in REGIMENS] == [code for code, _ in EVIDENCE_RANKING]
    order = [code for code, _ in EVIDENCE_RANKING]
    assert order.index("trastuzumab-deruxtecan") < order.index("lapatinib-capecitabine")
    assert order.index("sacituzumab-govitecan") < order.index("temozolomide")
