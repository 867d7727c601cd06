"""Data the service must not over-read (clinical-model §10): a deceased patient, and brain
imaging too old to decide on.

Pure functions of the record (already cut to the assessment date) and the date.
"""

from __future__ import annotations

from datetime import date

from cds_service.model.assessment import NOT_APPLICABLE, ImagingAge, Situation, Warning
from cds_service.model.constants import ModelConfig
from cds_service.model.patient import PatientRecord
from cds_service.model.situation import Progression
from cds_service.model.vocabulary import Severity, WarningCode

DECEASED_LABEL = "Patient deceased: no salvage decision"


def deceased_situation(record: PatientRecord, on: date) -> tuple[Situation, Progression] | None:
    """Silence for a patient who died on or before `on` (reusing `not-applicable`: the
    api-contract situation codes are fixed), with the reason as evidence."""
    death = record.deceased
    if death is None or not death.on_or_before(on):
        return None
    return Situation(code=NOT_APPLICABLE, label=DECEASED_LABEL, evidence=(death.text(),),
                     sources=(death.source,)), Progression()


def latest_brain_imaging(record: PatientRecord) -> date | None:
    """The date of the latest brain lesion measurement (the brain imaging facts the mapping
    keeps; each is one MRI of one lesion)."""
    dates = [m.date for lesion in record.lesions for m in lesion.measurements]
    return max(dates) if dates else None


def imaging_age(record: PatientRecord, on: date, config: ModelConfig) -> ImagingAge | None:
    latest = latest_brain_imaging(record)
    if latest is None:
        return None  # no imaging at all: a missing-data case, not outdated
    return ImagingAge(latest_date=latest, age_days=(on - latest).days,
                      limit_days=config.outdated_imaging_days)


def outdated_imaging_warning(age: ImagingAge | None) -> Warning | None:
    if age is None or not age.outdated:
        return None
    return Warning(
        code=WarningCode.OUTDATED_IMAGING, severity=Severity.INFO,
        message=(f"The latest brain imaging is {age.age_days} days old "
                 f"({age.latest_date.isoformat()}), older than {age.limit_days} days: repeat brain "
                 "MRI first, and decide on salvage treatment from the new images. Surveillance "
                 "MRI is advised every 2-3 months (EANO-ESMO 2021, beyond the review)."))
