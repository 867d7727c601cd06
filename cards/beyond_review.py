"""The card's "beyond the review" lines: one per item of ``Assessment.beyond_review``, each saying
it is not from the review and naming its source (model/beyond_review.py). Kept apart from the
review's evidence: its own section, never inside an option's rationale or a warning."""

from __future__ import annotations

from cards.render import bullets, md, section
from cds_service.model.assessment import Assessment

TITLE = "Beyond the review (guidelines)"


def beyond_review_line(text: str, source: str) -> str:
    return f"Beyond the review: {md(text)} ({md(source)})"


def beyond_review_section(assessment: Assessment) -> str:
    """The section, or "" when there is nothing beyond the review to say."""
    return section(TITLE, bullets(beyond_review_line(b.text, b.source)
                                  for b in assessment.beyond_review))
