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


def about_another_patient(value: Any, patient_id: Any) -> list[str]:
    """"Type/id" of each resource in a prefetch value that is not about `patient_id`."""
    pid = text(patient_id)
    if pid is None:
        return []
    me = f"Patient/{pid.removeprefix('Patient/')}"
    plain = ref_key(me) == me  # a subject spelled exactly `me` then reads back as `me`
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


def foreign_prefetch_note(key: str, foreign: list[str]) -> str:
    shown = ", ".join(foreign[:SHOWN]) + (f" and {len(foreign) - SHOWN} more"
                                          if len(foreign) > SHOWN else "")
    return (f"{key}: the prefetched data held resources about another patient ({shown}): "
            "discarded, the key treated as not prefetched")
