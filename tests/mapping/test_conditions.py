"""Conditions: one case per accepted code, status rules, and the symptom table."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import Presence
from tests.support import fhir_builders as b
from tests.support.variants import PID, edited

ICD = b.ICD10CM
FIELDS = {"breast": "breast_cancer", "brain": "brain_metastases", "lmd": "leptomeningeal",
          "extracranial": "extracranial"}


def fact(record, kind):
    return getattr(record, FIELDS[kind])


@pytest.mark.parametrize("kind, system, code", [
    ("breast", b.SNOMED, "254837009"),
    ("breast", b.SNOMED, "353431000119107"),
    ("breast", b.SNOMED, "372064008"),
    ("breast", ICD, "C50.911"),
    ("breast", ICD, "C50.811"),
    ("breast", ICD, "C50"),
    ("breast", "urn:oid:2.16.840.1.113883.6.90", "C50.412"),  # ICD-10-CM by OID
    ("brain", b.SNOMED, "94225005"),
    ("brain", ICD, "C79.31"),
    ("brain", ICD, "C7931"),  # without the dot
    ("lmd", ICD, "C79.32"),
    ("lmd", ICD, "C79.49"),
    ("extracranial", b.SNOMED, "94222008"),
    ("extracranial", b.SNOMED, "94381002"),
    ("extracranial", b.SNOMED, "94391008"),
    ("extracranial", b.SNOMED, "94493005"),
    ("extracranial", b.SNOMED, "94161006"),
    ("extracranial", ICD, "C78.01"),
    ("extracranial", ICD, "C78.7"),
    ("extracranial", ICD, "C79.00"),
    ("extracranial", ICD, "C79.11"),
    ("extracranial", ICD, "C79.2"),
    ("extracranial", ICD, "C79.51"),
    ("extracranial", ICD, "C79.52"),
    ("extracranial", ICD, "C79.61"),
    ("extracranial", ICD, "C79.72"),
    ("extracranial", ICD, "C79.81"),
    ("extracranial", ICD, "C79.89"),
    ("extracranial", ICD, "C79.9"),
])
def test_accepted_condition_codes(kind, system, code):
    record = map_patient([b.patient(PID), b.condition("c", PID, system, code)])
    assert fact(record, kind).presence is Presence.PRESENT
    assert fact(record, kind).sources == ("Condition/c",)
    assert fact(record, kind).codes == (f"{system}|{code}",)
    others = [k for k in FIELDS if k != kind]
    assert all(fact(record, k).presence is Presence.ABSENT for k in others)


@pytest.mark.parametrize("system, code", [
    (ICD, "C77.3"),  # lymph nodes: not in the extracranial set of the profile
    (ICD, "C79.40"),  # nervous system, unspecified
    (ICD, "C71.9"),  # primary brain cancer (the CodeX brain example's reasonCode)
    (ICD, "C34.90"),  # lung primary
    (b.SNOMED, "254637007"),  # NSCLC
    (b.SNOMED, "128462008"),  # secondary malignant neoplasm, site unspecified
    ("http://example.org/local", "C50.9"),  # right code, unknown system
    ("", "94225005"),  # no system: cannot tell
])
def test_other_codes_match_nothing(system, code):
    record = map_patient([b.patient(PID), b.condition("c", PID, system, code)])
    assert all(fact(record, k).presence is Presence.ABSENT for k in FIELDS)


@pytest.mark.parametrize("clinical, verification, counts", [
    ("active", "confirmed", True),
    ("recurrence", "confirmed", True),
    ("relapse", "confirmed", True),
    ("active", None, True),
    ("active", "provisional", True),
    ("inactive", "confirmed", False),
    ("remission", "confirmed", False),
    ("resolved", "confirmed", False),
    ("active", "refuted", False),
    ("active", "entered-in-error", False),
])
def test_condition_status_rules(clinical, verification, counts):
    bm = b.brain_metastases(PID, clinical_status=clinical, verification=verification)
    record = map_patient([b.patient(PID), bm])
    assert record.brain_metastases.present is counts
    skipped = [s for s in record.skipped if s.reference == "Condition/brain-mets"]
    assert bool(skipped) is (not counts)  # never silently dropped


def test_missing_clinical_status_counts_unless_abated():
    no_status = edited(b.brain_metastases(PID), clinicalStatus=None)
    assert map_patient([b.patient(PID), no_status]).brain_metastases.present
    abated = edited(no_status, abatementDateTime="2023-01-01")
    record = map_patient([b.patient(PID), abated])
    assert not record.brain_metastases.present
    assert "abatement" in record.skipped[0].reason


def test_onset_is_the_earliest_and_period_start_or_recorded_date_count():
    first = edited(b.brain_metastases(PID, cid="bm1"), onsetDateTime=None,
                   onsetPeriod={"start": "2021-03-04", "end": "2021-05-01"})
    second = edited(b.brain_metastases(PID, cid="bm2"), onsetDateTime=None,
                    recordedDate="2022-02-02")
    record = map_patient([b.patient(PID), second, first])
    assert record.brain_metastases.onset.isoformat() == "2021-03-04"
    assert record.brain_metastases.sources == ("Condition/bm2", "Condition/bm1")


def test_partial_onset_is_not_padded():
    bm = b.brain_metastases(PID, onset="2022-05")
    assert map_patient([b.patient(PID), bm]).brain_metastases.onset is None


def test_breast_primary_in_remission_counts_when_an_active_metastasis_names_it():
    primary = b.breast_cancer(PID, clinical_status="remission")
    linked = b.brain_metastases(PID, primary=primary)
    record = map_patient([b.patient(PID), primary, linked])
    assert record.breast_cancer.present and record.breast_cancer.sources == (
        "Condition/breast-cancer",)
    unlinked = map_patient([b.patient(PID), primary, b.brain_metastases(PID)])
    assert not unlinked.breast_cancer.present
    assert "remission" in unlinked.skipped[0].reason
    resolved_link = b.brain_metastases(PID, primary=primary, clinical_status="resolved")
    assert not map_patient([b.patient(PID), primary, resolved_link]).breast_cancer.present


def test_general_cancer_code_with_breast_body_site_is_breast_cancer():
    condition = b.condition("bc", PID, b.SNOMED, "363346000",
                            profile="mcode-primary-cancer-condition")
    condition["bodySite"] = [b.cc(b.SNOMED, "80248007", "Left breast structure")]
    assert map_patient([b.patient(PID), condition]).breast_cancer.present
    lung_site = edited(condition, bodySite=[b.cc(b.SNOMED, "39607008")])
    assert not map_patient([b.patient(PID), lung_site]).breast_cancer.present


def test_no_condition_resources_means_unknown_not_absent():
    record = map_patient([b.patient(PID), b.karnofsky(PID, 80)])
    assert record.breast_cancer.presence is Presence.UNKNOWN
    assert record.extracranial.presence is Presence.UNKNOWN
    assert "conditions (no Condition resources in the data)" in record.missing
    with_one = map_patient([b.patient(PID), b.breast_cancer(PID)])
    assert with_one.extracranial.presence is Presence.ABSENT


@pytest.mark.parametrize("system, code, display", [
    (b.SNOMED, "91175000", "seizure"),
    (b.SNOMED, "50582007", "hemiparesis"),
    (b.SNOMED, "2032001", "cerebral oedema"),
    (b.SNOMED, "1148717008", "raised intracranial pressure"),
    (ICD, "R56.9", "seizure"),
    (ICD, "G40.909", "seizure"),
    (ICD, "G81.94", "hemiparesis"),
    (ICD, "G93.6", "cerebral oedema"),
    (ICD, "G93.5", "raised intracranial pressure"),
])
def test_neurological_symptom_table(system, code, display):
    symptom = b.condition("s", PID, system, code, onset="2024-01-20")
    record = map_patient([b.patient(PID), symptom])
    assert [(s.code, s.display, s.date.isoformat(), s.source) for s in record.symptoms] == [
        (code, display, "2024-01-20", "Condition/s")]


def test_symptom_display_from_the_coding_and_status_rules():
    seizure = b.symptom(PID, "sz", onset="2024-01-20")
    assert map_patient([b.patient(PID), seizure]).symptoms[0].display == "Seizure"
    resolved = b.condition("old", PID, b.SNOMED, "91175000", clinical_status="resolved")
    refuted = b.condition("no", PID, b.SNOMED, "91175000", verification="refuted")
    record = map_patient([b.patient(PID), resolved, refuted])
    assert record.symptoms == ()
    assert {s.reference for s in record.skipped} == {"Condition/old", "Condition/no"}


def test_symptoms_are_in_date_order_undated_last():
    late = b.symptom(PID, "a", onset="2024-03-01")
    early = b.symptom(PID, "b", code="50582007", display="Hemiparesis", onset="2023-01-01")
    undated = edited(b.symptom(PID, "c"), onsetDateTime=None)
    record = map_patient([b.patient(PID), undated, late, early])
    assert [s.source for s in record.symptoms] == ["Condition/b", "Condition/a", "Condition/c"]
