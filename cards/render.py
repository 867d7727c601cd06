"""Rendering helpers: markdown templates (compiled once), escaping, numbers, the card envelope.

Every value that comes from FHIR data — names, display strings, ids, free text, lesion ids, and
anything the model built from them (evidence sentences, warnings, missing-data notes) — goes through
`md()` (markdown) or `plain()` (summaries, labels, descriptions) before it is placed on a card. Both
delegate to `cards.markdown`. Templates are `string.Template` files in
`cards/templates/`; a missing placeholder is an error (`substitute`, never `safe_substitute`).
"""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from cards.markdown import escape_markdown, safe_text

SUMMARY_MAX = 139  # CDS Hooks 2.0: "<140-character summary"
# A suggestion's label is one line an EHR shows on a button: data could make it any length (a
# 100,061-character label, issue 16 item 11).
LABEL_MAX = 400  # the longest label the model makes today is ~245 characters
LESION_NAME_MAX = 40  # characters of a lesion's name on a label or in a note (cut with "…")
# A lesion name that could be read as a dose or as another part of a label ("24 Gy × 1",
# "L1: 30 Gy in 5 × 6 Gy; L2") is shown quoted after the word "lesion".
_DOSE_LIKE = re.compile(r"\d\s*(?:c?gy|fx|fractions?)\b|×|\bx\s*\d|[:;]|\bin\s+\d", re.I)
_QUOTES = str.maketrans({'"': "'", "\u201c": "'", "\u201d": "'"})
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


# --- templates -------------------------------------------------------------------------------
@cache
def template(name: str) -> string.Template:
    # next to this module (package data), found by path: works whether `cards` is imported as a
    # regular package or through an editable install's namespace mapping
    text = (TEMPLATE_DIR / f"{name}.md").read_text("utf-8")
    compiled = string.Template(text)
    if not compiled.is_valid():
        raise ValueError(f"cards/templates/{name}.md is not a valid template")
    return compiled


def render(name: str, **values: str) -> str:
    """Fill a template; sections left empty disappear without leaving runs of blank lines."""
    text = template(name).substitute(values)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


# --- escaping --------------------------------------------------------------------------------
def md(value: Any) -> str:
    """A value from data, safe inside markdown."""
    return escape_markdown("" if value is None else str(value))


def plain(value: Any) -> str:
    """A value from data, safe as plain text (summary, suggestion label, action description)."""
    return safe_text("" if value is None else str(value))


def lesion_name(value: Any) -> str:
    """A lesion's name from data, for a label or note: plain, at most `LESION_NAME_MAX`
    characters, and quoted after "lesion" when it could be read as a dose or label syntax."""
    name = safe_text("" if value is None else str(value), limit=LESION_NAME_MAX)
    if _DOSE_LIKE.search(name):
        return f"lesion \u201c{name.translate(_QUOTES)}\u201d"
    return name


def lesion_md(value: Any) -> str:
    """`lesion_name` inside markdown (card detail)."""
    return md(lesion_name(value))


def label_text(label: str) -> str:
    """A suggestion label cut to `LABEL_MAX` characters."""
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1].rstrip() + "…"


# --- numbers and references -------------------------------------------------------------------
def num(value: float | int | None, digits: int = 1) -> str:
    """20.0 -> "20", 2.5 -> "2.5", None -> "–"."""
    if value is None:
        return "–"
    rounded = round(float(value), digits)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:g}"


def ref_numbers(numbers: Iterable[int]) -> str:
    """[30, 31, 32, 35] -> "[30–32, 35]" (the review's reference numbers); "" when none."""
    values = sorted(set(numbers))
    if not values:
        return ""
    runs: list[str] = []
    start = prev = values[0]
    for n in values[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        if start == prev:
            runs.append(str(start))
        elif prev == start + 1:
            runs.append(f"{start}, {prev}")
        else:
            runs.append(f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return "[" + ", ".join(runs) + "]"


def regimen_text(total_dose_gy: float, fractions: int) -> str:
    """"20 Gy × 1" or "30 Gy in 5 × 6 Gy"."""
    if fractions == 1:
        return f"{num(total_dose_gy)} Gy × 1"
    return f"{num(total_dose_gy)} Gy in {fractions} × {num(total_dose_gy / fractions, 2)} Gy"


# --- markdown building blocks -----------------------------------------------------------------
def bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items if item)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    body = [list(r) for r in rows]
    if not body:
        return ""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in body]
    return "\n".join(lines)


def section(title: str, body: str) -> str:
    """A titled section, or "" when there is nothing to say (no empty headings on cards)."""
    body = body.strip()
    return f"**{title}**\n\n{body}\n" if body else ""


# --- summaries and the card envelope ------------------------------------------------------------
_PARENTHETICAL = re.compile(r" ?\([^()]*\)")


