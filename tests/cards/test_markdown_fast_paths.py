"""The shortcuts of `cards.markdown.escape_markdown` skip only work that could change nothing."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cards import markdown
from cards.markdown import escape_markdown

# Every character the patterns look at, plus letters, digits and spaces around them.
_ALPHABET = st.sampled_from(list("<>&_[]!.:/@#=+-*`~|$^\\()1 aWwmailtoxp;0é\u00a0"))
_TEXTS = st.text(_ALPHABET, max_size=40)


@settings(max_examples=3000, deadline=None)
@given(_TEXTS)
def test_every_contextual_match_contains_what_the_pre_check_looks_for(text: str) -> None:
    if markdown._CONTEXTUAL.search(text):
        assert markdown._CONTEXTUAL_NEEDS.search(text)


_CONTEXTUAL_NEEDS_AS_READ = re.compile(r"[<&_\[\]@]|[Ww]{3}\.|://|mailto:|xmpp:")


@settings(max_examples=3000, deadline=None)
@given(_TEXTS)
def test_the_pre_check_is_the_pattern_its_comment_reads(text: str) -> None:
    """`_CONTEXTUAL_NEEDS` is written with one literal first character per alternative (faster
    to scan): it matches where its plain reading does, and the same characters."""
    fast, plain = markdown._CONTEXTUAL_NEEDS.search(text), _CONTEXTUAL_NEEDS_AS_READ.search(text)
    assert (fast is None) == (plain is None)
    if fast is not None and plain is not None:
        assert plain.start() <= fast.start() < plain.end()


@settings(max_examples=3000, deadline=None)
@given(_TEXTS)
def test_block_start_only_at_the_start(text: str) -> None:
    assert [m.start() for m in markdown._BLOCK_START.finditer(text)] in ([], [0])


def test_texts_with_markdown_characters_are_still_escaped() -> None:
    assert escape_markdown("a*b_c d_ <b> &amp; [x](y) www.x.org http://x a@b.cc") == (
        "a\\*b_c d\\_ &lt;b> &amp;amp; \\[x\\](y) www\\.x.org http\\://x a\\@b.cc")
    assert escape_markdown("# title #") == "\\# title \\#"
    assert escape_markdown("1. item") == "1\\. item"
    assert escape_markdown("plain text: no syntax (none) - 5 mm.") == (
        "plain text: no syntax (none) - 5 mm.")
