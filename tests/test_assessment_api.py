"""POST /api/assessment (api-contract.md) on a minimal Flask app holding only this blueprint."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from cds_service.assessment_api import bp
from tests import fhir_builders as b
from tests import synthetic_patients as syn


@pytest.fixture
def api():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


def post(api, body, query: str = "?date=2024-03-01", content_type: str = "application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.post(f"/api/assessment{query}", data=data, content_type=content_type)


def test_in_field_progression_bundle_gives_the_contract_json(api) -> None:
    response = post(api, b.collection(syn.progressive_after_srs_in_field()))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["assessment_date"] == "2024-03-01"
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"
    assert body["performance_status"] == {"kps": 80, "ecog": None, "good": True, "basis": "KPS 80"}
    assert body["subtype"]["code"] == "her2"
    assert body["rano_bm"]["category"] == "PD"
    assert [o["rank"] for o in body["options"]] == list(range(1, len(body["options"]) + 1))
    srs = next(o for o in body["options"] if o["code"] == "srs")
    assert {"total_dose_gy": 20.0, "fractions": 1, "lesion": "lesion-A"} .items() \
        <= srs["regimens"][0].items()
    assert {w["code"] for w in body["warnings"]} >= {"radionecrosis-risk",
                                                     "pseudoprogression-possible"}
    assert isinstance(body["gpa"]["score"], float)


@pytest.mark.parametrize("bundle_type", ["collection", "searchset", "transaction"])
def test_each_accepted_bundle_type(api, bundle_type: str) -> None:
    bundle = b.transaction(syn.disseminated_after_wbrt())
    bundle["type"] = bundle_type
    response = post(api, bundle)
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "disseminated-progression-after-wbrt"


def test_date_changes_the_assessment(api) -> None:
    bundle = b.collection(syn.progressive_after_srs_in_field())
    before = post(api, bundle, "?date=2023-12-01").get_json()  # before the 18 mm scan
    assert before["situation"]["code"] == "no-progression"
    assert before["options"] == []


def test_default_date_is_today(api) -> None:
    response = post(api, b.collection(syn.untreated_bcbm()), query="")
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "not-salvage"


@pytest.mark.parametrize("value", ["2024-13-01", "01/03/2024", "2024-3-1", "today", ""])
def test_bad_date_is_400_naming_date(api, value: str) -> None:
    response = post(api, b.collection(syn.untreated_bcbm()), f"?date={value}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad-request" and body["field"] == "date"
    assert "date" in body["message"]


@pytest.mark.parametrize(("body", "content_type", "field"), [
    ("{not json", "application/json", "(body)"),
    ("", "application/json", "(body)"),
    ("[1, 2]", "application/json", "(body)"),
    (json.dumps({"resourceType": "Bundle", "type": "collection"}), "text/plain", "Content-Type"),
    (json.dumps({"resourceType": "Patient", "id": "x"}), "application/json", "resourceType"),
    (json.dumps({"resourceType": "Bundle", "type": "batch", "entry": []}), "application/json",
     "type"),
    (json.dumps({"resourceType": "Bundle", "type": "document"}), "application/json", "type"),
    (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": {}}),
     "application/json", "entry"),
    (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": ["x"]}),
     "application/json", "entry[0]"),
    (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": 3}]}),
     "application/json", "entry[0].resource"),
    (json.dumps({"resourceType": "Bundle", "type": "collection",
                 "entry": [{"resource": {"id": "no-type"}}]}), "application/json",
     "entry[0].resource"),
])
def test_bad_body_is_400_with_a_message(api, body: str, content_type: str, field: str) -> None:
    response = post(api, body, content_type=content_type)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["error"] == "bad-request"
    assert payload["field"] == field
    assert payload["message"]


def test_fhir_json_media_type_is_accepted(api) -> None:
    response = post(api, b.collection(syn.untreated_bcbm()), content_type="application/fhir+json")
    assert response.status_code == 200


def test_empty_bundle_is_not_applicable_not_an_error(api) -> None:
    response = post(api, {"resourceType": "Bundle", "type": "collection", "entry": []})
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "not-applicable"


def test_garbage_inside_resources_never_500(api) -> None:
    weird = [{"resourceType": "Observation", "id": "w1", "code": "x", "valueQuantity": "y",
              "effectiveDateTime": "yesterday"},
             {"resourceType": "Condition", "id": "w2", "code": {"coding": "nope"},
              "onsetDateTime": 5},
             {"resourceType": "Procedure", "id": "w3", "performedPeriod": []},
             {"resourceType": "BodyStructure", "id": "w4", "identifier": [None, 3]}]
    response = post(api, b.collection(weird + syn.progressive_after_srs_in_field()))
    assert response.status_code == 200


def test_two_patients_in_one_bundle_is_400(api) -> None:
    resources = syn.untreated_bcbm() + syn.disseminated_after_wbrt()
    response = post(api, b.collection(resources))
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "entry" and "2 Patient resources" in body["message"]
