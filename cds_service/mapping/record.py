"""`map_patient`: one patient's FHIR resources -> the typed, immutable `PatientRecord`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cds_service.mapping import codes
from cds_service.mapping.collect import collect_resources
from cds_service.mapping.conditions import map_conditions
from cds_service.mapping.context import Notes, ResourceIndex
from cds_service.mapping.lesions import map_lesions
from cds_service.mapping.medications import map_medications
from cds_service.mapping.observations import (
    ECOG,
    KARNOFSKY,
    latest_performance,
    map_performance,
    map_receptors,
)
from cds_service.mapping.selection import select
from cds_service.mapping.statuses import map_disease_statuses
from cds_service.mapping.treatments import map_treatments
from cds_service.mapping.validation import validate_resources
from cds_service.model.patient import PatientRecord, ReceptorStatus

# Names of missing fields (PatientRecord.missing); the modules add their own (treatment dates,
# radiotherapy technique, corticosteroid dose trend).
MISSING_BIRTH_DATE = "birth date"
MISSING_PERFORMANCE = "Karnofsky or ECOG performance status"
MISSING_MEASUREMENTS = "brain lesion measurements"
MISSING_CONDITIONS = "conditions (no Condition resources in the data)"
MISSING_CONDITIONS_SKIPPED = ("conditions (every Condition resource in the data was skipped: "
                              "see the skipped resources)")
# Resource types the mapping reads (Medication and ServiceRequest only through a reference); any
# other type is named as skipped instead of passing unnoticed.
READ_TYPES = frozenset({"Patient", "Condition", "Observation", "Procedure", "BodyStructure",
                        "MedicationRequest", "MedicationStatement", "Medication",
                        "ServiceRequest"})


def missing_receptor(marker: str) -> str:
    return f"{codes.RECEPTOR_NAMES[marker]} status"


def skip_unsupported_types(resources: list[Any], notes: Notes) -> None:
    for resource in resources:
        rtype = resource.get("resourceType")
        if rtype not in READ_TYPES:
            notes.skip(resource, f"unsupported type {rtype}: not read by the salvage model")


def map_patient(resources: Iterable[Any] | Any, *, patient_id: str | None = None,
                validate: bool = False) -> PatientRecord:
    """Map one patient's resources (any mix of resources, Bundles, lists, None).

    patient_id: the hook's context.patientId; resources about another patient are skipped. When
    None, the single Patient resource in the data (if there is exactly one) decides.
    validate: also validate each resource with fhir.resources (R4B) and record the ones that
    fail as skipped-with-reason (they are still mapped from their JSON). Off by default: it
    costs far more than the mapping itself.
    """
    notes = Notes()
    flat = collect_resources(resources)
    kept, person = select(flat, patient_id, notes)
    skip_unsupported_types(kept, notes)
    if validate:
        validate_resources(kept, notes)
    index = ResourceIndex(kept)

    conditions = map_conditions(index, notes)
    bodies = map_lesions(index, notes, conditions.cns_condition_refs)
    statuses = map_disease_statuses(index, notes, bodies)
    treatments = map_treatments(index, notes, bodies, conditions.cns_condition_refs, statuses)
    receptors = map_receptors(index, notes)
    kps_scores = map_performance(index, notes, KARNOFSKY)
    ecog_scores = map_performance(index, notes, ECOG)
    kps = latest_performance(kps_scores, KARNOFSKY)
    ecog = latest_performance(ecog_scores, ECOG)
    medications = map_medications(index, notes)

    missing: list[str] = []
    if person.birth_date is None:
        missing.append(MISSING_BIRTH_DATE)
    for marker, receptor in ((codes.HER2, receptors.her2), (codes.ER, receptors.er),
                             (codes.PR, receptors.pr)):
        if receptor.status is ReceptorStatus.UNKNOWN:
            conflict = " (latest results disagree)" if marker in receptors.conflicts else ""
            missing.append(missing_receptor(marker) + conflict)
    if kps is None and ecog is None:
        missing.append(MISSING_PERFORMANCE)
    cns = conditions.brain_metastases.present or conditions.leptomeningeal.present
    if cns and not any(lesion.measurements for lesion in bodies.lesions):
        missing.append(MISSING_MEASUREMENTS)
    if not index.of_type("Condition"):  # every ConditionFact is then UNKNOWN, not ABSENT
        skipped_any = any(r.get("resourceType") == "Condition" for r in flat)
        missing.append(MISSING_CONDITIONS_SKIPPED if skipped_any else MISSING_CONDITIONS)
    missing.extend(notes.missing)

    return PatientRecord(
        patient_id=person.patient_id,
        birth_date=person.birth_date,
        gender=person.gender,
        breast_cancer=conditions.breast_cancer,
        brain_metastases=conditions.brain_metastases,
        leptomeningeal=conditions.leptomeningeal,
        extracranial=conditions.extracranial,
        her2=receptors.her2,
        er=receptors.er,
        pr=receptors.pr,
        kps=kps,
        ecog=ecog,
        lesions=bodies.lesions,
        treatments=treatments,
        disease_statuses=statuses,
        steroids=medications.steroids,
        systemic_therapies=medications.systemic_therapies,
        symptoms=conditions.symptoms,
        missing=tuple(dict.fromkeys(missing)),
        skipped=notes.skipped,
        deceased=person.deceased,
        kps_scores=kps_scores,
        ecog_scores=ecog_scores,
        systemic_orders=medications.systemic_orders,
    )
