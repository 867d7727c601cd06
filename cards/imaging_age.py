"""The age of the brain imaging on the main card (clinical-model §10), kept apart from the card's
layout so that any main-card design calls the same three functions.

When the latest brain imaging is older than the model's limit (`Assessment.imaging.outdated`),
the card says so before anything else — in the summary and in the first line of the detail —
names a repeat brain MRI as the first step, and is shown as `info`: the options below it rest on
images too old to act on without a new scan. For the same reason no local option is pre-selected
(`isRecommended`); the tumour-board referral still is.
"""

from __future__ import annotations

from cds_service.model.assessment import Assessment

ALWAYS_RECOMMENDED = frozenset({"tumor-board"})  # the board decides, whatever the data's age
MAIN_INDICATOR = "warning"  # progressive BCBM: action is due
OUTDATED_INDICATOR = "info"  # the data are too old to call for action on these options


def outdated(assessment: Assessment) -> bool:
    return assessment.imaging is not None and assessment.imaging.outdated


def imaging_age_line(assessment: Assessment) -> str | None:
    """The detail's first line when the imaging is outdated (None otherwise)."""
    if not outdated(assessment):
        return None
    age = assessment.imaging
    return (f"**Latest brain imaging {age.latest_date.isoformat()}, {age.age_days} days before "
            f"this assessment (limit {age.limit_days} days): repeat brain MRI first**, then "
            "decide from the new images.")


def summary_with_imaging_age(summary: str, assessment: Assessment) -> str:
    """The summary, led by the imaging's age when it is outdated (the rest may be cut)."""
    if not outdated(assessment):
        return summary
    return f"Brain MRI {assessment.imaging.age_days} days old: repeat MRI first. {summary}"


def main_indicator(assessment: Assessment) -> str:
    return OUTDATED_INDICATOR if outdated(assessment) else MAIN_INDICATOR


def with_imaging_age_line(detail: str, assessment: Assessment) -> str:
    line = imaging_age_line(assessment)
    return f"{line}\n\n{detail}" if line else detail


def recommended_when_current(recommended: set[str], assessment: Assessment) -> set[str]:
    """The option codes to recommend: with outdated imaging, only the tumour-board referral."""
    return recommended & ALWAYS_RECOMMENDED if outdated(assessment) else recommended
