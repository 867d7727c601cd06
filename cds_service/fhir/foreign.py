"""Prefetched data about another patient than the hook's context patient (clinical-model §10).

A prefetch key whose value holds even one resource about someone else was filled by the wrong
query, so none of it can be trusted: the key is treated as absent (fetched from `fhirServer`, or
412 when required and not obtainable), and the discarded resources are named.
"""

from __future__ import annotations

from typing import Any

from cds_service.mapping.collect import walk_resources
from cds_service.mapping.context import subject_key
from cds_service.mapping.read import ref_key, reference_of, text

SHOWN = 3  # resources named in a note; the rest are counted
# A Bundle holds further resources, a Patient is compared by its own id, not a subject.
_NOT_PLAIN_TYPES = frozenset({"Bundle", "Patient"})


def about_another_patient(value: Any, patient_id: Any) -> list[str]:
    """"Type/id" of each resource in a prefetch value that is not about `patient_id`."""
    pid = text(patient_id)
    if pid is None:
        return []
    me = f"Patient/{pid.removeprefix('Patient/')}"
    plain = ref_key(me) == me  # a subject spelled exactly `me` then reads back as `me`
    if plain and _all_entries_about(value, me):
        return []
    found = []
    for resource in walk_resources(value):  # duplicates are dropped below
        subject = resource.get("subject")
        if plain and type(subject) is dict and subject.get("reference") == me:
            if resource.get("resourceType") != "Patient":
                continue  # about this patient (most of a chart): subject_key would say `me`
        if resource.get("resourceType") == "Patient":
            if reference_of(resource) != me:
                found.append(reference_of(resource))
            continue
        subject = subject_key(resource)
        if subject and subject.startswith("Patient/") and subject != me:
            found.append(reference_of(resource))
    return list(dict.fromkeys(found))


def _all_entries_about(value: Any, me: str) -> bool:
    """True when `value` is a Bundle every entry of which holds a resource (neither a Bundle nor
    a Patient) whose subject is spelled exactly `me`: most of a chart, which the walk below would
    find wholly about this patient. Checked in one pass over the entries, without the walk's
    copies (`urn:uuid:` aliases are never `me`, so rewriting them changes no such subject)."""
    if type(value) is not dict or value.get("resourceType") != "Bundle":
        return False
    entries = value.get("entry")
    if type(entries) is not list:
        return False
    for entry in entries:
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is not dict:
            return False
        subject = resource.get("subject")
        if type(subject) is not dict or subject.get("reference") != me:
            return False
        rtype = resource.get("resourceType")
        if type(rtype) is not str or rtype in _NOT_PLAIN_TYPES or not rtype.strip():
            return False
    return True


def foreign_prefetch_note(key: str, foreign: list[str]) -> str:
    shown = ", ".join(foreign[:SHOWN]) + (f" and {len(foreign) - SHOWN} more"
                                          if len(foreign) > SHOWN else "")
    return (f"{key}: the prefetched data held resources about another patient ({shown}): "
            "discarded, the key treated as not prefetched")
