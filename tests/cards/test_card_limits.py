"""Issue 14: the cards of every synthetic and vignette patient are read in seconds.

Every progressive patient of `tests/support/synthetic_patients.py` and `tests/model/test_vignettes.py`
goes through a real patient-view call (mapping, model, cards). Its response must hold:
- main card detail ≤ 2,000 characters, each warning card ≤ 600, all details ≤ 3,500 together;
- no sentence said twice, within a card or across cards;
- rendered as CommonMark with raw HTML on (as the CDS Hooks sandbox does), no backslash and no
  markup characters are visible, and no code span, image or foreign link is formed;
- summaries < 140 characters with balanced parentheses;
- the first line names the date and age of the imaging (and says OUTDATED when the model does);
- the prior course (technique, dose × fractions, date) of every progressing lesion a course
  reached is on the main card, and the three best-supported systemic regimens at most.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from markdown_it import MarkdownIt

from cards.imaging_age import age_text
from cards.main_card import main_card
from cards.prior_courses import reaches
from cards.render import regimen_text
from cards.suggestions import OrderContext
from cards.warning_cards import warning_cards
from cds_service.mapping import map_patient
from cds_service.model.assess import assess
from cds_service.model.assessment import ImagingAge, Warning
from cds_service.model.patient import TreatmentKind
from tests.model.test_vignettes import VIGNETTES
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, SILENT

MAIN_MAX, WARNING_MAX, RESPONSE_MAX = 2000, 600, 3500
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
def _trust_vignettes() -> dict:
    from tests.assessment.test_clinical_trust_vignettes import VIGNETTES as TRUST
    return {f"trust-{v.name}": v.build for v in TRUST}


def _bench_patient() -> list[dict]:
    from bench.patient import realistic_patient  # 3 lesions x 4 scans, 4 courses, steroids...
    return realistic_patient()


BUILDERS = {**{n: PATIENTS[n] for n in sorted(set(PATIENTS) - SILENT)}, **VIGNETTES,
            **{n: b for n, b in _trust_vignettes().items()
               if not n.startswith(("trust-responder",))},
            "bench-realistic": _bench_patient}


def patient_id(resources: list[dict]) -> str:
    return next(r["id"] for r in resources if r["resourceType"] == "Patient")


def cards_of(client, name: str) -> list[dict]:
    resources = BUILDERS[name]()
    body = hook_request(patient_id(resources), prefetch=full_prefetch(resources))
    response = client.post("/cds-services/bcbm-salvage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    cards = response.get_json()["cards"]
    assert cards, f"{name}: a progressive patient got no card — nothing was checked"
    return cards


def visible(markdown: str) -> str:
    """The text a reader sees of rendered markdown (tags dropped, entities decoded)."""
    import html
    return html.unescape(re.sub(r"<[^>]+>", " ", RENDERER.render(markdown))).strip()


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [" ".join(p.split()) for p in parts if len(" ".join(p.split())) >= 25]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_sizes(client, name: str) -> None:
    main, *warnings = cards_of(client, name)
    assert len(main["detail"]) <= MAIN_MAX, (name, len(main["detail"]))
    for card in warnings:
        assert len(card["detail"]) <= WARNING_MAX, (name, card["summary"], len(card["detail"]))
    total = sum(len(c["detail"]) for c in [main, *warnings])
    assert total <= RESPONSE_MAX, (name, total)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_sentence_is_said_twice(client, name: str) -> None:
    seen: dict[str, int] = {}
    for index, card in enumerate(cards_of(client, name)):
        for sentence in sentences(visible(card["detail"])):
            assert sentence not in seen, f"{name}: said twice (cards {seen[sentence]}, {index}): " \
                                         f"{sentence!r}"
            seen[sentence] = index


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_rendered_text_shows_no_backslash_and_no_markup(client, name: str) -> None:
    for card in cards_of(client, name):
        html = RENDERER.render(card["detail"])
        assert "<code" not in html and "<img" not in html and "<pre" not in html
        links = re.findall(r'href="([^"]*)"', html)
        assert links == [] or links == ["https://doi.org/10.3390/cancers14041096"], links
        text = visible(card["detail"])
        assert "\\" not in text, (name, text)
        for markup in ("**", "__", "`", "](", "&lt;", "&gt;", "&amp;"):
            assert markup not in text, (name, markup)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_summaries_are_whole(client, name: str) -> None:
    for card in cards_of(client, name):
        summary = card["summary"]
        assert 0 < len(summary) < 140 and "\n" not in summary
        assert summary.count("(") == summary.count(")"), summary


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_first_line_names_the_imaging_and_the_prior_course_is_shown(client, name: str) -> None:
    main = cards_of(client, name)[0]
    resources = BUILDERS[name]()
    record = map_patient(resources)
    today = date.today()
    assessment = assess(record, today)
    first_line = visible(main["detail"].split("\n", 1)[0])
    dates = [m.date for lesion in record.lesions for m in lesion.measurements]
    if dates:
        latest = max(dates)
        assert f"latest imaging {latest.isoformat()}, {age_text(latest, today)} old" in first_line
    else:  # no brain imaging on record at all: said, never left out
        assert "no dated imaging on record" in first_line
    text = visible(main["detail"])
    for lesion in assessment.situation.progressing_lesions:
        for course in record.treatments:
            if not reaches(course, lesion) or course.kind is TreatmentKind.SURGERY:
                continue
            assert regimen_text(course.total_dose_cgy / 100, course.fractions) in text, name
            assert (course.end or course.start).isoformat() in text, name


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_at_most_three_systemic_regimens_and_the_switch_said_once(client, name: str) -> None:
    text = visible(cards_of(client, name)[0]["detail"])
    record = map_patient(BUILDERS[name]())
    regimens = assess(record, date.today()).systemic_regimens
    shown = [r for r in regimens if r.title in text]
    assert len(shown) <= 3 and (shown or not regimens)
    assert text.count("switch the systemic line") <= 1


# --- what other changes will add must fit too ----------------------------------------------------
CTX = OrderContext(patient_id="p", reason_reference="Condition/bm")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_outdated_imaging_is_said_first_and_fits_with_extra_lines(name: str) -> None:
    """With the `outdated-imaging` warning and a line "beyond the review" (the model's own, or a
    stand-in of ~120 characters when it gives none), the first line says the data are old, the
    indicator is info, and the limits still hold."""
    record = map_patient(BUILDERS[name]())
    assessment = assess(record, date.today())
    outdated = Warning("outdated-imaging", "The latest brain imaging is older than the model "
                       "accepts for a salvage decision: repeat MRI before deciding.",
                       severity="info")
    stale = ImagingAge(date(2024, 2, 1), (date.today() - date(2024, 2, 1)).days, 90)
    assessment = replace(assessment, warnings=(*assessment.warnings, outdated),
                         imaging=assessment.imaging if assessment.imaging and
                         assessment.imaging.outdated else stale)
    extra = () if assessment.beyond_review else (
        "Beyond the review: a line of about one hundred and twenty characters standing in for "
        "a guideline point after the warnings.",)
    main = main_card(assessment, CTX, public_base_url="http://cds.example", hook_instance="h",
                     record=record, extra_lines=extra)
    assert main["indicator"] == "info"
    first_line = visible(main["detail"].split("\n", 1)[0])
    assert first_line.startswith("OUTDATED DATA: latest imaging"), first_line
    assert len(main["detail"]) <= MAIN_MAX, (name, len(main["detail"]))
    total = len(main["detail"]) + sum(len(c["detail"])
                                      for c in warning_cards(assessment, record))
    assert total <= RESPONSE_MAX, (name, total)


# --- order cards ----------------------------------------------------------------------------------
def order_sign_cases() -> dict[str, tuple[list[dict], list[dict]]]:
    from tests.support import fhir_builders as b
    from tests.support.synthetic_patients import resource

    after_wbrt = PATIENTS["progressive-after-wbrt-limited"]()
    pid = patient_id(after_wbrt)
    focal = b.rt_volume(pid, "vol-draft-B", whole_brain=False, lesions=("lesion-B",))
    whole = b.rt_volume(pid, "vol-draft-wb", whole_brain=True)
    in_field = PATIENTS["progressive-after-srs-in-field"]()
    return {
        "after-wbrt": (after_wbrt, [
            focal, whole,
            b.rt_prescription(pid, "srs-too-high", focal, 2600, 1),
            b.rt_prescription(pid, "wbrt-again", whole, 3000, 10),
            b.medication_request(pid, "letrozole-draft", "letrozole", status="draft")]),
        "in-field": (in_field, [b.rt_prescription(
            patient_id(in_field), "rx-resrs",
            resource("progressive-after-srs-in-field", "vol-srs-A"), 2000, 1)]),
    }


@pytest.mark.parametrize("case", ["after-wbrt", "in-field"])
def test_order_cards_render_clean_and_offer_their_corrections(client, case: str) -> None:
    resources, drafts = order_sign_cases()[case]
    body = hook_request(patient_id(resources), "order-sign", prefetch=full_prefetch(resources),
                        draft_orders={"resourceType": "Bundle", "type": "collection",
                                      "entry": [{"resource": d} for d in drafts]})
    cards = client.post("/cds-services/bcbm-order-sign", json=body).get_json()["cards"]
    assert cards
    ids = [d["id"] for d in drafts]
    for card in cards:
        summary = card["summary"]
        assert len(summary) < 140 and summary.count("(") == summary.count(")")
        html = RENDERER.render(card["detail"])
        assert "<code" not in html
        text = visible(card["detail"])
        assert "\\" not in text and "Ordered: " in text
        assert not any(f"/{rid}" in text for rid in ids), text
        if "Suggested correction" in text:  # a correction is offered as a suggestion
            assert card.get("suggestions") and "by hand" not in text


def test_an_order_that_adds_to_a_prior_course_shows_that_course(client) -> None:
    """The radionecrosis and re-WBRT checks ask for the composite dose: the card shows the prior
    dose it adds to (issue 14)."""
    expected = {"in-field": "Prior radiotherapy: SRS 20 Gy × 1, 2023-03-01 (lesion-A)",
                "after-wbrt": "Prior radiotherapy: WBRT 30 Gy in 10 × 3 Gy, ended 2023-04-14 "
                              "(whole brain)"}
    for case, line in expected.items():
        resources, drafts = order_sign_cases()[case]
        body = hook_request(patient_id(resources), "order-sign",
                            prefetch=full_prefetch(resources),
                            draft_orders={"resourceType": "Bundle", "type": "collection",
                                          "entry": [{"resource": d} for d in drafts]})
        cards = client.post("/cds-services/bcbm-order-sign", json=body).get_json()["cards"]
        shown = [c for c in cards if c["source"]["topic"]["code"] in ("radionecrosis-risk",
                                                                      "re-wbrt")]
        assert shown and all(line in visible(c["detail"]) for c in shown), case
