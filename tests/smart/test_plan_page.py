"""The plan page from a hand-built record and assessment: every section, escaping, accessibility."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import quote, quote_plus

import pytest
from flask import render_template

from cds_service.model.evidence import REFERENCES
from cds_service.smart.plan import plan_page, sum_series, treatment_label
from cds_service.smart.plan import reference as plan_reference
from tests.support import plan_fixtures as fx

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def page():
    return plan_page(fx.record(), fx.assessment(), fx.patient_data(),
                     fhir_base="http://127.0.0.1:9999/fhir")


@pytest.fixture
def html(app, page):
    with app.test_request_context("/smart/plan"):
        return render_template("smart_plan.html", page=page, csp_nonce="n0nce")


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def test_sections_and_headings(html):
    headings = re.findall(r"<h([12])[^>]*>(.*?)</h\1>", html, flags=re.S)
    assert [level for level, _ in headings][0] == "1"
    titles = [re.sub(r"<[^>]+>", "", text).strip() for _, text in headings]
    for expected in ("Situation", "Warnings", "Ranked options", "Lesion timeline",
                     "RANO-BM response", "Prognosis: updated Breast GPA", "Data that was missing",
                     "References"):
        assert expected in titles


def test_content(html):
    assert "Progressive BCBM after SRS (in-field)" in html
    assert "Halina ZIELINSKA" in html and "1972-04-17" in html
    assert "2024-02-10" in html  # assessment date
    # Options in rank order with regimens, rationale and references.
    assert html.index('data-option="srs"') < html.index('data-option="surgery"')
    assert "Repeat SRS" in html and "20 Gy" in html and "24 Gy" in html
    assert "selected patients only" in html and "re-irradiation" in html
    assert 'href="#ref-30"' in html and 'id="ref-30"' in html
    # Warnings, critical first.
    assert html.index("radionecrosis-risk") < html.index("pseudoprogression-possible")
    # GPA with median survival and factors.
    assert "<strong>GPA 3.0</strong>" in html
    assert "23.5 months" in html and "Performance status (KPS)" in html and "KPS 80" in html
    # RANO-BM SLD values and the +20 % threshold.
    assert "Progressive disease (PD)" in html
    for value in ("15 mm", "10 mm", "18 mm", "12 mm"):
        assert value in html
    # Missing data from the model and from the FHIR reads; unusable resources; partial reads.
    assert "no MRI perfusion study on record" in html
    assert "medicationStatements: the FHIR server answered 404" in html
    assert "Observation/zz: no unit" in html
    assert "stopped after 10 pages" in html
    # Treatments table.
    assert "WBRT" in html and "30 Gy, 10 fractions, 3 Gy per fraction" in html


def test_text_from_the_record_is_escaped(app):
    record = fx.record(lesion_b_id=fx.HOSTILE)
    page = plan_page(record, fx.assessment(), fx.patient_data(), fhir_base="http://x/fhir")
    with app.test_request_context("/smart/plan"):
        html = render_template("smart_plan.html", page=page, csp_nonce="n")
    assert fx.HOSTILE not in html
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    for svg in svgs(html):  # the SVG is still well-formed XML
        assert svg.tag == SVG_NS + "svg"


def test_charts_are_accessible_and_have_tables(html):
    timeline, timeline_phone, gpa, gpa_phone = svgs(html)
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the phone layouts have ids of their own
    for chart in (timeline, timeline_phone, gpa, gpa_phone):
        assert chart.get("role") == "img"
        assert chart.find(SVG_NS + "title").text
        assert chart.find(SVG_NS + "desc").text
    assert timeline_phone.get("class") == "chart lesion-timeline-phone"
    assert timeline_phone.get("viewBox").split()[2] == "300"  # re-laid out, not scaled down
    for chart in (timeline, timeline_phone):
        lesions = [g for g in chart.iter(SVG_NS + "g") if g.get("class") == "lesion-series"]
        assert [g.get("data-lesion") for g in lesions] == ["lesion-A", "lesion-B"]
        markers = [g.get("data-kind") for g in chart.iter(SVG_NS + "g")
                   if g.get("class") == "treatment-marker"]
        assert markers == ["surgery", "srs", "wbrt"]
    assert '<table class="measurements" tabindex="0">' in html
    assert '<table class="treatments" tabindex="0">' in html
    assert '<table class="gpa-factors" tabindex="0">' in html and '<table class="sums" tabindex="0">' in html
    assert html.count("<caption>") >= 6


def test_html_is_balanced_and_has_no_script_or_external_asset(html):
    class Checker(HTMLParser):
        void = {"meta", "br", "input", "img", "link", "hr", "path", "circle", "rect", "line",
                "polygon", "polyline"}

        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.tags: set[str] = set()

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            for name, value in attrs:
                if name in ("src",) or (name == "href" and tag == "link"):
                    raise AssertionError(f"external asset: {tag} {value}")
            if tag not in self.void:
                self.stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            self.tags.add(tag)

        def handle_endtag(self, tag):
            if tag in self.void:
                return
            assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
            self.stack.pop()

    checker = Checker()
    checker.feed(html)
    assert checker.stack == []
    assert "script" not in checker.tags
    assert "@media print" in html


def test_sum_series_uses_target_lesions(page):
    sums = sum_series(fx.record(), fx.assessment().rano_bm)
    assert [(p.day.isoformat(), p.total_mm) for p in sums] == [
        ("2023-02-20", 15), ("2023-06-01", 10), ("2023-09-01", 11), ("2024-02-01", 18)]
    assert page.rano.threshold == "12 mm"
    assert page.sums[-1].at_or_above_threshold


def test_treatment_labels():
    surgery, srs, wbrt = fx.record().treatments
    assert treatment_label(surgery) == "Surgery"
    assert treatment_label(srs) == "SRS 20 Gy/1 fx"
    assert treatment_label(wbrt) == "WBRT 30 Gy/10 fx"


def test_gpa_not_computable(app):
    from dataclasses import replace

    from cds_service.model.assessment import Gpa

    assessment = replace(fx.assessment(), gpa=Gpa(score=None, median_survival_months=None,
                                                  missing=("kps",)))
    page = plan_page(fx.record(), assessment, fx.patient_data(), fhir_base="http://x/fhir")
    with app.test_request_context("/smart/plan"):
        html = render_template("smart_plan.html", page=page, csp_nonce="n")
    assert "Not computable" in html and "missing kps" in html
    assert 'class="gpa-marker"' not in html


def test_beyond_review_lines_and_a_withheld_median(app):
    """Issue 13 items 7 and 8: the plan shows each beyond-the-review line with its source, apart
    from the review's options; a withheld GPA median is said, not shown as "unknown months"."""
    from dataclasses import replace

    from cds_service.model.assessment import BeyondReview, Gpa

    line = BeyondReview("litt", "LITT is an option for in-field progression.", "EANO-ESMO 2021")
    gpa = Gpa(score=1.5, median_survival_months=None, median_withheld="leptomeningeal",
              notes=("median survival not given for leptomeningeal disease",))
    assessment = replace(fx.assessment(), beyond_review=(line,), gpa=gpa)
    page = plan_page(fx.record(), assessment, fx.patient_data(), fhir_base="http://x/fhir")
    with app.test_request_context("/smart/plan"):
        html = render_template("smart_plan.html", page=page, csp_nonce="n")
    assert ("Beyond the review: LITT is an option for in-field progression. "
            "<em>(EANO-ESMO 2021)</em>") in html
    gpa_html = html[html.index("h-gpa"):html.index("h-missing")]
    assert "median survival not given (see the notes)" in gpa_html, gpa_html[:600]
    assert "unknown months" not in html


