"""PHI-safe logging.

The end-to-end test runs the real service (gunicorn, 2 workers, JWT auth on) against the real test
FHIR server with every synthetic patient — prefetch and FHIR fallback, all three hooks, feedback,
refused tokens, malformed bodies, FHIR faults — then reads everything the service wrote and checks
that no name, birth date, patient id, access token or JWT of the run appears in it, while the
structured fields (request id, service id, hook, status, timings, counts) do.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from typing import Any

import pytest
import requests

from cds_service.security.phi_logging import JsonFormatter, scrub
from tests.conftest import start_live_service, stop_live_service
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.jwt_helpers import ISS, bearer, ec_key, jwks, token_for, write_clients_file
from tests.support.synthetic_patients import PATIENTS, load_bundle, patient_id

ACCESS_TOKEN = "phi-test-access-token-" + uuid.uuid4().hex


# --- formatter units ---------------------------------------------------------------------------
def _format(record_kw: dict[str, Any], msg: str = "hello %s", args: tuple = ("world",),
            exc_info: Any = None) -> dict[str, Any]:
    record = logging.LogRecord("salvage_cds.test", logging.INFO, __file__, 1, msg, args, exc_info)
    record.__dict__.update(record_kw)
    return json.loads(JsonFormatter().format(record))


def test_formatter_writes_one_json_object_with_extras() -> None:
    entry = _format({"service_id": "bcbm-salvage", "cards": 2, "request_id": "r-123456789"})
    assert entry["msg"] == "hello world" and entry["level"] == "INFO"
    assert entry["service_id"] == "bcbm-salvage" and entry["cards"] == 2
    assert entry["request_id"] == "r-123456789"


def test_formatter_scrubs_jwts_and_bearer_credentials() -> None:
    jwt_like = "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
    entry = _format({"header": f"Bearer {jwt_like}"}, "token %s and Bearer abc.def", (jwt_like,))
    text = json.dumps(entry)
    assert jwt_like not in text and "abc.def" not in text
    assert "[redacted-jwt]" in entry["msg"] and "Bearer [redacted]" in entry["msg"]
    assert scrub("x" * 2000).endswith("…") and len(scrub("x" * 2000)) < 600


def test_formatter_drops_exception_messages_keeps_the_stack() -> None:
    try:
        raise KeyError("Zielinska Halina 1972-04-17")
    except KeyError:
        entry = _format({}, exc_info=sys.exc_info())
    text = json.dumps(entry)
    assert "Zielinska" not in text and "1972-04-17" not in text
    assert entry["exc_type"] == "KeyError"
    assert any("test_phi_logging.py" in frame for frame in entry["exc_stack"])


def test_arbitrary_objects_are_logged_by_type_only() -> None:
    class Patient:
        def __repr__(self) -> str:
            return "Patient(name='Zielinska')"

    entry = _format({"thing": Patient(), "things": [Patient()]})
    assert entry["thing"] == "Patient" and "Zielinska" not in json.dumps(entry)


def test_request_id_is_returned_and_hostile_ids_replaced(client) -> None:
    response = client.get("/cds-services", headers={"X-Request-Id": "abc-123-def-456"})
    assert response.headers["X-Request-Id"] == "abc-123-def-456"
    for hostile in ("<script>alert(1)</script>", "a" * 300, "id with spaces", "short"):
        response = client.get("/cds-services", headers={"X-Request-Id": hostile})
        assert response.headers["X-Request-Id"] != hostile
        assert len(response.headers["X-Request-Id"]) == 32


# --- the end-to-end run ------------------------------------------------------------------------
def _identifying_values() -> set[str]:
    values: set[str] = {ACCESS_TOKEN}
    for build in PATIENTS.values():
        for resource in build():
            if resource["resourceType"] != "Patient":
                continue
            values.add(resource["id"])
            if resource.get("birthDate"):
                values.add(resource["birthDate"])
            for name in resource.get("name", []):
                values.add(name["family"])
                values.update(name.get("given", []))
    return {v for v in values if len(v) >= 4}


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory, fhir_server) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("phi-run")
    key = ec_key("phi-run-key")
    (directory / "ehr.jwks.json").write_text(json.dumps(jwks(key)))
    clients = write_clients_file(directory, [{"name": "Test EHR", "iss": ISS,
                                              "jwks_file": "ehr.jwks.json"}])
    fhir_server.reset_all()
    for name in PATIENTS:
        fhir_server.load_bundle(load_bundle(name))
    service = start_live_service(directory, workers=2, dev=False,
                                 env={"SALVAGE_CDS_JWT_CLIENTS_FILE": str(clients)})
    tokens: list[str] = []
    statuses: list[int] = []
    request_ids: set[str] = set()

    def send(method: str, path: str, body: Any = None, *, token: str | None = None,
             raw: bytes | None = None) -> requests.Response:
        token = token or token_for(key, service.base_url + path)
        tokens.append(token)
        headers = {**bearer(token), "Content-Type": "application/json"}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = requests.request(method, service.url(path), data=data, headers=headers,
                                    timeout=30)
        statuses.append(response.status_code)
        request_ids.add(response.headers.get("X-Request-Id", ""))
        return response

    try:
        assert send("GET", "/cds-services").status_code == 200
        for name, build in PATIENTS.items():
            pid = patient_id(name)
            resources = build()
            answered = send("POST", "/cds-services/bcbm-salvage",
                            hook_request(pid, prefetch=full_prefetch(resources)))
            assert answered.status_code == 200, answered.text[:300]
            fallback = send("POST", "/cds-services/bcbm-salvage",
                            hook_request(pid, fhir_server=fhir_server.base_url,
                                         access_token=ACCESS_TOKEN))
            assert fallback.status_code == 200, fallback.text[:300]
            for hook, service_id in (("order-select", "bcbm-order-select"),
                                     ("order-sign", "bcbm-order-sign")):
                assert send("POST", f"/cds-services/{service_id}",
                            hook_request(pid, hook, prefetch=full_prefetch(resources))
                            ).status_code == 200
            # Malformed and invalid bodies that quote the patient's data.
            patient = next(r for r in resources if r["resourceType"] == "Patient")
            send("POST", "/cds-services/bcbm-salvage",
                 raw=json.dumps({"hook": "patient-view", "context": patient})[:-3].encode())
            send("POST", "/cds-services/bcbm-salvage",
                 {"hook": patient["name"][0]["family"], "hookInstance": patient.get("birthDate"),
                  "context": {"patientId": patient}})
        # FHIR faults while the token is in flight.
        fhir_server.set_faults(status=500, match="/Observation")
        name = "progressive-after-srs-in-field"
        send("POST", "/cds-services/bcbm-salvage",
             hook_request(patient_id(name), fhir_server=fhir_server.base_url,
                          access_token=ACCESS_TOKEN))
        fhir_server.set_faults(replace=True, mode="invalid-json", match="/Condition")
        send("POST", "/cds-services/bcbm-salvage",
             hook_request(patient_id(name), fhir_server=fhir_server.base_url,
                          access_token=ACCESS_TOKEN))
        fhir_server.reset_faults()
        # Feedback, and refused tokens (one of them carries a patient's name as a claim).
        send("POST", "/cds-services/bcbm-salvage/feedback", {"feedback": [{
            "card": str(uuid.uuid4()), "outcome": "overridden",
            "outcomeTimestamp": "2024-03-01T10:00:00Z"}]})
        bad = token_for(key, service.base_url + "/cds-services", lifetime=-3600, sub="Zielinska")
        assert send("GET", "/cds-services", token=bad).status_code == 401
        assert send("GET", "/cds-services", token=tokens[0]).status_code == 401  # replay
    finally:
        fhir_server.reset_faults()
        stop_live_service(service.process)
    return {"log": (directory / "service.log").read_text("utf-8", errors="replace"),
            "tokens": tokens, "statuses": statuses, "request_ids": request_ids}


@pytest.mark.integration
def test_logs_of_a_full_run_hold_no_identifying_values(logged_run) -> None:
    log = logged_run["log"]
    assert log.strip(), "the service wrote no log at all"
    leaked = sorted(v for v in _identifying_values() if v.lower() in log.lower())
    assert leaked == [], f"identifying values in the service log: {leaked}"
    for token in logged_run["tokens"]:
        for part in token.split("."):
            assert part not in log
    assert ACCESS_TOKEN not in log and "Bearer ey" not in log


@pytest.mark.integration
def test_logs_of_a_full_run_are_structured(logged_run) -> None:
    entries = []
    for line in logged_run["log"].splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    access = [e for e in entries if e.get("logger") == "salvage_cds.access"
              and e["route"] != "/health"]  # the fixture's readiness probe
    assert len(access) == len(logged_run["statuses"])
    assert {e["request_id"] for e in access} == logged_run["request_ids"]
    assert sorted(e["status"] for e in access) == sorted(logged_run["statuses"])
    for entry in access:
        assert {"request_id", "method", "route", "status", "duration_ms"} <= set(entry)
    hook_calls = [e for e in access if e.get("service_id") == "bcbm-salvage"
                  and e["status"] == 200]
    assert hook_calls and all(e["hook"] == "patient-view" and e["client"] == "Test EHR"
                              for e in hook_calls)
    answered = [e for e in entries if e.get("msg") == "hook call answered"]
    assert answered and all({"cards", "fetched_keys", "missing_keys", "fetch_ms"} <= set(e)
                            for e in answered)
    failures = [e for e in entries if e.get("msg") == "CDS client authentication failed"]
    assert {e["auth_failure"] for e in failures} >= {"token expired", "jti replayed"}
