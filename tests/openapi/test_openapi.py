"""`/openapi.json`: a valid OpenAPI 3.1 document, and the real service's answers conform to it.

The document is checked with openapi-spec-validator; requests and responses exchanged with the
real service (gunicorn) are checked with openapi-core against the document the service serves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate

from cds_service.ops import demo
from tests.conftest import ROOT
from tests.support.hook_requests import full_prefetch, hook_request

EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture(scope="module")
def document(live_service) -> dict:
    response = requests.get(live_service.url("/openapi.json"), timeout=10)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def api(document) -> OpenAPI:
    """The served document, less its security requirements: the live service runs in --dev mode
    (no CDS client JWT; the JWT itself is tested in tests/security)."""
    relaxed = copy.deepcopy(document)
    for operations in relaxed["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return OpenAPI.from_dict(relaxed)


def test_hook_endpoints_require_the_client_jwt(document) -> None:
    for path in ("/cds-services", "/cds-services/{service_id}",
                 "/cds-services/{service_id}/feedback", "/api/assessment"):
        for operation in document["paths"][path].values():
            assert operation["security"] == [{"cdsClientJwt": []}]


def exchange(api: OpenAPI, method: str, url: str, body: dict | None = None,
             **params: str) -> requests.Response:
    """Sends one request to the live service; checks request and response against the API."""
    prepared = requests.Request(method, url, json=body, params=params or None)
    response = requests.Session().send(prepared.prepare(), timeout=60)
    api.validate_request(RequestsOpenAPIRequest(prepared))
    api.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))
    return response


def test_document_is_valid_openapi_3_1(document) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")
    paths = set(document["paths"])
    assert {"/cds-services", "/cds-services/{service_id}", "/cds-services/{service_id}/feedback",
            "/api/assessment", "/health", "/openapi.json", "/"} <= paths


def test_the_served_document_lists_every_service(document, live_service) -> None:
    ids = {s["id"] for s in requests.get(live_service.url("/cds-services"), timeout=10)
           .json()["services"]}
    schema = document["paths"]["/cds-services/{service_id}"]["post"]["parameters"][0]["schema"]
    assert set(schema["enum"]) == ids


def test_discovery_and_health_conform(api, live_service) -> None:
    assert exchange(api, "GET", live_service.url("/cds-services")).status_code == 200
    assert exchange(api, "GET", live_service.url("/health")).status_code == 200


@pytest.mark.parametrize("patient", demo.CATALOG, ids=lambda p: p.name)
def test_patient_view_and_assessment_answers_conform(api, live_service, patient) -> None:
    bundle = demo.bundle(patient.name)
    resources = [e["resource"] for e in bundle["entry"]]
    body = hook_request(patient.patient_id, prefetch=full_prefetch(resources))
    answer = exchange(api, "POST", live_service.url("/cds-services/bcbm-salvage"), body)
    assert answer.status_code == 200 and bool(answer.json()["cards"]) == patient.in_scope
    assessed = exchange(api, "POST", live_service.url("/api/assessment"), bundle,
                        date="2024-03-01")
    assert assessed.status_code == 200
    assert assessed.json()["situation"]["code"] == patient.situation


@pytest.mark.parametrize("example", ["patient-view-request.json", "order-sign-request.json"])
def test_readme_examples_and_their_feedback_conform(api, live_service, example: str) -> None:
    body = json.loads(Path(EXAMPLES / example).read_text("utf-8"))
    service = "bcbm-salvage" if body["hook"] == "patient-view" else "bcbm-order-sign"
    answer = exchange(api, "POST", live_service.url(f"/cds-services/{service}"), body)
    card = answer.json()["cards"][0]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden",
                              "outcomeTimestamp": "2026-11-28T10:00:00Z"}]}
    stored = exchange(api, "POST", live_service.url(f"/cds-services/{service}/feedback"),
                      feedback)
    assert stored.json() == {"stored": 1}


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/cds-services/no-such-service", {"hook": "patient-view"}, 404),
    ("/cds-services/bcbm-salvage", {"hook": "patient-view", "context": {}}, 400),
    ("/api/assessment", {"resourceType": "Patient"}, 400),
])
def test_error_answers_conform(api, live_service, path: str, body: dict, status: int) -> None:
    prepared = requests.Request("POST", live_service.url(path), json=body).prepare()
    response = requests.Session().send(prepared, timeout=30)
    assert response.status_code == status
    api.validate_response(RequestsOpenAPIRequest(requests.Request("POST", live_service.url(path),
                                                                  json=body)),
                          RequestsOpenAPIResponse(response))


def test_precondition_failed_conforms(api, live_service) -> None:
    body = hook_request("nobody", prefetch={"patient": None, "conditions": None})
    body["prefetch"] = {}  # neither prefetched nor a fhirServer to fetch from
    response = exchange_any(api, live_service.url("/cds-services/bcbm-salvage"), body)
    assert response.status_code == 412


def exchange_any(api: OpenAPI, url: str, body: dict) -> requests.Response:
    request = requests.Request("POST", url, json=body)
    response = requests.Session().send(request.prepare(), timeout=30)
    api.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))
    return response


def test_index_page_links_discovery_api_and_health(live_service) -> None:
    from cds_service import __version__

    page = requests.get(live_service.url("/"), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for link in ('href="cds-services"', 'href="openapi.json"', 'href="health"', __version__):
        assert link in page.text


def test_docs_api_md_describes_every_endpoint_field_and_code(document) -> None:
    from cards import codes

    text = (ROOT / "docs" / "api.md").read_text("utf-8")
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path.replace('{service_id}', '{id}')}" in text, path
    for member in document["components"]["schemas"]["Assessment"]["properties"]:
        assert f"| `{member}` |" in text, member
    for table in (codes.SALVAGE_OPTIONS, codes.SYSTEMIC_REGIMENS, codes.SALVAGE_WARNINGS,
                  codes.OVERRIDE_REASONS, codes.ORDER_OVERRIDE_REASONS):
        for code in table:
            assert f"| `{code}` |" in text, code


def test_no_document_points_outside_the_repository() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "shared/" not in path.read_text("utf-8"), path