def test_the_imaging_date_and_age_lead_the_situation_as_on_the_card(app):
    """The plan's situation opens with the main card's first line: the imaging's date and age,
    and OUTDATED DATA when the model flags the imaging (issue 14)."""
    from dataclasses import replace

    from cards.imaging_age import imaging_age_line
    from cds_service.model.assessment import ImagingAge

    record, assessment = fx.record(), fx.assessment()
    latest = max(m.date for lesion in record.lesions for m in lesion.measurements)
    for outdated in (False, True):
        age = (assessment.assessment_date - latest).days
        assessment = replace(assessment, imaging=ImagingAge(latest, age, age - 1 if outdated
                                                            else age + 1))
        page = plan_page(record, assessment, fx.patient_data(), fhir_base="http://x/fhir")
        with app.test_request_context("/smart/plan"):
            html = render_template("smart_plan.html", page=page, csp_nonce="n")
        line = imaging_age_line(assessment)
        assert line.startswith("OUTDATED DATA: latest imaging") is outdated
        assert re.search(r"latest imaging \d{4}-\d{2}-\d{2}, \d+ (days|months|years)", line)
        situation = html[html.index('id="situation"'):html.index('id="warnings"')]
        assert line in situation
        assert ('class="imaging outdated"' in situation) is outdated


# -- issue 18: outdated data, one source for table and chart, unread data ------------------------
def render(app, page_view) -> str:
    with app.test_request_context("/smart/plan"):
        return render_template("smart_plan.html", page=page_view, csp_nonce="n", handle="h")


