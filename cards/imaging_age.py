"""The date and age of the imaging a card rests on, for the first line of the main card.

One home for "how old are the data": the main card's first line and the SMART plan both call
`imaging_age_line`. The date is the latest lesion measurement on or before the assessment date
(`latest_imaging_date`); whether it is *outdated* is the model's verdict (the `outdated-imaging`
warning), never decided here.
"""

from __future__ import annotations

from datetime import date

from cds_service.model.assessment import Assessment
from cds_service.model.patient import PatientRecord

OUTDATED_WARNING = "outdated-imaging"


def latest_imaging_date(assessment: Assessment, record: PatientRecord | None) -> date | None:
    """The most recent dated lesion measurement on or before the assessment date (or, without
    the record, the RANO-BM current scan)."""
    on = assessment.assessment_date
    days = [m.date for lesion in (record.lesions if record else ()) for m in lesion.measurements
            if m.date <= on]
    if assessment.rano_bm.current_date and assessment.rano_bm.current_date <= on:
        days.append(assessment.rano_bm.current_date)
    return max(days) if days else None


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
    return any(w.code == OUTDATED_WARNING for w in assessment.warnings)


def imaging_age_line(assessment: Assessment, record: PatientRecord | None) -> str:
    """Plain text (no markup): "latest imaging 2024-02-01, 10 months old" — prefixed with
    "OUTDATED DATA:" and "re-image before deciding" when the model flags the imaging as old."""
    latest = latest_imaging_date(assessment, record)
    if latest is None:
        text = "no dated imaging on record"
    else:
        text = (f"latest imaging {latest.isoformat()}, "
                f"{age_text(latest, assessment.assessment_date)} old")
    if is_outdated(assessment):
        return f"OUTDATED DATA: {text} — re-image before deciding"
    return text
