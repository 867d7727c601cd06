"""The 179 published mCODE STU4 examples (tests/data/mcode-stu4-examples, CC0), mapped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.mapping import collect_resources, map_draft_orders, map_patient
from cds_service.model.patient import PatientRecord, Presence, ReceptorStatus, TherapyClass, Trend
from cds_service.model.receptors import subtype_code

EXAMPLES = Path(__file__).parent.parent / "data" / "mcode-stu4-examples"
FILES = sorted(p for p in EXAMPLES.glob("*.json"))
JENNY = "cancer-patient-jenny-m"


def load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


def test_all_examples_are_there():
    resources = [json.loads(p.read_text("utf-8")) for p in FILES]
    assert len([r for r in resources if "resourceType" in r]) == 179
    assert (EXAMPLES / "SOURCE.md").exists()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_example_alone_maps_without_exception(path):
    resource = json.loads(path.read_text("utf-8"))
    record = map_patient(resource)
    assert isinstance(record, PatientRecord)
    for skipped in record.skipped:
        assert "could not be read" not in skipped.reason
    map_draft_orders(resource, context_resources=[resource])


def test_all_examples_together_map_without_exception():
    resources = [json.loads(p.read_text("utf-8")) for p in FILES]
    record = map_patient(resources)
    assert not any("could not be read" in s.reason for s in record.skipped)
    assert record.treatments == ()  # no example treats the brain
    jenny = map_patient(resources, patient_id=JENNY)
    assert (jenny.her2.status, jenny.er.status, jenny.pr.status) == (
        ReceptorStatus.NEGATIVE, ReceptorStatus.POSITIVE, ReceptorStatus.NEGATIVE)
    assert jenny.treatments == () and jenny.lesions == ()
    john = map_patient(resources, patient_id="cancer-patient-john-anyperson")
    # The brain metastasis example names its NSCLC primary: a metastasis of another cancer is
    # not counted as (breast cancer) brain metastasis, and the skip says why.
    assert not john.brain_metastases.present and not john.breast_cancer.present
    assert any("another primary" in s.reason for s in john.skipped)


def test_jenny_m_bundle():
    record = map_patient(load("Bundle-mcode-patient-bundle-jenny-m.json"))
    assert (record.patient_id, record.birth_date.isoformat(), record.gender) == (
        JENNY, "1965-01-01", "female")
    assert record.er.status is ReceptorStatus.POSITIVE
    assert record.pr.status is ReceptorStatus.NEGATIVE
    assert record.her2.status is ReceptorStatus.NEGATIVE
    assert record.er.sources == ("Observation/tumor-marker-test-er-jenny-m",)
    assert record.er.date.isoformat() == "2018-03-10"
    assert (record.ecog.value, record.ecog.date.isoformat()) == (0, "2018-04-12")
    assert subtype_code(record.her2.status, record.er.status, record.pr.status) == "luminal-a"
    # the chest-wall course (volumes qualified Entire) is not whole-brain radiotherapy, and the
    # breast tumour size (measured on a specimen) is not a brain lesion
    assert record.treatments == () and record.lesions == ()
    assert [(s.trend, s.date.isoformat()) for s in record.disease_statuses] == [
        (Trend.IMPROVED, "2018-11-01")]
    assert [(t.drug, t.therapy_class) for t in record.systemic_therapies] == [
        ("cyclophosphamide", TherapyClass.CHEMOTHERAPY),
        ("doxorubicin", TherapyClass.CHEMOTHERAPY),
        ("paclitaxel", TherapyClass.CHEMOTHERAPY),
        ("anastrozole", TherapyClass.HORMONAL)]
    # the primary is recorded in remission and no metastasis names it: not counted, and said so
    assert record.breast_cancer.presence is Presence.ABSENT
    assert [s.reference for s in record.skipped
            if not s.reason.startswith("unsupported type")] == [
        "Condition/primary-cancer-condition-jenny-m"]
    # the bundle's other types (DiagnosticReport, Specimen…) are named, never silently dropped
    unsupported = {s.reference.split("/")[0] for s in record.skipped
                   if s.reason.startswith("unsupported type")}
    assert "DiagnosticReport" in unsupported and not unsupported & {"Condition", "Observation"}


def test_jenny_m_tumor_markers_alone():
    record = map_patient([load(f"Observation-tumor-marker-test-{m}-jenny-m.json")
                          for m in ("er", "pr", "her2")])
    assert (record.er.status, record.pr.status, record.her2.status) == (
        ReceptorStatus.POSITIVE, ReceptorStatus.NEGATIVE, ReceptorStatus.NEGATIVE)


def test_jenny_m_ecog_alone():
    record = map_patient(load("Observation-ecog-performance-status-jenny-m.json"))
    assert record.ecog.value == 0 and record.ecog.source == (
        "Observation/ecog-performance-status-jenny-m")


def test_brain_metastasis_example():
    record = map_patient(load("Condition-secondary-cancer-condition-brain-mets.json"))
    assert record.brain_metastases.presence is Presence.PRESENT
    assert record.brain_metastases.sources == ("Condition/secondary-cancer-condition-brain-mets",)
    assert record.brain_metastases.onset.isoformat() == "2019-05-01"
    assert record.brain_metastases.codes == ("http://snomed.info/sct|94225005",)


def test_chest_wall_course_is_not_a_brain_treatment_even_with_its_volumes():
    record = map_patient([
        load("Procedure-radiotherapy-treatment-summary-chest-wall-jenny-m.json"),
        load("BodyStructure-jenny-m-chest-wall-treatment-volume.json"),
        load("BodyStructure-jenny-m-chest-wall-lymph-nodes-treatment-volume.json")])
    assert record.treatments == () and record.skipped == ()


def test_karnofsky_example():
    record = map_patient(load("Observation-karnofsky-performance-status-normal-activity.json"))
    assert (record.kps.value, record.kps.date.isoformat()) == (90, "2019-04-01")


@pytest.mark.parametrize("name", ["Observation-cancer-disease-status-improved.json",
                                  "Observation-cancer-disease-status-improved-brian-l.json",
                                  "Observation-cancer-disease-status-jenny-m.json"])
def test_disease_status_examples(name):
    statuses = map_patient(load(name)).disease_statuses
    assert [s.trend for s in statuses] == [Trend.IMPROVED]


def test_pathology_evidence_in_the_examples():
    assert map_patient(load("Observation-cancer-disease-status-improved.json")).disease_statuses[
        0].pathology_confirmed  # 108257001 anatomic pathology procedure
    assert not map_patient(load("Observation-cancer-disease-status-jenny-m.json")
                           ).disease_statuses[0].pathology_confirmed  # imaging


def test_breast_tumor_sizes_are_not_brain_lesions():
    with_tumor = map_patient([load("Observation-tumor-size-pathology.json"),
                              load("BodyStructure-tumor-lobular-carcinoma-left-breast.json")])
    assert with_tumor.lesions == () and with_tumor.skipped == ()
    specimen = map_patient(load("Observation-tumor-size-jenny-m.json"))
    assert specimen.lesions == () and specimen.skipped == ()


def test_primary_cancer_coded_by_breast_site_example():
    record = map_patient(load("Condition-primary-cancer-condition-breast.json"))
    assert record.breast_cancer.present


@pytest.mark.parametrize("name", ["Condition-primary-cancer-condition-nsclc.json",
                                  "Condition-primary-cancer-condition-cll.json",
                                  "Condition-primary-cancer-condition-brian-l.json"])
def test_other_primaries_are_not_breast_cancer(name):
    assert map_patient(load(name)).breast_cancer.presence is Presence.ABSENT


def test_surgery_examples_are_not_brain_surgery():
    for name in ("Procedure-cancer-related-surgical-procedure-jenny-m.json",
                 "Procedure-cancer-related-surgical-procedure-lobectomy.json"):
        assert map_patient(load(name)).treatments == ()


def test_stopped_and_completed_requests_are_not_active():
    resources = [load("MedicationRequest-cancer-related-medication-request-cisplatin.json"),
                 load("MedicationRequest-cancer-related-medication-request-cisplatin-stopped.json")]
    assert map_patient(resources).systemic_therapies == ()


def test_collect_flattens_the_genomics_bundle():
    bundle = load("Bundle-gx-genomic-bundle-adam-anyperson.json")
    assert len(collect_resources(bundle)) == len(bundle["entry"])
