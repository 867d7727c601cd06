"""Which patient the data is about, that patient's demographics, and the resources that belong to
someone else (never mapped into this patient's record, and recorded as skipped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cds_service.mapping.context import Notes, subject_key
from cds_service.mapping.read import Json, obj, objs, parse_date, ref_key, reference_of, text
from cds_service.model.patient import Deceased

NOT_PATIENT_DATA = frozenset({"OperationOutcome"})
# Types never taken by their subject alone: not patient data, or a Patient (its own id decides).
_NOT_BY_SUBJECT = NOT_PATIENT_DATA | {"Patient"}


@dataclass(frozen=True)
class Demographics:
    patient_id: str | None
    birth_date: date | None
    gender: str | None
    deceased: Deceased | None = None


def bare_id(patient_id: str | None) -> str | None:
    value = text(patient_id)
    return value.removeprefix("Patient/") if value else None


def select(resources: Sequence[Json], patient_id: str | None, notes: Notes
           ) -> tuple[list[Json], Demographics]:
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    pid = bare_id(patient_id)
    if pid is None:
        ids = list(dict.fromkeys(text(p.get("id")) for p in patients))
        if len(ids) == 1:
            pid = ids[0]
        elif len(ids) > 1:
            for candidate in patients:
                notes.skip(candidate, "several Patient resources and no patient id: no "
                                    "demographics read, resources not filtered by patient")
    kept: list[Json] = []
    me = f"Patient/{pid}" if pid else None
    mine = _plain_reference(me)
    for resource in resources:
        subject = resource.get("subject") if mine is not None else None
        if (type(subject) is dict and subject.get("reference") == mine
                and resource.get("resourceType") not in _NOT_BY_SUBJECT):
            kept.append(resource)  # most of a chart: about the patient, as `me` spells it
            continue  # what subject_key would say (`mine` reads back as itself), unnormalised
        rtype = resource.get("resourceType")
        if rtype in NOT_PATIENT_DATA:
            notes.skip(resource, f"{rtype} (not patient data): {_outcome_text(resource)}")
            continue
        if me and rtype == "Patient" and reference_of(resource) != me:
            notes.skip(resource, f"about another patient ({reference_of(resource)} is not {me})")
            continue
        subject = subject_key(resource)
        if me and subject and subject.startswith("Patient/") and subject != me:
            notes.skip(resource, f"about another patient ({subject}, not {me})")
            continue
        kept.append(resource)
    patient = next((p for p in patients if me and reference_of(p) == me), None)
    return kept, _demographics(pid, patient, notes)


def _plain_reference(me: str | None) -> str | None:
    """`me` when a subject reference spelled exactly so is this patient (it reads back as
    itself: no base URL, version or query), else None."""
    return me if me is not None and ref_key(me) == me else None


def _demographics(pid: str | None, patient: Json | None, notes: Notes) -> Demographics:
    if patient is None:
        return Demographics(pid, None, None)
    birth = parse_date(patient.get("birthDate"))
    if birth is not None and birth.day is None:
        # Not padded to 1 January: an age from a year alone can be off by one, and the GPA age
        # band (< 60) turns on it. The birth date is reported as missing instead.
        notes.skip(patient, f"birthDate '{birth.raw}' has no day: age not computed")
    elif birth is None and "birthDate" in patient:
        notes.skip(patient, f"birthDate {patient.get('birthDate')!r} is not a FHIR date")
    gender = text(patient.get("gender"))
    return Demographics(pid, birth.day if birth else None, gender.lower() if gender else None,
                        _deceased(patient, notes))


def _deceased(patient: Json, notes: Notes) -> Deceased | None:
    """Patient.deceased[x] (CM §10). A partial date counts from its first day: a patient who
    may have died in that month is not given a full salvage card for it. An unreadable date is
    still a death on record (the date is what is unknown), and is named."""
    if patient.get("deceasedBoolean") is True:
        return Deceased(source=reference_of(patient))
    if "deceasedDateTime" not in patient:
        return None
    when = parse_date(patient.get("deceasedDateTime"))
    if when is None:
        notes.skip(patient, f"deceasedDateTime {patient.get('deceasedDateTime')!r} is not a FHIR "
                            "dateTime: deceased, date unknown")
        return Deceased(source=reference_of(patient))
    return Deceased(source=reference_of(patient), since=when.start, raw=when.raw)


def _outcome_text(outcome: Json) -> str:
    for issue in objs(outcome.get("issue")):
        parts = [text(issue.get("severity")), text(issue.get("code")),
                 text(issue.get("diagnostics")) or text(obj(issue.get("details")).get("text"))]
        shown = " ".join(p for p in parts if p)
        if shown:
            return shown[:200]
    return "no issue text"
