"""The date and age of the imaging a card rests on (clinical-model §10), kept apart from the card's
layout: the main card's summary and first line and the SMART plan all call these functions.

The date and whether it is *outdated* are the model's (`Assessment.imaging`, one home); nothing is
decided here. When the imaging is outdated the card says so before anything else — in the
summary and in the first line of the detail — names a repeat brain MRI as the first step, and is
shown as `info`: the options below it rest on images too old to act on without a new scan. For the
same reason no local option is pre-selected (`isRecommended`); the tumour-board referral still is.
"""

from __future__ import annotations

from datetime import date

from cds_service.model.assessment import Assessment
from cds_service.model.patient import PatientRecord

ALWAYS_RECOMMENDED = frozenset({"tumor-board"})  # the board decides, whatever the data's age
MAIN_INDICATOR = "warning"  # progressive BCBM: action is due
OUTDATED_INDICATOR = "info"  # the data are too old to call for action on these options


def latest_imaging_date(assessment: Assessment, record: PatientRecord | None = None
                        ) -> date | None:
    """The latest brain imaging on or before the assessment date, as the model read it."""
    return assessment.imaging.latest_date if assessment.imaging else None


def age_text(since: date, on: date) -> str:
    """"12 days", "5 months", "2 years 10 months" between two dates (never negative)."""
    days = max((on - since).days, 0)
    if days < 62:
        return f"{days} day{'s' if days != 1 else ''}"
    months = (on.year - since.year) * 12 + on.month - since.month - (on.day < since.day)
    if months < 24:
        return f"{months} months"
    years, rest = divmod(months, 12)
    return f"{years} years" + (f" {rest} month{'s' if rest != 1 else ''}" if rest else "")


def is_outdated(assessment: Assessment) -> bool:
    return assessment.imaging is not None and assessment.imaging.outdated


def imaging_age_line(assessment: Assessment, record: PatientRecord | None = None) -> str:
    """Plain text (no markup): "latest imaging 2024-02-01, 10 months old" — prefixed with
    "OUTDATED DATA:" and "repeat brain MRI first" when the model flags the imaging as old."""
    latest = latest_imaging_date(assessment, record)
    if latest is None:
        text = "no dated imaging on record"
    else:
        text = (f"latest imaging {latest.isoformat()}, "
                f"{age_text(latest, assessment.assessment_date)} old")
    if is_outdated(assessment):
        return f"OUTDATED DATA: {text} — repeat brain MRI first"
    return text


def summary_with_imaging_age(summary: str, assessment: Assessment) -> str:
    """The summary, led by the imaging's age when it is outdated (the rest may be cut)."""
    if not is_outdated(assessment):
        return summary
    return f"Brain MRI {assessment.imaging.age_days} days old: repeat MRI first. {summary}"


def main_indicator(assessment: Assessment) -> str:
    return OUTDATED_INDICATOR if is_outdated(assessment) else MAIN_INDICATOR


def recommended_when_current(recommended: set[str], assessment: Assessment) -> set[str]:
    """The option codes to recommend: with outdated imaging, only the tumour-board referral."""
    return recommended & ALWAYS_RECOMMENDED if is_outdated(assessment) else recommended
