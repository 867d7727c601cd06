"""The test FHIR server is a real FHIR R4 server (Medplum's engine) and its test controls work."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

# The fixtures come from the plugin, which tests/conftest.py registers (pytest_plugins).
from tests.support.fhir_server_plugin import FhirServerError, FhirTestServer

pytestmark = pytest.mark.integration

LOINC = "http://loinc.org"
FHIR_JSON = {"Accept": "application/fhir+json"}


def observation(code: str, patient_ref: str, value: float | None = None) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": patient_ref},
    }
    if value is not None:
        obs["valueQuantity"] = {"value": value}
    return obs


def patient_with_observations(server: FhirTestServer) -> str:
    """Loads one Patient (server-assigned id via urn:uuid) and three Observations; returns the id."""
    patient_urn = "urn:uuid:6f1d3c1e-0000-4000-8000-000000000001"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_urn,
                "resource": {"resourceType": "Patient", "name": [{"family": "Test"}], "gender": "female"},
                "request": {"method": "POST", "url": "Patient"},
            },
            *[
                {
                    "resource": observation(code, patient_urn),
                    "request": {"method": "POST", "url": "Observation"},
                }
                for code in ("89243-0", "89247-1", "8302-2")
            ],
        ],
    }
    result = server.load_bundle(bundle)
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"][:3] for e in result["entry"]] == ["201"] * 4
    location = result["entry"][0]["response"]["location"]
    assert location.startswith("Patient/")
    return str(location.split("/")[1])


def search(server: FhirTestServer, query: str, **kw: Any) -> dict[str, Any]:
    response = requests.get(f"{server.base_url}/{query}", headers=FHIR_JSON, timeout=10, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    bundle: dict[str, Any] = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return bundle


def codes(bundle: dict[str, Any]) -> list[str]:
    return sorted(e["resource"]["code"]["coding"][0]["code"] for e in bundle.get("entry", []))


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((entry["url"] for entry in bundle.get("link", []) if entry["relation"] == relation), None)


def test_transaction_then_search_by_bare_patient_id_and_code_or_list(
    clean_fhir_server: FhirTestServer,
) -> None:
    server = clean_fhir_server
    pid = patient_with_observations(server)

    # the urn:uuid reference was rewritten to the server-assigned id
    everything = search(server, f"Observation?patient={pid}")
    assert everything["total"] == 3
    assert {e["resource"]["subject"]["reference"] for e in everything["entry"]} == {f"Patient/{pid}"}
    assert all(
        e["fullUrl"] == f"{server.base_url}/Observation/{e['resource']['id']}" for e in everything["entry"]
    )

    wanted = search(server, f"Observation?patient={pid}&code={LOINC}|89243-0,{LOINC}|89247-1")
    assert codes(wanted) == ["89243-0", "89247-1"]

    # the same query as requests encodes it
    encoded = search(
        server, "Observation", params={"patient": pid, "code": f"{LOINC}|89243-0,{LOINC}|89247-1"}
    )
    assert codes(encoded) == ["89243-0", "89247-1"]

    assert codes(search(server, f"Observation?subject=Patient/{pid}&code={LOINC}|8302-2")) == ["8302-2"]
    assert codes(search(server, f"Observation?patient=Patient/{pid}")) == ["8302-2", "89243-0", "89247-1"]
    assert search(server, "Observation?patient=someone-else").get("entry") is None

    patient = server.get(f"Patient/{pid}")
    assert patient["gender"] == "female" and patient["meta"]["versionId"]


def test_paging_next_links_point_back_to_this_server(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    server.load_resources(
        [{"resourceType": "Patient", "id": "pg"}]
        + [observation("8302-2", "Patient/pg", float(i)) for i in range(7)]
    )
    page = search(server, "Observation?patient=pg&_count=3")
    assert page["total"] == 7
    seen: list[float] = []
    pages = 0
    while True:
        pages += 1
        seen += [e["resource"]["valueQuantity"]["value"] for e in page.get("entry", [])]
        next_url = link(page, "next")
        if next_url is None:
            break
        assert next_url.startswith(server.base_url + "/Observation?")
        assert "patient=pg" in next_url
        page = search(server, next_url[len(server.base_url) + 1 :])
        assert pages < 10
    assert pages == 3
    assert sorted(seen) == [float(i) for i in range(7)]
    assert link(page, "previous") is not None


def test_default_page_size_is_20(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    server.load_resources([{"resourceType": "Patient", "id": f"p{i}"} for i in range(25)])
    first = search(server, "Patient")
    assert first["total"] == 25 and len(first["entry"]) == 20
    rest = requests.get(str(link(first, "next")), timeout=10).json()
    assert len(rest["entry"]) == 5 and link(rest, "next") is None


def test_failed_transaction_is_rolled_back(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    bad = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "t1"},
                "request": {"method": "PUT", "url": "Patient/t1"},
            },
            {
                "resource": {"resourceType": "Patient", "id": "other"},
                "request": {"method": "PUT", "url": "Patient/t2"},
            },
        ],
    }
    with pytest.raises(FhirServerError, match="HTTP 400"):
        server.load_bundle(bad)
    assert requests.get(f"{server.base_url}/Patient/t1", timeout=10).status_code == 404


def test_rest_create_update_delete(clean_fhir_server: FhirTestServer) -> None:
    base = clean_fhir_server.base_url
    created = requests.post(
        f"{base}/Patient", json={"resourceType": "Patient", "gender": "female"}, timeout=10
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    assert created.headers["Location"].startswith(f"{base}/Patient/{pid}")
    updated = requests.put(
        f"{base}/Patient/{pid}", json={"resourceType": "Patient", "id": pid, "gender": "male"}, timeout=10
    )
    assert updated.status_code == 200 and updated.json()["gender"] == "male"
    assert requests.delete(f"{base}/Patient/{pid}", timeout=10).status_code == 200
    assert requests.get(f"{base}/Patient/{pid}", timeout=10).status_code == 404
    bad = requests.post(
        f"{base}/Patient", data="{not json", headers={"Content-Type": "application/fhir+json"}, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_metadata_and_cors(clean_fhir_server: FhirTestServer) -> None:
    base = clean_fhir_server.base_url
    response = requests.get(f"{base}/metadata", timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    capability = response.json()
    assert capability["resourceType"] == "CapabilityStatement"
    assert capability["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in capability["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Condition", "Procedure", "MedicationRequest"} <= types

    preflight = requests.options(
        f"{base}/Observation",
        headers={
            "Origin": "http://ehr.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def test_delay_fault_applies(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    server.set_faults(delay_ms=800)
    started = time.monotonic()
    assert requests.get(f"{server.base_url}/Patient", timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.8
    server.reset_faults()
    started = time.monotonic()
    assert requests.get(f"{server.base_url}/Patient", timeout=10).status_code == 200
    assert time.monotonic() - started < 0.6


def test_stats_prove_concurrent_requests(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    delay_s = 0.5
    server.set_faults(delay_ms=int(delay_s * 1000))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(
            pool.map(
                lambda i: requests.get(f"{server.base_url}/Observation?code={i}", timeout=10).status_code,
                range(5),
            )
        )
    elapsed = time.monotonic() - started
    assert statuses == [200] * 5
    assert elapsed < 5 * delay_s, f"requests were serialized: {elapsed:.2f} s"
    stats = server.stats()
    assert stats["requests"] == 5
    assert stats["max_in_flight"] >= 2
    assert stats["in_flight"] == 0
    assert sorted(r["path"] for r in stats["recent"]) == [f"/fhir/Observation?code={i}" for i in range(5)]


def test_bearer_token_is_accepted_and_only_its_length_recorded(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    token = "eyJhbGciOiJSUzI1NiJ9.secret-test-token-value.signature"
    response = requests.get(
        f"{server.base_url}/Patient", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200
    stats = server.stats()
    assert stats["last_request_had_bearer"] is True
    assert stats["last_bearer_length"] == len(token)
    assert token not in str(stats)
    assert token not in server.log_tail(100_000)
    requests.get(f"{server.base_url}/Patient", timeout=10)
    assert server.stats()["last_request_had_bearer"] is False


def test_status_fault_matches_and_can_be_limited(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    server.set_faults(status=500, match="Observation")
    failed = requests.get(f"{server.base_url}/Observation?patient=x", timeout=10)
    assert failed.status_code == 500
    assert failed.json()["resourceType"] == "OperationOutcome"
    assert requests.get(f"{server.base_url}/Patient", timeout=10).status_code == 200
    server.reset_faults()
    assert requests.get(f"{server.base_url}/Observation?patient=x", timeout=10).status_code == 200

    server.set_faults(status=503, match="Condition", times=1)
    first = requests.get(f"{server.base_url}/Condition", timeout=10)
    assert first.status_code == 503 and first.headers["Retry-After"] == "1"
    assert requests.get(f"{server.base_url}/Condition", timeout=10).status_code == 200
    assert server.stats()["faults_applied"] == 2


def test_mode_faults(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    base = server.base_url
    server.set_faults(mode="invalid-json", match="Condition")
    with pytest.raises(ValueError):
        requests.get(f"{base}/Condition", timeout=10).json()

    server.set_faults(mode="reset", match="Procedure")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/Procedure", timeout=10)

    server.set_faults(mode="hang", match="Encounter")
    with pytest.raises(requests.Timeout):
        requests.get(f"{base}/Encounter", timeout=0.5)

    server.set_faults(mode="next-loop", match="MedicationRequest")
    looping = requests.get(f"{base}/MedicationRequest?_count=5", timeout=10).json()
    assert link(looping, "next") == link(looping, "self")

    server.set_faults(mode="huge-bundle", match="DiagnosticReport")
    huge = requests.get(f"{base}/DiagnosticReport", timeout=30)
    assert len(huge.content) > 5_000_000 and len(huge.json()["entry"]) == 20000

    with pytest.raises(FhirServerError, match="mode must be one of"):
        server.set_faults(mode="no-such-mode")

    server.reset_faults()
    assert server.faults() == []
    for resource_type in ("Condition", "Procedure", "Encounter", "MedicationRequest", "DiagnosticReport"):
        assert requests.get(f"{base}/{resource_type}", timeout=10).status_code == 200


def test_reset_data_empties_the_repository(clean_fhir_server: FhirTestServer) -> None:
    server = clean_fhir_server
    server.load_resources([{"resourceType": "Patient", "id": "gone-soon"}])
    assert search(server, "Patient")["total"] == 1
    server.reset()
    assert search(server, "Patient")["total"] == 0
