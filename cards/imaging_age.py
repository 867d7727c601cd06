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
from cds_service.model.vocabulary import OptionCode

ALWAYS_RECOMMENDED = frozenset({OptionCode.TUMOR_BOARD})  # the board decides, whatever the data's age
MAIN_INDICATOR = "warning"  # progressive BCBM: action is due
OUTDATED_INDICATOR = "info"  # the data are too old to call for action on these options


def latest_imaging_date(assessment: Assessment) -> date | None:
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


def imaging_age_line(assessment: Assessment) -> str:
    """Plain text (no markup): "latest imaging 2024-02-01, 10 months old" — prefixed with
    "OUTDATED DATA:" and "repeat brain MRI first" when the model flags the imaging as old."""
    latest = latest_imaging_date(assessment)
    if latest is None:
        text = "no dated imaging on record"
    else:
        text = (f"latest imaging {latest.isoformat()}, "
                f"{age_text(latest, assessment.assessment_date)} old")
    if is_outdated(assessment):
        return f"OUTDATED DATA: {text} — repeat brain MRI first"
    return text


# What the summary says first when a step must come before any option (model/first_steps.py)
FIRST_STEP_SUMMARIES = {
    "radionecrosis-work-up": "Work up radionecrosis or oedema first.",
    "confirm-progression-mri": "Repeat MRI first: a new lesion on immunotherapy is not PD alone.",
}


def no_imaging(assessment: Assessment) -> bool:
    """No brain imaging on record at all: nothing current to act on (named as missing)."""
    return assessment.imaging is None


def summary_with_imaging_age(summary: str, assessment: Assessment) -> str:
    """The summary, led by what must come first: a repeat MRI when the imaging is outdated or
    absent, else the model's first step (the rest may be cut to fit)."""
    imaging = assessment.imaging
    if imaging is not None and imaging.outdated:  # is_outdated, with `imaging` narrowed
        age = age_text(imaging.latest_date, assessment.assessment_date)
        return f"Brain MRI {age} old: repeat MRI first. {summary}"
    if no_imaging(assessment):
        return f"No brain MRI on record: MRI first. {summary}"
    for step in assessment.first_steps:
        if step.code in FIRST_STEP_SUMMARIES:
            return f"{FIRST_STEP_SUMMARIES[step.code]} {summary}"
    return summary


def on_hold(assessment: Assessment) -> bool:
    """A step must come before any salvage option: a repeat/first MRI, the radionecrosis
    work-up or a confirming MRI (no local option is pre-selected then)."""
    return is_outdated(assessment) or no_imaging(assessment) or bool(assessment.first_steps)


def main_indicator(assessment: Assessment) -> str:
    """info when the data cannot carry a decision yet (old or no imaging, progression to be
    confirmed); warning otherwise (a work-up is itself due)."""
    unconfirmed = any(s.code == "confirm-progression-mri" for s in assessment.first_steps)
    if is_outdated(assessment) or no_imaging(assessment) or unconfirmed:
        return OUTDATED_INDICATOR
    return MAIN_INDICATOR


def recommended_when_current(recommended: set[str], assessment: Assessment) -> set[str]:
    """The option codes to recommend: on hold, only the tumour-board referral."""
    return recommended & ALWAYS_RECOMMENDED if on_hold(assessment) else recommended
