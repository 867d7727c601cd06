"""collect_resources: every shape a hook call brings, flattened and de-duplicated."""

from __future__ import annotations

import copy

import pytest

from cds_service.mapping import collect_resources, map_patient
from tests.support import fhir_builders as b
from tests.support.variants import PID, edited

PATIENT = b.patient(PID)
KPS = b.karnofsky(PID, 80)


def searchset(*resources: b.Resource) -> b.Resource:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"http://ehr/fhir/{r['resourceType']}/{r.get('id', 'b')}",
                       "resource": r, "search": {"mode": "match"}} for r in resources]}


def ids(resources: list[dict]) -> list[str]:
    return [f"{r['resourceType']}/{r.get('id')}" for r in resources]


@pytest.mark.parametrize("value, expected", [
    (PATIENT, ["Patient/p1"]),
    (None, []),
    ([], []),
    ([PATIENT, None, KPS], ["Patient/p1", "Observation/kps-2024-03-01"]),
    ((PATIENT, KPS), ["Patient/p1", "Observation/kps-2024-03-01"]),
    (searchset(PATIENT, KPS), ["Patient/p1", "Observation/kps-2024-03-01"]),
    (b.collection([PATIENT, KPS]), ["Patient/p1", "Observation/kps-2024-03-01"]),
    (b.transaction([PATIENT, KPS]), ["Patient/p1", "Observation/kps-2024-03-01"]),
    ([searchset(PATIENT), [searchset(KPS)]], ["Patient/p1", "Observation/kps-2024-03-01"]),
    (searchset(b.collection([PATIENT])), ["Patient/p1"]),  # nested Bundle
    ({"resourceType": "Bundle", "type": "searchset"}, []),  # empty search
    ("not a resource", []),
    ({"no": "resourceType"}, []),
    (42, []),
], ids=["resource", "none", "empty-list", "list-with-none", "tuple", "searchset", "collection",
        "transaction", "nested-lists", "nested-bundle", "empty-bundle", "string", "no-type",
        "number"])
def test_collect_accepts_every_shape(value, expected):
    assert ids(collect_resources(value)) == expected


def test_several_values_are_flattened_together():
    assert ids(collect_resources(PATIENT, None, searchset(KPS))) == [
        "Patient/p1", "Observation/kps-2024-03-01"]


def test_duplicates_keep_the_latest_last_updated():
    old = edited(KPS, meta={"lastUpdated": "2024-03-01T10:00:00Z"}, valueInteger=60)
    new = edited(KPS, meta={"lastUpdated": "2024-03-02T10:00:00+00:00"}, valueInteger=90)
    for order in ([old, new], [new, old]):
        flat = collect_resources(order)
        assert len(flat) == 1 and flat[0]["valueInteger"] == 90


def test_duplicates_without_last_updated_keep_the_first():
    first, second = edited(KPS, valueInteger=60), edited(KPS, valueInteger=90)
    assert [r["valueInteger"] for r in collect_resources([first, second])] == [60]


def test_resources_without_id_are_all_kept():
    anonymous = edited(KPS, id=None)
    assert len(collect_resources([anonymous, anonymous])) == 2


def test_operation_outcome_is_kept_and_recorded_not_mapped():
    outcome = {"resourceType": "OperationOutcome", "id": "oo", "issue": [
        {"severity": "error", "code": "timeout", "diagnostics": "Observation search timed out"}]}
    flat = collect_resources(searchset(PATIENT), outcome)
    assert ids(flat) == ["Patient/p1", "OperationOutcome/oo"]
    record = map_patient(flat)
    assert [s.reference for s in record.skipped] == ["OperationOutcome/oo"]
    assert "Observation search timed out" in record.skipped[0].reason


def test_transaction_urn_uuid_references_are_rewritten_to_type_id():
    tumor = {"resourceType": "BodyStructure", "meta": {"profile": [b.MCODE + "mcode-tumor"]},
             "identifier": [{"use": "usual", "value": "L1"}],
             "location": b.cc(b.SNOMED, "12738006"), "patient": {"reference": "urn:uuid:pat"}}
    size = b.tumor_size(PID, {"resourceType": "BodyStructure", "id": "x"}, "2024-01-01", 12)
    size["focus"] = [{"reference": "urn:uuid:tum"}]
    size["subject"] = {"reference": "urn:uuid:pat"}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:pat", "resource": b.patient(PID),
         "request": {"method": "PUT", "url": "Patient/p1"}},
        {"fullUrl": "urn:uuid:tum", "resource": tumor,
         "request": {"method": "POST", "url": "BodyStructure"}},
        {"fullUrl": "urn:uuid:siz", "resource": size,
         "request": {"method": "POST", "url": "Observation"}},
    ]}
    flat = collect_resources(bundle)
    assert flat[1]["id"] == "tum" and flat[2]["focus"] == [{"reference": "BodyStructure/tum"}]
    assert flat[2]["subject"] == {"reference": "Patient/p1"}
    record = map_patient(bundle)
    assert [lesion.id for lesion in record.lesions] == ["L1"]
    assert record.lesions[0].measurements[0].longest_diameter_mm == 12


def test_input_is_not_modified():
    bundle = b.transaction([PATIENT, KPS])
    before = repr(bundle)
    collect_resources(bundle)
    assert repr(bundle) == before


def test_resources_are_not_copied_and_a_collection_is_not_collected_again():
    patient, kps = copy.deepcopy(PATIENT), copy.deepcopy(KPS)
    flat = collect_resources({"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": patient}, {"resource": kps}]})
    assert flat[0] is patient and flat[1] is kps  # shared, not copied: nothing downstream writes
    assert collect_resources(flat) is flat
    assert collect_resources(flat, None) == flat and collect_resources(list(flat)) == flat


def test_fhir_resources_models_are_accepted():
    from fhir.resources.R4B.patient import Patient

    model = Patient.model_validate({"resourceType": "Patient", "id": "m1",
                                    "birthDate": "1970-01-02"})
    flat = collect_resources(model)
    assert ids(flat) == ["Patient/m1"] and flat[0]["birthDate"] == "1970-01-02"
