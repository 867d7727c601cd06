"""Output safety: values from FHIR data come out of cards as inert text.

Cards are checked the way the CDS Hooks sandbox shows them: ``detail`` rendered as CommonMark with
raw HTML *enabled* (markdown-it-py here; the sandbox uses react-markdown + rehype-raw), then parsed
as HTML. Nothing executable may survive: no script/img/iframe/svg element, no ``on*`` attribute, no
link or source that is not http(s).
"""

from __future__ import annotations

import copy
import unicodedata
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cards.markdown import escape_markdown, markdown_link, safe_text, safe_url
from tests.support import fhir_builders as b
from tests.support.hook_requests import full_prefetch, hook_request

PROPERTY = settings(max_examples=500, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
ALLOWED_TAGS = {"p", "strong", "em", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
                "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "code", "pre", "a", "blockquote",
                "s", "del"}
ALLOWED_ATTRIBUTES = {"a": ("href", "title"), "ol": ("start",), "th": ("style",),
                      "td": ("style",)}

HOSTILE = [
    "<script>alert('XSS-1')</script>",
    "<img src=x onerror=alert(2) alt=XSS-2>",
    "[click me XSS-3](javascript:alert(1))",
    "![XSS-4](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">XSS-5</a>",
    "<javascript:alert('XSS-6')>",
    "[XSS-7]: javascript:alert(1)",
    "<svg onload=alert(8)>XSS-8</svg>",
    "<iframe src=\"data:text/html,<script>alert(1)</script>\">XSS-9</iframe>",
    "**bold** _it_ `code` # XSS-10 \n# heading\n- list\n> quote\n| a | b |",
    "&lt;script&gt;XSS-11&lt;/script&gt;",
    "<details open ontoggle=alert(12)>XSS-12",
    "[XSS-13](https://evil.example \"title\") <https://evil.example/XSS-13>",
    "\u202eXSS-14\u202c <b onmouseover=alert(1)>x</b>",
]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rendered(markdown: str) -> _Collector:
    collector = _Collector()
    collector.feed(RENDERER.render(markdown))
    collector.close()
    return collector


def assert_inert_markdown(markdown: str) -> _Collector:
    html = rendered(markdown)
    for tag, attrs in html.tags:
        assert tag in ALLOWED_TAGS, f"<{tag}> from {markdown[:200]!r}"
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES.get(tag, ()), f"{name}= on <{tag}>"
            if name == "href":
                assert (value or "").startswith(("http://", "https://")), f"{name}={value!r}"
            if name == "style":
                assert value in ("text-align:left", "text-align:center", "text-align:right")
    return html


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
LINE_BREAKS = "\r\n\t\v\f\x85\u2028\u2029"


def shown_as(text: str) -> str:
    """What a reader must see: the same characters, minus controls and format characters (bidi
    overrides, zero-width characters: Unicode Cf, issue 16 item 11), with line breaks as spaces
    (whitespace runs compared as one space)."""
    text = "".join(" " if c in LINE_BREAKS else c for c in text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs", "Cf"))
    return " ".join(text.split())


def assert_inert_text(text: str) -> None:
    assert "<" not in text and ">" not in text, text
    assert not any(0x202A <= ord(c) <= 0x202E for c in text)


# --- the helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("context", ["{}", "Name: {}", "- {}", "**{}**", "| x | {} |\n|---|---|",
                                     "# {}", "1. {}", "[{}](https://ok.example)"])
def test_escaped_values_render_as_their_own_text(hostile, context) -> None:
    html = assert_inert_markdown(context.format(escape_markdown(hostile)))
    text = " ".join("".join(html.text).split())
    assert shown_as(hostile) in text


@PROPERTY
@given(st.text(max_size=200))
def test_any_text_escaped_renders_as_exactly_that_text(text) -> None:
    html = assert_inert_markdown("Value: " + escape_markdown(text))
    assert [tag for tag, _ in html.tags] == ["p"]
    assert " ".join("".join(html.text).split()) == shown_as("Value: " + text)


