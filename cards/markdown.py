"""Output safety: every value that comes from FHIR data is made inert before it reaches a client.

EHR clients render a card's ``detail`` as (GitHub-flavoured / CommonMark) Markdown, some with raw
HTML enabled — the CDS Hooks sandbox does. A patient's name, a free-text note, a coding's display,
a resource id: any of them can carry ``<script>``, ``<img onerror=…>``, ``[click](javascript:…)``
or a line that turns into a heading. The helpers here are the only way such values enter
Markdown, plain-text fields (summary, labels, descriptions) and links:

* `escape_markdown(text)` — for values placed inside Markdown. Line breaks become spaces (a
  value never starts a new block); control and format characters (Unicode Cc, Cf) are removed.
  Then only what could form structure is escaped, so that the text also reads clean where a
  client shows Markdown as plain text or renders a smaller subset: ``\\ ` * ~ | $ ^`` always;
  ``_`` unless it stands between two letters or digits (an intraword underscore never forms
  emphasis); ``<`` before a letter, ``/``, ``!`` or ``?`` (a tag, comment or autolink) and ``&``
  before an entity name (``&amp;``) as HTML entities; ``[`` and ``]`` (links, images, footnotes,
  task boxes) except around a citation such as ``[37-39]`` that no ``(``, ``[`` or ``:``
  follows; GFM's extended autolinks (``www.``, ``scheme://``, ``mailto:``/``xmpp:``,
  ``user@host.tld``); and the first character when it could open a block (``> # = [``,
  ``-``/``+`` before a space, ``1.`` / ``1)``) and a closing ``#`` run. Every other character —
  ``. - : / ( ) ' " = <=`` … — stays as it is: it cannot form syntax inside a line.
* `safe_text(text)` — for plain-text fields that a careless client might still render as HTML:
  control and format characters (bidi overrides, zero-width characters: Unicode Cf) removed,
  whitespace collapsed, ``<`` / ``>`` replaced by the look-alike ``‹`` / ``›``.
* `safe_url(url)` — ``http``/``https`` absolute URLs only (``javascript:``, ``data:``, ``vbscript:``,
  relative and protocol-relative URLs, URLs with credentials or control characters → ``None``);
  characters that could end a Markdown link destination are percent-encoded.
* `markdown_link(text, url)` — ``[text](url)`` when the URL is safe, the escaped text alone
  otherwise.

All functions accept any value (``None`` → ``""``) and never raise on odd input.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["escape_markdown", "markdown_link", "safe_text", "safe_url"]

# Characters removed from any output: C0/C1 controls (line breaks are turned into spaces first),
# and the Unicode bidi overrides/isolates that can make text display differently from what it is.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"[ \u00a0]{2,}")
# Every format control (Unicode category Cf: zero-width space/joiners, word joiner, BOM, soft
# hyphen, invisible operators, tag characters, and the bidi controls above): invisible, they make
# two texts that read the same differ, or text display otherwise than it is (issue 16, item 11).
# (planes 0-1 and the tag block hold every Cf character; scanning only them keeps import fast)
_FORMAT_CONTROLS = "".join(
    chr(c) for c in (*range(0x20000), *range(0xE0000, 0xE0100))
    if unicodedata.category(chr(c)) == "Cf")
# Unicode categories Cc (U+0000-001F, U+007F-009F), Cs (surrogates) and Cf: one regex instead of
# a per-character category lookup (this runs on every value of every card).
_REMOVED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + re.escape(_FORMAT_CONTROLS) + "]")

# Always escaped: each can form syntax anywhere in a line (backslash escapes, code spans,
# emphasis, strikethrough, table cells, math, superscript/footnotes). All are rare in clinical text.
_ALWAYS = frozenset("\\`*~|$^")
# Characters that form structure only in context, each with the context (a look-around) in which
# it is escaped: raw HTML / autolinks and entities as HTML entities, the rest with a backslash.
_CONTEXTUAL = re.compile(
    r"(?P<lt><(?=[A-Za-z/!?]))"                          # <tag, </tag, <!--, <?pi, <scheme:...>
    r"|(?P<amp>&(?=#?[0-9A-Za-z]+;))"                      # &name; &#123; &#x1f;
    r"|(?P<us>_)"                                          # emphasis (intraword kept, see below)
    r"|(?P<cite>\[[0-9 ,\u2013-]+\](?![(\[:]))"            # a citation "[37-39]": kept
    r"|(?P<bracket>[\[\]]|!(?=\[))"                        # links, images, footnotes, boxes
    r"|(?P<www>(?<=[Ww]{3})\.)"                            # www.example -> GFM autolink
    r"|(?P<scheme>(?<=[A-Za-z0-9])\:(?=//)|(?<=mailto):|(?<=xmpp):)"  # http://, mailto:, xmpp:
    r"|(?P<at>(?<=[\w.+-])@(?=[\w-]+\.))"                 # user@host.tld -> GFM autolink
)
# A first character that could open a block if the value stood at the start of a line (or right
# after a list marker): block quote, heading, list item, setext underline, task-list box.
_BLOCK_START = re.compile(r"^( ?)([>#=\[]|[+-](?=[ +-]|$)|\d{1,9}(?=[.)](?: |$)))")
_CLOSING_HASHES = re.compile(r"(?<= )#+ *$")  # an ATX heading's closing sequence
_ALWAYS_CHARS = re.compile("[" + re.escape("".join(sorted(_ALWAYS))) + "]")
# What every match of `_CONTEXTUAL` contains, one alternative per group there (lt, amp, us;
# cite and bracket; www; scheme; at): a text with none of these is left as it is by
# `_CONTEXTUAL`, and this plain scan is far cheaper than trying each of its look-arounds at every
# character (tests/cards/test_markdown_fast_paths.py checks this). It reads
# `[<&_\[\]@]|[Ww]{3}\.|://|mailto:|xmpp:`, written so that every alternative starts with one
# literal character: the regex engine then skips ahead to the next of these characters instead of
# trying every alternative at every position (the test checks that both forms match alike).
_CONTEXTUAL_NEEDS = re.compile(r"<|&|_|\[|\]|@|\.(?<=[Ww]{3}\.)|:(?=//)|:(?<=mailto:)|:(?<=xmpp:)")


def _clean(value: Any, limit: int | None) -> str:
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    if text.isprintable() and "  " not in text:
        # nothing the three substitutions below could change: every line break, control, bidi
        # control and no-break space they handle is a non-printable character (categories Cc,
        # Cf, Cs, Zl, Zp, Zs), and there is no run of spaces
        return text
    text = _BREAKS.sub(" ", text)
    text = _REMOVED.sub("", text)
    return _SPACES.sub(" ", text)


_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
                        + re.escape(_FORMAT_CONTROLS) + "]")  # _REMOVED less \t \n \r


def strip_controls(text: str) -> str:
    """`text` without control, surrogate or format characters (Cc, Cs, Cf), tabs and line
    breaks kept: for HTML pages, whose own autoescaping handles markup."""
    return text if text.isprintable() else _INVISIBLE.sub("", text)


def _contextual(match: re.Match[str]) -> str:
    kind = match.lastgroup
    char = match.group()
    if kind == "lt":
        return "&lt;"
    if kind == "amp":
        return "&amp;"
    if kind == "cite":
        return char
    if kind == "us":
        text, at = match.string, match.start()
        if 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum():
            return char  # intraword: never emphasis
    return "\\" + char


def escape_markdown(text: Any, *, limit: int | None = None) -> str:
    """`text` as inert Markdown: renders as the same characters, forms no syntax, no raw HTML,
    and escapes only what could form syntax (so that it also reads clean as plain text)."""
    text = _clean(text, limit)
    if not text:
        return text
    # one pass: never escape the backslashes this inserts
    text = _ALWAYS_CHARS.sub(_backslashed, text)
    if _CONTEXTUAL_NEEDS.search(text):
        text = _CONTEXTUAL.sub(_contextual, text)
    opener = _BLOCK_START.match(text)  # anchored at the start: only there can it match
    if opener:
        text = _escape_block_start(opener) + text[opener.end():]
    if "#" in text:
        text = _CLOSING_HASHES.sub(lambda m: m.group().replace("#", "\\#"), text)
    return text


def _backslashed(match: re.Match[str]) -> str:
    return "\\" + match.group()


def _escape_block_start(match: re.Match[str]) -> str:
    space, opener = match.group(1), match.group(2)
    if opener[0].isdigit():  # "1." / "1)": escape the delimiter that follows the digits
        return space + opener + "\\"
    return space + "\\" + opener


def safe_text(text: Any, *, limit: int | None = None) -> str:
    """`text` for a plain-text field: one line, no controls, no angle brackets."""
    return _clean(text, limit).strip().replace("<", "\u2039").replace(">", "\u203a")


# Characters percent-encoded in a URL's path/query/fragment: those that end or confuse a Markdown
# link destination or an HTML attribute, whitespace, and backslashes.
_URL_SAFE = "/:@!$&*+,;=-._~%?#"
_ALLOWED_SCHEMES = ("http", "https")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                   r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def safe_url(url: Any) -> str | None:
    """An absolute http(s) URL safe to place in a Markdown link or an ``href``; else ``None``."""
    if not isinstance(url, str):
        return None
    candidate = url.strip()
    if not candidate or len(candidate) > 4096:
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zs", "Zl", "Zp") or ch in _BIDI
           for ch in candidate):
        return None
    if "\\" in candidate:  # browsers treat "\" as "/" in special URLs: http:\\evil.example
        return None
    try:
        parts = urlsplit(candidate)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    host = parts.hostname or ""
    if not host or not _HOST.match(host if ":" not in host else f"[{host}]"):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((
        parts.scheme.lower(),
        netloc.lower(),
        _quote(parts.path),
        _quote(parts.query),
        _quote(parts.fragment),
    ))


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _quote(part: str) -> str:
    """Percent-encode what may not stand in a link; keep valid %XX escapes, encode stray '%'."""
    return _STRAY_PERCENT.sub("%25", quote(part, safe=_URL_SAFE))


def markdown_link(text: Any, url: Any) -> str:
    """``[text](url)`` with the text escaped and the URL vetted; the escaped text alone when the
    URL is not a safe http(s) URL."""
    label = escape_markdown(text)
    target = safe_url(url)
    if target is None:
        return label
    return f"[{label or escape_markdown(target)}]({target})"
