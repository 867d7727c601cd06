"""Prometheus metrics: the real service under gunicorn (2 workers, multi-process mode), scraped
on its own loopback port, with the real test FHIR server behind the hook calls."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from cds_service import metrics
from cds_service.ops import demo
from tests.conftest import start_live_service, stop_live_service
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.jwt_helpers import ISS, bearer, ec_key, jwks, token_for, write_clients_file
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(url, timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return sum(v for (n, found), v in samples.items()
               if n == name and set(labels.items()) <= set(found))


def metrics_service(tmp_path, *, dev: bool):
    port = free_port()
    quick_timeout = {"SALVAGE_CDS_FHIR_READ_TIMEOUT_S": "1", "SALVAGE_CDS_FHIR_RETRIES": "0"}
    service = start_live_service(tmp_path, dev=dev, env=quick_timeout, extra_args=(
        "--metrics-port", str(port), "--metrics-dir", str(tmp_path / "metrics")))
    return service, f"http://127.0.0.1:{port}/metrics"


@pytest.fixture(scope="module")
def dev_service(tmp_path_factory):
    service, url = metrics_service(tmp_path_factory.mktemp("metrics-dev"), dev=True)
    yield service, url
    stop_live_service(service.process)


def test_metrics_are_off_the_public_port(dev_service) -> None:
    service, url = dev_service
    assert requests.get(service.url("/metrics"), timeout=10).status_code == 404
    assert requests.get(url, timeout=10).status_code == 200


def test_requests_hooks_cards_fhir_and_feedback_are_counted_over_all_workers(
        dev_service, clean_fhir_server) -> None:
    service, url = dev_service
    in_scope = demo.find("progressive-after-srs-in-field")
    resources = [e["resource"] for e in demo.bundle(in_scope.name)["entry"]]
    calls = 12  # spread over both workers
    cards = []
    for _ in range(calls):
        body = hook_request(in_scope.patient_id, prefetch=full_prefetch(resources))
        answer = requests.post(service.url("/cds-services/bcbm-salvage"), json=body, timeout=30)
        cards = answer.json()["cards"]
    clean_fhir_server.load_bundle(demo.bundle(in_scope.name))
    fetched = hook_request(in_scope.patient_id, fhir_server=clean_fhir_server.base_url)
    assert requests.post(service.url("/cds-services/bcbm-salvage"), json=fetched,
                         timeout=30).status_code == 200
    refused = hook_request(in_scope.patient_id, fhir_server="https://fhir.example.org/r4",
                           prefetch={"patient": resources[0], "conditions": None})
    assert requests.post(service.url("/cds-services/bcbm-salvage"), json=refused,
                         timeout=30).status_code == 200
    feedback = {"feedback": [{"card": cards[0]["uuid"], "outcome": "overridden",
                              "outcomeTimestamp": "2026-11-28T10:00:00Z"}]}
    assert requests.post(service.url("/cds-services/bcbm-salvage/feedback"), json=feedback,
                         timeout=30).status_code == 200
    assert requests.post(service.url("/cds-services/bcbm-salvage/feedback"), json={},
                         timeout=30).status_code == 400

    samples = scrape(url)
    route = "/cds-services/<service_id>"
    assert value(samples, "salvage_cds_http_requests_total", route=route, method="POST",
                 status="200") == calls + 2
    assert value(samples, "salvage_cds_http_request_duration_seconds_count",
                 route=route) == calls + 2
    assert value(samples, "salvage_cds_hook_calls_total", service="bcbm-salvage") == calls + 2
    topic = cards[0]["source"]["topic"]["code"]
    assert value(samples, "salvage_cds_cards_total", service="bcbm-salvage",
                 topic=topic) >= calls
    assert value(samples, "salvage_cds_fhir_queries_total", outcome="ok") >= 7
    assert value(samples, "salvage_cds_fhir_query_duration_seconds_count", outcome="ok") >= 7
    assert value(samples, "salvage_cds_fhir_queries_total", outcome="refused") >= 1
    assert value(samples, "salvage_cds_feedback_total", outcome="overridden") == 1
    assert value(samples, "salvage_cds_feedback_total", outcome="invalid") == 1


def test_fhir_timeouts_are_counted(dev_service, clean_fhir_server) -> None:
    service, url = dev_service
    patient = demo.find("untreated-bcbm")
    clean_fhir_server.load_bundle(demo.bundle(patient.name))
    before = value(scrape(url), "salvage_cds_fhir_queries_total", outcome="timeout")
    clean_fhir_server.set_faults(mode="hang", match="BodyStructure", times=1)
    try:
        body = hook_request(patient.patient_id, fhir_server=clean_fhir_server.base_url)
        requests.post(service.url("/cds-services/bcbm-salvage"), json=body, timeout=60)
    finally:
        clean_fhir_server.reset_faults()
        clean_fhir_server.wait_until_idle()
    assert value(scrape(url), "salvage_cds_fhir_queries_total", outcome="timeout") > before


def test_no_patient_data_in_any_label(dev_service) -> None:
    _service, url = dev_service
    text = requests.get(url, timeout=10).text
    for patient in demo.CATALOG:
        assert patient.patient_id not in text
    for name in ("Zielinska", "Halina", "1972-04-17", "fhir.example.org", "127.0.0.1:"):
        assert name not in text


def test_authentication_failures_by_reason(tmp_path) -> None:
    """JWT authentication on, one trusted client: a missing, a malformed, an expired and a
    replayed token are counted by reason; the good token is not."""
    key = ec_key("metrics-kid")
    (tmp_path / "ehr.jwks.json").write_text(json.dumps(jwks(key)), "utf-8")
    clients = write_clients_file(tmp_path, [{"name": "Test EHR", "iss": ISS,
                                             "jwks_file": "ehr.jwks.json"}])
    port = free_port()
    service = start_live_service(
        tmp_path, dev=False, env={"SALVAGE_CDS_JWT_CLIENTS_FILE": str(clients)},
        extra_args=("--metrics-port", str(port), "--metrics-dir", str(tmp_path / "metrics")))
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        discovery = service.url("/cds-services")
        good = token_for(key, discovery)
        answers = [requests.get(discovery, headers=headers, timeout=10).status_code for headers in (
            {}, {"Authorization": "Basic eDp5"},
            bearer(token_for(key, discovery, iat_offset=-3600)), bearer(good), bearer(good))]
        assert answers == [401, 401, 401, 200, 401]
        samples = scrape(url)
        for reason in ("missing", "malformed", "expired", "replay"):
            assert value(samples, "salvage_cds_auth_failures_total", reason=reason) == 1, reason
        assert value(samples, "salvage_cds_auth_failures_total") == 4
        assert "eyJ" not in requests.get(url, timeout=10).text  # no token in any label
    finally:
        stop_live_service(service.process)


@pytest.mark.parametrize(("message", "reason"), [
    ("no Authorization header", "missing"),
    ("alg 'none' is not an accepted asymmetric algorithm", "algorithm"),
    ("token expired", "expired"),
    ("jti replayed", "replay"),
    ("aud is not this endpoint", "audience"),
    ("unknown kid", "key"),
    ("iat is not a NumericDate", "claims"),
    ("something new", "other"),
])
def test_auth_reasons_are_a_small_fixed_set(message: str, reason: str) -> None:
    assert metrics.auth_reason(message) == reason


def test_the_authenticator_logs_the_field_the_counter_reads(caplog) -> None:
    """The counter reads the `auth_failure` field of the authenticator's log records."""
    from cds_service.security import jwt_auth

    source = Path(jwt_auth.__file__).read_text(encoding="utf-8")
    assert '"auth_failure": str(failure)' in source
    assert jwt_auth.log.name == "salvage_cds.security.auth"
    before = metrics.AUTH_FAILURES.labels("expired")._value.get()
    metrics.AuthFailureCounter(logging.WARNING).handle(logging.makeLogRecord(
        {"levelno": logging.WARNING, "auth_failure": "token expired"}))
    assert metrics.AUTH_FAILURES.labels("expired")._value.get() == before + 1
