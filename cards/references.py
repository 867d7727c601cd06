"""The references section of a card: the review's numbered references, from the evidence registry.

Bracketed numbers on cards ("[40]") are the review's own reference numbers; this section lists the
ones a card cites with authors, title, journal, year, volume and pages from
`cds_service.model.evidence` (a DOI or URL link where the registry has one — it never invents a
DOI). A number the registry does not hold is still listed ("reference n of the review"), never
dropped silently.
"""

from __future__ import annotations

import functools

from collections.abc import Iterable

from cards import codes
from cards.render import md, section
from cds_service.model import evidence
from cds_service.security.markdown import markdown_link

MAX_AUTHORS = 3


@functools.cache  # the evidence registry is static: each reference is rendered once per process
def reference_line(number: int) -> str:
    try:
        ref = evidence.reference(number)
    except KeyError:
        return f"[{number}] Reference {number} of {codes.REVIEW_SHORT}."
    names = [a.split(",")[0].strip() for a in ref.authors[:MAX_AUTHORS]]
    authors = ", ".join(names)
    if ref.et_al or len(ref.authors) > MAX_AUTHORS:
        authors += " et al"
    venue = " ".join(str(p) for p in (ref.journal, ref.year) if p)
    if ref.volume:
        venue += f";{ref.volume}"
    if ref.pages:
        venue += f":{ref.pages}"
    sentences = []
    for part in (authors, ref.title, venue):
        part = (part or "").strip().rstrip(".")
        if part:
            sentences.append(part if part[-1] in "?!" else part + ".")
    text = f"[{number}] " + md(" ".join(sentences))
    if ref.doi:
        doi = str(ref.doi).removeprefix("https://doi.org/").removeprefix("doi:")
        text += " " + markdown_link(f"doi:{doi}", f"https://doi.org/{doi}")
    elif ref.url:
        text += " " + markdown_link("link", ref.url)
    return text


def references_section(numbers: Iterable[int]) -> str:
    lines = [f"- {reference_line(n)}" for n in sorted(set(numbers))]
    return section("References (numbered as in the review)", "\n".join(lines))
