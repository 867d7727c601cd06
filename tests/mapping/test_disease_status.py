"""Documented disease status: trend codes, local/distant qualifier, focus, pathology evidence."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import ProgressionQualifier, Trend
from tests.support import fhir_builders as b
from tests.support.variants import PID, coded, edited, in_scope

VOLUME = b.rt_volume(PID, "v1", whole_brain=False, lesions=("L1",))
TUMOR = b.tumor(PID, "L1")


@pytest.mark.parametrize("code, trend", [
    ("271299001", Trend.WORSENED),
    ("359746009", Trend.STABLE),
    ("268910001", Trend.IMPROVED),
    ("709137006", Trend.UNDETERMINED),
    ("281900007", Trend.IMPROVED),  # no abnormality detected
])
def test_trend_codes(code, trend):
    status = b.disease_status(PID, "ds", "2024-01-05", "stable")
    status["valueCodeableConcept"] = coded(b.SNOMED, code)
    record = map_patient(in_scope(status))
    assert [(s.trend, s.date.isoformat(), s.source) for s in record.disease_statuses] == [
        (trend, "2024-01-05", "Observation/ds")]


def test_legacy_disease_status_code():
    status = b.disease_status(PID, "ds", "2024-01-05", "worsened")
    status["code"] = coded(b.LOINC, "88040-1")
    assert map_patient(in_scope(status)).disease_statuses[0].trend is Trend.WORSENED


def test_unknown_trend_is_skipped():
    status = b.disease_status(PID, "ds", "2024-01-05", "stable")
    status["valueCodeableConcept"] = coded(b.SNOMED, "12345")
    record = map_patient(in_scope(status))
    assert record.disease_statuses == () and "12345" in record.skipped[0].reason


@pytest.mark.parametrize("qualifier, expected", [
    ("local", ProgressionQualifier.LOCAL), ("distant", ProgressionQualifier.DISTANT),
    (None, None)])
def test_qualifier_on_the_value(qualifier, expected):
    status = b.disease_status(PID, "ds", "2024-01-05", "worsened", qualifier=qualifier)
    assert map_patient(in_scope(status)).disease_statuses[0].qualifier is expected


def test_qualifier_on_the_observation_and_unread_qualifiers():
    status = b.disease_status(PID, "ds", "2024-01-05", "worsened", qualifier="distant")
    moved = status["valueCodeableConcept"].pop("extension")
    status["extension"] = status["extension"] + moved
    assert map_patient(in_scope(status)).disease_statuses[0].qualifier is (
        ProgressionQualifier.DISTANT)
    nodal = b.disease_status(PID, "ds", "2024-01-05", "worsened", qualifier="local")
    nodal["valueCodeableConcept"]["extension"][0]["valueCodeableConcept"] = coded(
        b.SNOMED, "263820005", "Nodal")
    assert map_patient(in_scope(nodal)).disease_statuses[0].qualifier is None


@pytest.mark.parametrize("evidence, confirmed", [
    ("252416005", True), ("108257001", True), ("363679005", False), ("386344002", False)])
def test_pathology_confirmation(evidence, confirmed):
    status = b.disease_status(PID, "ds", "2024-01-05", "worsened")
    status["extension"][0]["valueCodeableConcept"] = coded(b.SNOMED, evidence)
    assert map_patient(in_scope(status)).disease_statuses[0].pathology_confirmed is confirmed
    assert map_patient(in_scope(b.disease_status(PID, "d2", "2024-01-05", "worsened",
                                                 pathology=True))).disease_statuses[0]\
        .pathology_confirmed


def test_focus_resolves_to_lesions_and_volumes():
    status = b.disease_status(PID, "ds", "2024-01-05", "worsened", qualifier="local",
                              focus=(VOLUME, b.brain_metastases(PID)))
    record = map_patient(in_scope(TUMOR, VOLUME, status))
    found = record.disease_statuses[0]
    assert found.focus == ("BodyStructure/v1", "Condition/brain-mets")
    assert (found.lesion_ids, found.volume_ids) == (("L1",), ("BodyStructure/v1",))
    by_tumor = b.disease_status(PID, "d2", "2024-01-05", "worsened", focus=(TUMOR,))
    assert map_patient(in_scope(TUMOR, by_tumor)).disease_statuses[0].lesion_ids == ("L1",)


def test_focus_not_in_the_data_is_kept_as_written():
    status = b.disease_status(PID, "ds", "2024-01-05", "worsened", focus=(VOLUME,))
    found = map_patient(in_scope(status)).disease_statuses[0]
    assert (found.focus, found.lesion_ids, found.volume_ids) == (("BodyStructure/v1",), (), ())


def test_statuses_in_date_order_and_entered_in_error_ignored():
    late = b.disease_status(PID, "late", "2024-03-01", "worsened")
    early = b.disease_status(PID, "early", "2023-03-01", "stable")
    wrong = edited(b.disease_status(PID, "wrong", "2024-04-01", "improved"),
                   status="entered-in-error")
    undated = edited(b.disease_status(PID, "undated", "x", "stable"), effectiveDateTime=None)
    record = map_patient(in_scope(late, wrong, undated, early))
    assert [s.source for s in record.disease_statuses] == [
        "Observation/early", "Observation/late", "Observation/undated"]
    assert record.skipped[0].reference == "Observation/wrong"