@PROPERTY
@given(st.text(max_size=120))
def test_safe_text_has_no_markup_or_controls(text) -> None:
    out = safe_text(text)
    assert_inert_text(out)
    assert "\n" not in out and "\x00" not in out


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x",
                                 "java\tscript:alert(1)", "data:text/html,<script>", "vbscript:x",
                                 "//evil.example/x", "/relative", "https://user:pw@evil.example",
                                 "http:\\\\evil.example", "https://evil.example/\u202e",
                                 "https://", "ftp://x.example", "", None, 42])
def test_unsafe_urls_are_refused(url) -> None:
    assert safe_url(url) is None
    assert_inert_markdown(markdown_link("label", url))


@PROPERTY
@given(st.one_of(st.text(max_size=80), st.text(max_size=60).map(lambda t: "https://x.example/" + t)))
def test_safe_urls_are_http_and_stay_inside_the_link(url) -> None:
    result = safe_url(url)
    if result is None:
        return
    assert result.startswith(("http://", "https://"))
    assert not any(c in result for c in " \t\n<>()\"'`\\")
    html = assert_inert_markdown(markdown_link("go", url))
    assert [attrs for tag, attrs in html.tags if tag == "a"] == [[("href", result)]]


# --- a whole patient-view call with hostile FHIR data --------------------------------------------
def hostile_patient() -> list[dict[str, Any]]:
    """`progressive-after-srs-in-field` with every free-text field an attacker can reach poisoned."""
    pid = "syn-hostile"
    lesion = "A<img src=x onerror=alert(1) alt=XSS-L>[XSS-L](javascript:alert(1))"
    bc = b.breast_cancer(pid)
    bc["code"]["text"] = HOSTILE[0]
    bc["code"]["coding"][0]["display"] = HOSTILE[1]
    bm = b.brain_metastases(pid, onset="2023-02-01", primary=bc)
    bm["code"]["coding"][0]["display"] = HOSTILE[2]
    bm["note"] = [{"text": HOSTILE[8]}]
    lesion_a = b.tumor(pid, lesion)
    lesion_a["location"]["coding"][0]["display"] = HOSTILE[3]
    lesion_a["location"]["text"] = HOSTILE[13]
    lesion_b_name = "B<svg onload=alert(1)>XSS-B</svg>"
    lesion_b = b.tumor(pid, lesion_b_name)
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=(lesion, lesion_b_name))
    course = b.rt_course(pid, "srs-2023", volume, 2000, 1, "2023-03-01", reason=bm)
    course["code"]["text"] = HOSTILE[4]
    course["note"] = [{"text": HOSTILE[9]}]
    status = b.disease_status(pid, "ds-2024-02", "2024-02-05", "worsened", focus=(volume,),
                              qualifier="local")
    status["note"] = [{"text": HOSTILE[5]}]
    status["valueCodeableConcept"]["text"] = HOSTILE[6]
    drug = b.medication_request(pid, "trastuzumab-rx", "trastuzumab", authored="2023-01-10")
    drug["medicationCodeableConcept"]["text"] = HOSTILE[7]
    drug["medicationCodeableConcept"]["coding"][0]["display"] = HOSTILE[11]
    patient = b.patient(pid, birth_date="1972-04-17", family=HOSTILE[0], given=HOSTILE[12])
    kps = b.karnofsky(pid, 80, effective="2024-02-06")
    kps["code"]["text"] = HOSTILE[10]
    return [
        patient, bc, bm, lesion_a, volume,
        *b.receptors(pid, her2="positive", er="negative", pr="negative"),
        kps,
        b.tumor_size(pid, lesion_a, "2023-02-20", 15),
        course,
        b.tumor_size(pid, lesion_a, "2023-06-01", 10),
        b.tumor_size(pid, lesion_a, "2023-09-01", 1.1, unit="cm"),
        b.tumor_size(pid, lesion_a, "2024-02-01", 18),
        lesion_b,
        b.tumor_size(pid, lesion_b, "2023-02-20", 28),
        b.tumor_size(pid, lesion_b, "2023-06-01", 20),
        b.tumor_size(pid, lesion_b, "2024-02-01", 33),
        status,
        drug,
    ]


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return []


