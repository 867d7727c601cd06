"""The main patient-view card built from a hand-built assessment."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from markdown_it import MarkdownIt

from cards import codes
from cards.main_card import main_card, summary
from cards.suggestions import OrderContext
from cds_service.model.assessment import Gpa
from cds_service.model.patient import SkippedResource
from cds_service.protocol.response_schema import response_errors
from tests.support.assessments import srs_in_field
from tests.support.fhir_checks import assert_valid_fhir, project_codings, suggestion_resources

CTX = OrderContext(patient_id="syn-srs-in-field", reason_reference="Condition/brain-mets")


def build(assessment=None, **kw):
    return main_card(assessment or srs_in_field(), CTX, public_base_url="http://cds.example",
                     hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", **kw)


def test_summary_names_the_situation_and_first_options() -> None:
    assert summary(srs_in_field()) == "Progressive BCBM after SRS (in-field): consider surgery or FSRT"


def test_card_structure() -> None:
    card = build()
    assert response_errors({"cards": [card]}) == []
    assert card["indicator"] == "warning"
    assert card["source"]["url"] == codes.REVIEW_URL
    assert card["source"]["topic"] == codes.option_coding("surgery")
    assert card["selectionBehavior"] == "any"
    assert [r["code"] for r in card["overrideReasons"]] == list(codes.OVERRIDE_REASONS)
    smart, review = card["links"]
    assert smart["type"] == "smart" and smart["url"] == "http://cds.example/smart/launch"
    assert json.loads(smart["appContext"]) == {
        "view": "salvage-plan", "assessmentDate": "2024-03-01",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}
    assert "syn-srs-in-field" not in smart["appContext"]
    assert review == {"label": "Review: Spalek & Mandat, Cancers 2022 (doi:10.3390/cancers14041096)",
                      "url": codes.REVIEW_URL, "type": "absolute"}


def test_one_suggestion_per_actionable_option_recommended_with_intent() -> None:
    card = build()
    by_code = {}
    for suggestion in card["suggestions"]:
        [coding] = project_codings(suggestion["actions"][0]["resource"])
        by_code[coding["code"]] = suggestion
    assert list(by_code) == ["surgery", "fsrt", "srs", "tucatinib-trastuzumab-capecitabine",
                             "tumor-board"]
    assert {c for c, s in by_code.items() if s["isRecommended"]} == {"surgery", "tumor-board"}
    for resource in suggestion_resources([card]):
        assert_valid_fhir(resource)
    uuids = [s["uuid"] for s in card["suggestions"]] + [card["uuid"]]
    assert len(set(uuids)) == len(uuids)


def rendered(markdown: str) -> str:
    """What a reader sees of backslash-escaped markdown (GFM renders "\\(" as "(")."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_detail_has_every_section_in_order() -> None:
    detail = rendered(build()["detail"])
    # the situation is the summary's; the detail opens with the data's date and age
    assert build()["summary"].startswith("Progressive BCBM after SRS (in-field)")
    expected = ("**Data:** latest imaging 2024-02-01, 29 days old",
                "assessed 2024-03-01", "lesion-A 10 mm → 18 mm", "RANO-BM **PD**",
                "sum of diameters 10 mm (nadir) → 18 mm", "**Prior local therapy**",
                "not available to this card", "**Options (ranked)**",
                "1. **Surgery**: lesion-A [37–39]",
                "2. **FSRT** (re-irradiation): lesion-A: 30 Gy in 5 × 6 Gy; also 3 × 9 Gy",
                "3. **SRS** (re-irradiation): lesion-A: 20–24 Gy × 1",
                "Tucatinib + trastuzumab + capecitabine [70]", "**Warnings**",
                "**Radionecrosis risk of re-irradiation**", "(own cards)",
                "**Patient:** HER2-positive", "KPS 80 (good)", "**Breast GPA 3**",
                "23.5 months", "No steroid record", "**Full salvage plan**",
                "[doi:10.3390/cancers14041096](https://doi.org/10.3390/cancers14041096)")
    at = 0
    for text in expected:
        found = detail.find(text, at)
        assert found >= 0, text
        at = found
    assert "References" not in detail and detail.count("https://") == 1


def test_unavailable_data_is_named() -> None:
    detail = rendered(build(unavailable=("observations: the FHIR server timed out",),
                   notes=("procedures: only the first page was prefetched",))["detail"])
    assert "Could not be obtained" in detail and "timed out" in detail
    assert "first page" in detail


def test_records_the_mapping_could_not_use_are_named() -> None:
    skipped = tuple(SkippedResource(f"Observation/o{i}", "status entered-in-error")
                    for i in range(7))
    detail = rendered(build(skipped=skipped)["detail"])
    assert "Not used — Observation/o0: status entered-in-error" in detail
    assert "Observation/o5" not in detail and "and 2 more records not used" in detail


def test_gpa_not_computable_names_the_missing_factor() -> None:
    # the model names a missing GPA factor in missing_data too (assess.py): said once, there
    assessment = replace(srs_in_field(), gpa=Gpa(score=None, median_survival_months=None,
                                                 missing=("birth date",)),
                         missing_data=("birth date",))
    detail = rendered(build(assessment)["detail"])
    assert "not computable" in detail and "birth date" in detail


def test_fhir_text_is_escaped_in_markdown_and_summary() -> None:
    hostile = "<script>alert(1)</script>[click](javascript:alert(1))"
    card = build(srs_in_field(lesion=hostile))
    html = MarkdownIt("commonmark", {"html": True}).render(card["detail"])
    assert "<script>" not in html and "javascript:" not in re.sub(r">[^<]*<", "><", html)
    assert re.findall(r'href="([^"]*)"', html) == [codes.REVIEW_URL]
    assert all("<script>" not in s["label"] for s in card["suggestions"])
    assert response_errors({"cards": [card]}) == []