def _last_space_outside_parentheses(text: str) -> int | None:
    depth, best = 0, None
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == " " and depth == 0:
            best = index
    return best


def one_line(text: str, limit: int = SUMMARY_MAX) -> str:
    """Single line, at most `limit` characters. Too long: parenthetical asides are left out
    (last first) until it fits; only then is it cut — at a word boundary outside any
    parenthesis, with an ellipsis — so that no word and no parenthesis is ever cut in two."""
    text = " ".join(text.split())
    while len(text) > limit:
        asides = list(_PARENTHETICAL.finditer(text))
        if not asides:
            break
        text = text[: asides[-1].start()] + text[asides[-1].end():]
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = _last_space_outside_parentheses(cut)
    if space:
        cut = cut[:space]
    elif "(" in cut:
        cut = cut[: cut.index("(")]
    return cut.rstrip(" ,;:–-") + "…"


def new_uuid() -> str:
    return str(uuid.uuid4())


def _dropped(cleaned: Any) -> bool:
    """`cleaned` is null, "", [] or {} (exact builtin types answered without building [] / {})."""
    kind = type(cleaned)
    if kind is dict or kind is list or kind is str:
        return not cleaned
    if cleaned is None:
        return True
    if kind is int or kind is float or kind is bool:
        return False
    return cleaned == "" or cleaned == [] or cleaned == {}


def strip_empty(value: Any) -> Any:
    """Drop null, "", [] and {} members recursively (CDS Hooks: SHALL NOT be null or empty)."""
    kind = type(value)
    # fast paths for the JSON types (exact types only; anything else takes the general path below)
    if kind is dict:
        out = {}
        for key, item in value.items():
            kind = type(item)
            if kind is str:  # leaves inline: kept as they are unless blank
                if item.strip():
                    out[key] = item
            elif kind is int or kind is float or kind is bool:
                out[key] = item
            elif item is not None:
                cleaned = strip_empty(item)
                if not _dropped(cleaned):
                    out[key] = cleaned
        return out
    if kind is list:
        return [v for v in map(strip_empty, value) if not _dropped(v)]
    if kind is str:
        return value if value.strip() else ""
    if value is None or kind is int or kind is float or kind is bool:
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            cleaned = strip_empty(item)
            if cleaned is None or cleaned == "" or cleaned == [] or cleaned == {}:
                continue
            out[key] = cleaned
        return out
    if isinstance(value, (list, tuple)):
        items = [strip_empty(v) for v in value]
        return [v for v in items if not (v is None or v == "" or v == [] or v == {})]
    if isinstance(value, str):
        return value if value.strip() else ""
    return value


INDICATORS = ("info", "warning", "critical")


def card(*, summary: str, indicator: str, source: Mapping[str, Any], detail: str | None = None,
         suggestions: Sequence[Mapping[str, Any]] = (), selection_behavior: str | None = None,
         override_reasons: Sequence[Mapping[str, Any]] = (),
         links: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """A CDS Hooks 2.0 card with a fresh uuid, its summary cut to one line < 140 characters."""
    if indicator not in INDICATORS:
        raise ValueError(f"indicator must be one of {INDICATORS}, not {indicator!r}")
    if suggestions and selection_behavior not in ("at-most-one", "any"):
        raise ValueError("a card with suggestions needs selectionBehavior at-most-one or any")
    kept = [s for s in map(_clean_suggestion, suggestions) if s]
    body: dict[str, Any] = {
        "uuid": new_uuid(),
        "summary": one_line(summary),
        "indicator": indicator,
        "detail": detail,
        "source": dict(source),
        "suggestions": kept,
        "selectionBehavior": selection_behavior if kept else None,
        "overrideReasons": list(override_reasons),
        "links": list(links),
    }
    cleaned = {}
    for key, value in body.items():
        value = value if key == "suggestions" else strip_empty(value)  # suggestions: clean
        if not _dropped(value):
            cleaned[key] = value
    if not cleaned.get("summary"):
        raise ValueError("a card needs a non-empty summary")
    return cleaned


def _clean_suggestion(suggestion: Mapping[str, Any]) -> dict[str, Any]:
    """`strip_empty` of a suggestion, except the resources of its actions: every builder strips
    or checks them before they get here (`cards.suggestions.stripped_and_validated`,
    `validate_resource`): walking each resource again would be work done twice."""
    out: dict[str, Any] = {}
    for key, value in suggestion.items():
        if key == "label" and isinstance(value, str):
            value = label_text(value)
        if key != "actions":
            cleaned = strip_empty(value)
            if not _dropped(cleaned):
                out[key] = cleaned
            continue
        actions = []
        for action in value or ():
            resource = action.get("resource")
            kept = strip_empty({k: v for k, v in action.items() if k != "resource"})
            if resource:
                kept["resource"] = resource
            if kept:
                actions.append(kept)
        if actions:
            out["actions"] = actions
    return out
