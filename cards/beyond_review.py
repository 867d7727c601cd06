"""The card's "beyond the review" lines: the items of ``Assessment.beyond_review``, each naming its
source (model/beyond_review.py). Kept apart from the review's evidence: their own block on the
main card, never inside an option's rationale or a warning."""

from __future__ import annotations

from cards.render import md
from cds_service.model.assessment import Assessment

TITLE = "Beyond the review (guidelines)"


def beyond_review_lines(assessment: Assessment) -> list[str]:
    """One line per source, its points together: "LITT … If radionecrosis: … (EANO-ESMO 2021)"."""
    by_source: dict[str, list[str]] = {}
    for item in assessment.beyond_review:
        by_source.setdefault(item.source, []).append(md(item.text))
    return [f"{' '.join(texts)} ({md(source)})" for source, texts in by_source.items()]
