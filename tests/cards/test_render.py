"""Rendering helpers: one-line summaries, reference ranges, empty-member stripping, templates."""

from __future__ import annotations

import pytest

from cards import render
from cards.render import card, num, one_line, ref_numbers, regimen_text, strip_empty

SOURCE = {"label": "x", "url": "https://doi.org/10.3390/cancers14041096",
          "topic": {"system": "https://salvage-cds.org/fhir/CodeSystem/salvage-option",
                    "code": "srs"}}


def test_one_line_cuts_at_a_word_below_140() -> None:
    text = "word " * 60
    out = one_line(text)
    assert len(out) < 140 and out.endswith("…") and "\n" not in out
    assert one_line("a\nb  c") == "a b c"


def test_reference_ranges() -> None:
    assert ref_numbers([35, 30, 31, 32, 30]) == "[30–32, 35]"
    assert ref_numbers([70, 71, 82, 83, 84]) == "[70, 71, 82–84]"
    assert ref_numbers([57]) == "[57]"
    assert ref_numbers([]) == ""


def test_numbers_and_regimens() -> None:
    assert num(20.0) == "20" and num(2.5) == "2.5" and num(None) == "–"
    assert regimen_text(20, 1) == "20 Gy × 1"
    assert regimen_text(30, 5) == "30 Gy in 5 × 6 Gy"
    assert regimen_text(27, 3) == "27 Gy in 3 × 9 Gy"


def test_strip_empty_drops_null_and_empty_members_recursively() -> None:
    assert strip_empty({"a": None, "b": "", "c": [], "d": {}, "e": [{"f": None}], "g": " ",
                        "h": False, "i": 0, "j": [1, None]}) == {"h": False, "i": 0, "j": [1]}


def test_card_has_uuid_and_refuses_bad_members() -> None:
    made = card(summary="s", indicator="info", source=SOURCE, suggestions=(), links=())
    assert set(made) == {"uuid", "summary", "indicator", "source"}
    with pytest.raises(ValueError, match="indicator"):
        card(summary="s", indicator="hard-stop", source=SOURCE)
    with pytest.raises(ValueError, match="selectionBehavior"):
        card(summary="s", indicator="info", source=SOURCE, suggestions=[{"label": "x"}])
    with pytest.raises(ValueError, match="summary"):
        card(summary="  ", indicator="info", source=SOURCE)


def test_every_template_compiles() -> None:
    names = [p.stem for p in render.TEMPLATE_DIR.glob("*.md")]
    assert {"main_detail", "warning_detail", "order_detail"} <= set(names)
    for name in names:
        assert render.template(name).get_identifiers()


def test_missing_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError):
        render.render("warning_detail", message="m")


def test_one_line_never_cuts_inside_a_parenthesis_or_a_word() -> None:
    # the order card of issue 14: the aside goes, the sentence stays whole
    text = ("Letrozole would be the only systemic therapy for progressive BCBM: hormonal therapy "
            "alone is not a salvage option (only case reports [77-79])")
    assert one_line(text) == ("Letrozole would be the only systemic therapy for progressive BCBM: "
                              "hormonal therapy alone is not a salvage option")
    long_aside = "Start " + "(" + "inside " * 30 + ") and end " + "tail " * 10
    out = one_line(long_aside)
    assert len(out) < 140 and out.count("(") == out.count(")")
    words = set(long_aside.replace("(", " ").replace(")", " ").split())
    assert all(w in words for w in out.rstrip("…").replace("(", " ").replace(")", " ").split())
    unbalanced = "Word " * 20 + "(open aside that never closes " + "more " * 20
    out = one_line(unbalanced)
    assert "(" not in out and out.endswith("…") and len(out) < 140
