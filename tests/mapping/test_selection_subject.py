"""`select` and the foreign-patient check read a subject spelled exactly as the context patient
without normalising it: the answer must be the one the full reading (subject_key) gives, for
every spelling of the subject and of the patient id."""

from __future__ import annotations

import pytest

from cds_service.fhir.foreign import about_another_patient
from cds_service.mapping.context import Notes, subject_key
from cds_service.mapping.selection import select

SUBJECTS = ["Patient/p1", "Patient/p2", "Patient/p1/_history/3", "http://ehr/fhir/Patient/p1",
            "Patient/p1?x=1", " Patient/p1", "Patient/p1/", "Group/g1", "#p1", "", None]
PATIENT_IDS = ["p1", "Patient/p1", "p1?x", "a/b", " p1 "]


def _observation(subject: str | None, field: str = "subject") -> dict:
    resource = {"resourceType": "Observation", "id": "o1", "status": "final",
                "code": {"text": "anything"}}
    if subject is not None:
        resource[field] = {"reference": subject}
    return resource


def _about_someone_else(resource: dict, patient_id: str) -> bool:
    """The full reading, as `select` made it before the fast path."""
    me = f"Patient/{patient_id.strip().removeprefix('Patient/')}"
    subject = subject_key(resource)
    return bool(subject and subject.startswith("Patient/") and subject != me)


@pytest.mark.parametrize("patient_id", PATIENT_IDS)
@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("field", ["subject", "patient"])
def test_kept_exactly_when_the_full_reading_keeps_it(subject: str | None, patient_id: str,
                                                     field: str) -> None:
    resource = _observation(subject, field)
    kept, _ = select([resource], patient_id, Notes())
    expected = not _about_someone_else(resource, patient_id)
    assert (kept == [resource]) is expected
    assert (about_another_patient([resource], patient_id) == []) is expected


def test_subject_read_before_patient() -> None:
    resource = {**_observation("Patient/p1"), "patient": {"reference": "Patient/p2"}}
    kept, _ = select([resource], "p1", Notes())
    assert kept == [resource]
    assert about_another_patient([resource], "p1") == []