def rano_cells(html: str) -> list[str]:
    table = re.search(r'<table class="rano-summary" tabindex="0">.*?</table>', html, re.S).group(0)
    return re.findall(r'<td class="num">(.*?)</td>', table)


def chart_line_label(html: str, css: str) -> str:
    svg = re.search(r'<svg [^>]*lesion-timeline.*?</svg>', html, re.S).group(0)
    y = re.search(rf'<line class="{css}"[^>]*y1="([0-9.]+)"', svg)
    assert y, css
    labels = re.findall(r'<text [^>]*>([^<]*)</text>', svg)
    return next(t for t in labels if t.startswith({"nadir-line": "nadir",
                                                   "progression-line": "+"}[css]))


def test_outdated_imaging_is_a_banner_and_the_data_date_stands_by_the_assessment_date(app):
    from dataclasses import replace
    from datetime import date

    from cds_service.model.assessment import ImagingAge

    assessment = replace(fx.assessment(), imaging=ImagingAge(date(2021, 7, 20), 935, 90))
    html = render(app, plan_page(fx.record(), assessment, fx.patient_data(),
                                 fhir_base="http://x/fhir"))
    banner = re.search(r'<div class="alert outdated" role="alert" data-outdated>(.*?)</div>',
                       html, re.S)
    assert banner and "OUTDATED DATA" in banner.group(1) and "2021-07-20" in banner.group(1)
    assert "90 days" in banner.group(1)
    assert html.index("data-outdated") < html.index('id="situation"')
    meta = re.search(r'<p class="meta">(.*?)</p>', html, re.S).group(1)
    assert "Assessment date <strong>2024-02-10</strong>" in meta
    assert "data it rests on: <span data-data-date>OUTDATED DATA: latest imaging 2021-07-20" in meta


def test_recent_imaging_has_no_banner(app):
    from dataclasses import replace
    from datetime import date

    from cds_service.model.assessment import ImagingAge

    assessment = replace(fx.assessment(), imaging=ImagingAge(date(2024, 2, 1), 9, 90))
    html = render(app, plan_page(fx.record(), assessment, fx.patient_data(),
                                 fhir_base="http://x/fhir"))
    assert "data-outdated" not in html
    assert "data it rests on: <span data-data-date>latest imaging 2024-02-01" in html


def test_rano_table_and_chart_show_the_same_sums_when_the_model_computed_none(app):
    from dataclasses import replace

    from cds_service.model.assessment import RanoBm

    assessment = replace(fx.assessment(), rano_bm=RanoBm(category=None,
                                                         reasons=("no baseline scan",)))
    page_view = plan_page(fx.record(), assessment, fx.patient_data(), fhir_base="http://x/fhir")
    html = render(app, page_view)
    sums = [s.total for s in page_view.sums]
    baseline, nadir, current, threshold = rano_cells(html)
    assert "—" not in (baseline, nadir, current, threshold)
    assert (baseline, current) == (sums[0], sums[-1])
    assert nadir == min(sums, key=lambda s: float(s.split()[0]))
    assert chart_line_label(html, "nadir-line") == f"nadir {nadir}"
    assert chart_line_label(html, "progression-line") == f"+20 % (PD) {threshold}"
    assert "data-rano-source" in html


def test_the_threshold_comes_from_the_model_configuration(app):
    from decimal import Decimal

    from cds_service.model.constants import ModelConfig

    page_view = plan_page(fx.record(), fx.assessment(), fx.patient_data(),
                          fhir_base="http://x/fhir",
                          settings=ModelConfig(rano_pd_sld_increase=Decimal("0.25")))
    html = render(app, page_view)
    assert rano_cells(html) == ["15 mm", "10 mm", "18 mm", "12.5 mm"]
    assert chart_line_label(html, "progression-line") == "+25 % (PD) 12.5 mm"
    assert "nadir +25 %" in html and "+20 %" not in html


def test_gpa_bands_come_from_the_model_constants():
    from cds_service.model import constants
    from cds_service.smart import svg

    assert [(b.low, b.high, b.median_months) for b in svg.GPA_BANDS] == \
        [tuple(b) for b in constants.GPA_BANDS]


def test_unread_data_replaces_a_negative_finding(app):
    from dataclasses import replace

    from cds_service.model.assessment import Situation

    assessment = replace(fx.assessment(), options=(), warnings=(), situation=Situation(
        code="no-progression", label="BCBM treated locally, no progression on record"))
    data = fx.patient_data()
    data.values["observations"] = {"resourceType": "Bundle", "type": "searchset"}
    html = render(app, plan_page(fx.record(), assessment, data, fhir_base="http://x/fhir"))
    assert "no progression on record" not in html
    assert "The data this plan needs could not be read" in html.split('<nav class="toc"')[0]
    assert "<p>No warning.</p>" not in html