def test_hostile_fhir_strings_come_out_of_a_patient_view_call_inert(client) -> None:
    resources = hostile_patient()
    body = hook_request("syn-hostile", prefetch=full_prefetch(copy.deepcopy(resources)))
    response = client.post("/cds-services/bcbm-salvage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    cards = response.get_json()["cards"]
    # Not vacuous: this patient's lesion progresses after SRS, so the service must answer.
    assert cards, "patient-view returned no card for a progressive patient: nothing was checked"

    shown_text: list[str] = []
    for card in cards:
        for path, value in _strings(card):
            leaf = path.rsplit(".", 1)[-1]
            if ".resource" in path:
                # A suggested FHIR resource: data for the EHR to store (identifiers stay verbatim);
                # its markdown-typed fields (Annotation.text) must still be inert markdown.
                if "note[" in path and leaf == "text":
                    assert_inert_markdown(value)
            elif leaf == "detail":
                shown_text.append(" ".join(assert_inert_markdown(value).text))
            elif leaf in ("url", "system", "uuid", "code", "indicator", "selectionBehavior",
                          "type", "appContext"):
                if leaf == "url":
                    assert value.startswith(("http://", "https://")), value
            else:  # summary, labels, source.label, override reason displays…
                assert_inert_text(value)
                shown_text.append(value)
    # The hostile data did reach the cards — as text (the lesion's name is on the main card).
    assert any("XSS-" in text for text in shown_text), "no FHIR-derived text reached any card"


# --- narrow escaping: only what can form structure (issue 14) -------------------------------------
@pytest.mark.parametrize(("text", "escaped"), [
    # clinical text stays as it is: it reads clean as plain text and in any Markdown subset
    ("lesion-A: 10 mm -> 18 mm (>= 5 mm), <= 2.0 cm 20-24 Gy [37-39]; 'worsened' 80.0 %",
     "lesion-A: 10 mm -> 18 mm (>= 5 mm), <= 2.0 cm 20-24 Gy [37-39]; 'worsened' 80.0 %"),
    ("ServiceRequest/wbrt-again", "ServiceRequest/wbrt-again"),
    ("lesion_A2", "lesion_A2"),                       # intraword underscore: never emphasis
    # what can form structure is escaped
    ("*bold* _it_ `code` ~~s~~ a|b $x$ ^1",
     "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~ a\\|b \\$x\\$ \\^1"),
    ("<b>x</b> <http://e.x> a < b", "&lt;b>x&lt;/b> &lt;http\\://e.x> a < b"),
    ("&amp; &#60; AT&T", "&amp;amp; &amp;#60; AT&T"),
    ("[x](javascript:y) ![i](u) [d]: u [^1]",
     "\\[x\\](javascript:y) \\!\\[i\\](u) \\[d\\]: u \\[\\^1\\]"),
    ("[40](http://e.x)", "\\[40\\](http\\://e.x)"),      # a citation followed by "(" is no citation
    ("www.evil.example a@b.example mailto:a", "www\\.evil.example a\\@b.example mailto\\:a"),
    ("> q", "\\> q"), ("# h", "\\# h"), ("- l", "\\- l"), ("+ l", "\\+ l"), ("12. x", "12\\. x"),
    ("1.8 cm", "1.8 cm"), ("-5 mm", "-5 mm"), ("title #", "title \\#"), ("a\\b", "a\\\\b"),
])
def test_escape_markdown_escapes_only_what_forms_structure(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


CLINICAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789 .,;:-()'\"%=/×→–≤≥μ",
                   max_size=80)


def line_of(text: str) -> str:
    return "x " + text  # not at the start of a line


@PROPERTY
@given(CLINICAL)
def test_clinical_punctuation_inside_a_line_is_never_escaped(text: str) -> None:
    """Dots, hyphens, colons, slashes, parentheses, quotes and = inside a line form no syntax:
    escaping them only put backslashes on plain-text clients (issue 14)."""
    assume("://" not in text and "  " not in line_of(text))  # a URL scheme; runs of spaces
    line = line_of(text)
    assert escape_markdown(line) == line