def test_rank_badges_have_visible_text_for_screen_readers(html):
    assert 'aria-label="Rank' not in html
    assert '<span class="rank"><span class="visually-hidden">Rank </span>1</span>' in html


def test_format_controls_from_the_record_never_reach_the_page(app):
    """Issue 16, item 11: zero-width and bidi-override characters in record text (a lesion
    name) are removed from every value the page shows, as on the cards."""
    from dataclasses import replace

    record, assessment = fx.record(), fx.assessment()
    hostile = "lesion\u200b-\u202eA"
    lesion = record.lesions[0]
    record = replace(record, lesions=(replace(lesion, id=hostile), *record.lesions[1:]))
    situation = replace(assessment.situation, progressing_lesions=(hostile,))
    page = plan_page(record, replace(assessment, situation=situation), fx.patient_data(),
                     fhir_base="http://x/fhir")
    with app.test_request_context("/smart/plan"):
        html = render_template("smart_plan.html", page=page, csp_nonce="n")
    assert "\u200b" not in html and "\u202e" not in html
    assert "lesion-A" in html


# -- references: the DOI link of the paper, or a search labelled as one -------------------------------
LINK = re.compile(r'<a (?:class="ref-search" )?href="([^"]+)" target="_blank" '
                  r'rel="noopener noreferrer">([^<]*)</a>')


def reference_items(app, numbers) -> dict[int, str]:
    page = replace(plan_page(fx.record(), fx.assessment(), fx.patient_data(),
                             fhir_base="http://127.0.0.1:9999/fhir"),
                   references=tuple(plan_reference(n) for n in numbers))
    with app.test_request_context("/smart/plan"):
        html = render_template("smart_plan.html", page=page, csp_nonce="n0nce")
    refs = html[html.index('<section id="references"'):]
    refs = refs[:refs.index("</section>")]
    return {int(n): body for n, body in re.findall(r'<li id="ref-(\d+)">(.*?)</li>', refs, re.S)}


def test_a_reference_with_a_doi_links_the_paper_at_doi_org(app):
    number, ref = next((n, r) for n, r in sorted(REFERENCES.items()) if r.doi)
    body = reference_items(app, [number])[number]
    [(href, text)] = LINK.findall(body)
    assert href == text == f"https://doi.org/{quote(ref.doi, safe='/:;()')}"
    assert ref.doi in text  # the DOI itself is visible
    assert "pubmed" not in body.lower()


def test_a_reference_without_a_doi_offers_a_pubmed_search_labelled_as_a_search(app):
    number, ref = next((n, r) for n, r in sorted(REFERENCES.items())
                       if r.doi is None and r.url is None)
    body = reference_items(app, [number])[number]
    [(href, text)] = LINK.findall(body)
    assert href == "https://pubmed.ncbi.nlm.nih.gov/?term=" + quote_plus(ref.title)
    assert text == "Search PubMed for this title"
    assert "a search, not a link to the paper" in body and "doi.org" not in body


def test_every_reference_of_the_review_is_linked_one_way_or_the_other(app):
    items = reference_items(app, sorted(REFERENCES))
    assert sorted(items) == sorted(REFERENCES) and len(items) == 84  # the review lists 84
    kinds = {"doi": 0, "web": 0, "search": 0}
    for number, body in items.items():
        ref = REFERENCES[number]
        [(href, _)] = LINK.findall(body)
        if ref.doi:
            assert href.startswith("https://doi.org/10."), number
            kinds["doi"] += 1
        elif ref.url:
            assert href == ref.url, number
            kinds["web"] += 1
        else:
            assert href.startswith("https://pubmed.ncbi.nlm.nih.gov/?term="), number
            kinds["search"] += 1
    assert kinds["web"] == 1  # reference 75, a web page
    assert kinds["doi"] == sum(1 for r in REFERENCES.values() if r.doi)
    assert sum(kinds.values()) == len(REFERENCES)


def test_a_doi_with_characters_unsafe_in_a_url_is_escaped_in_the_link(monkeypatch):
    # SICI-style DOIs contain "<", ">" and "#"; the link must stay one well-formed URL
    from cds_service.smart import plan as plan_module

    fake = replace(REFERENCES[1],
                   doi="10.1002/(SICI)1097-0142(19990101)85:1<1::AID-CNCR1>3.0.CO;2-#")
    monkeypatch.setitem(plan_module.evidence.REFERENCES, 1, fake)
    view = plan_reference(1)
    assert view.link_kind == "doi"
    assert view.url == ("https://doi.org/10.1002/(SICI)1097-0142(19990101)85:1%3C1::AID-CNCR1%3E3.0."
                        "CO;2-%23")
