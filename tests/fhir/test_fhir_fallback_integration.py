"""The prefetch fallback against the real test FHIR server (Medplum), over real HTTP.

Each test loads a synthetic patient into the FHIR server and calls the service with some, none or
all of the prefetch, then checks what the service fetched (the server's own request counters).
"""

from __future__ import annotations

import time

import pytest

from cds_service.assessment.queries import PATIENT_DATA_PREFETCH
from cds_service.errors import PreconditionFailed
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.client import FhirClient
from cds_service.fhir.gather import fhir_settings, gather
from cds_service.fhir.truncation import CutCause
from cds_service.web.app import create_app
from hooks import patient_view
from tests.support import fhir_builders as b
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.processes import free_port
from tests.support.synthetic_patients import PATIENTS, load_bundle, patient_id

pytestmark = pytest.mark.integration

NAME = "progressive-after-srs-in-field"
URL = "/cds-services/bcbm-salvage"
ALL_KEYS = set(PATIENT_DATA_PREFETCH)


@pytest.fixture
def loaded(clean_fhir_server):
    clean_fhir_server.load_bundle(load_bundle(NAME))
    clean_fhir_server.reset_stats()
    return clean_fhir_server


def fhir_get_paths(server) -> list[str]:
    return [r["path"] for r in server.stats()["recent"] if r["method"] == "GET"]


def gather_for(app_config, body, deadline_s: float = 10.0):
    allowlist = FhirAllowlist.from_config(app_config.fhir_allowlist,
                                          app_config.fhir_allow_insecure_loopback)
    return gather(patient_view.SERVICE, body, app_config, allowlist,
                  time.monotonic() + deadline_s)


def test_no_prefetch_fetches_every_key_from_the_fhir_server(loaded, app_config) -> None:
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url, access_token="tok-123")
    data = gather_for(app_config, body)
    assert set(data.fetched) == ALL_KEYS
    assert data.missing == ()
    assert data.values["patient"]["id"] == patient_id(NAME)
    observations = data.values["observations"]["entry"]
    expected = [r for r in PATIENTS[NAME]() if r["resourceType"] == "Observation"]
    assert len(observations) == len(expected)
    stats = loaded.stats()
    assert stats["requests"] == len(ALL_KEYS)
    assert stats["requests_with_bearer"] == len(ALL_KEYS)  # the token went with every query


def test_full_prefetch_makes_no_fhir_request(loaded, client) -> None:
    body = hook_request(patient_id(NAME), prefetch=full_prefetch(PATIENTS[NAME]()),
                        fhir_server=loaded.base_url)
    assert client.post(URL, json=body).status_code == 200
    assert loaded.stats()["requests"] == 0


def test_null_prefetch_means_no_data_and_is_not_fetched(loaded, app_config) -> None:
    prefetch = {key: None for key in ALL_KEYS}
    prefetch["patient"] = b.patient(patient_id(NAME))
    body = hook_request(patient_id(NAME), prefetch=prefetch, fhir_server=loaded.base_url)
    data = gather_for(app_config, body)
    assert data.fetched == ()
    assert data.values["conditions"] is None
    assert loaded.stats()["requests"] == 0


def test_partial_prefetch_fetches_only_the_missing_keys(loaded, app_config) -> None:
    full = full_prefetch(PATIENTS[NAME]())
    prefetch = {"patient": full["patient"], "conditions": full["conditions"]}
    body = hook_request(patient_id(NAME), prefetch=prefetch, fhir_server=loaded.base_url)
    data = gather_for(app_config, body)
    assert set(data.fetched) == ALL_KEYS - {"patient", "conditions"}
    paths = fhir_get_paths(loaded)
    assert not any(p.startswith("/fhir/Patient") or p.startswith("/fhir/Condition") for p in paths)


def test_operation_outcome_prefetch_is_fetched_again(loaded, app_config) -> None:
    prefetch = full_prefetch(PATIENTS[NAME]())
    prefetch["observations"] = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "timeout"}]}
    body = hook_request(patient_id(NAME), prefetch=prefetch, fhir_server=loaded.base_url)
    data = gather_for(app_config, body)
    assert data.fetched == ("observations",)
    assert data.values["observations"]["entry"]


def test_paginated_prefetch_is_completed_from_the_server(loaded, app_config) -> None:
    pid = patient_id(NAME)
    client = FhirClient(*_client_args(loaded, app_config))
    first_page = client._get_json(client.absolute(f"Observation?patient={pid}&_count=3"))
    client.close()
    assert any(link["relation"] == "next" for link in first_page["link"])
    prefetch = full_prefetch(PATIENTS[NAME]())
    prefetch["observations"] = first_page
    body = hook_request(pid, prefetch=prefetch, fhir_server=loaded.base_url)
    data = gather_for(app_config, body)
    expected = sum(1 for r in PATIENTS[NAME]() if r["resourceType"] == "Observation")
    assert len(data.values["observations"]["entry"]) == expected


def _client_args(server, config):
    allowlist = FhirAllowlist.from_config(config.fhir_allowlist, True)
    return (allowlist.check(server.base_url), server.base_url, None, fhir_settings(config),
            allowlist)


def test_paging_follows_next_links_up_to_the_cap(loaded, app_config) -> None:
    pid = patient_id(NAME)
    client = FhirClient(*_client_args(loaded, app_config))
    result = client.query(f"Observation?patient={pid}&_count=2")
    assert result.error is None
    expected = sum(1 for r in PATIENTS[NAME]() if r["resourceType"] == "Observation")
    assert len(result.value["entry"]) == expected
    client.close()

    capped = FhirClient(*_client_args(loaded, app_config.replace(fhir_max_pages=2)))
    result = capped.query(f"Observation?patient={pid}&_count=2")
    assert len(result.value["entry"]) == 4
    assert result.truncation is not None
    assert (result.truncation.cause, result.truncation.limit) == (CutCause.PAGE_CAP, 2)
    assert result.truncation.entries_read == 4
    assert result.truncation.server_total == expected
    assert result.value["total"] == expected  # the server's count, not the 4 read
    capped.close()


def test_queries_run_concurrently(loaded, app_config) -> None:
    """A delayed FHIR server must not multiply the latency by the number of queries."""
    delay_ms = 400
    loaded.set_faults(delay_ms=delay_ms)
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
    started = time.perf_counter()
    data = gather_for(app_config, body)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert set(data.fetched) == ALL_KEYS
    sequential_ms = delay_ms * len(ALL_KEYS)
    assert elapsed_ms < 0.5 * sequential_ms, f"{elapsed_ms:.0f} ms for {len(ALL_KEYS)} queries"
    assert loaded.stats()["max_in_flight"] >= 3


def test_hook_calls_share_the_process_fhir_threads(loaded, app, client) -> None:
    """The queries of every call run on the app's one pool: no threads started per call."""
    import threading

    loaded.set_faults(delay_ms=50)
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)

    # threads of earlier tests in this process (queries to a hanging server still draining, the
    # deadline watchdog) are not this app's pool: counting them failed this test at random
    before = {t for t in threading.enumerate() if t.name.startswith("fhir")}

    def fhir_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("fhir")} - before

    assert client.post(URL, json=body).status_code == 200
    first = fhir_threads()
    assert len(first) >= 3
    for _ in range(3):
        assert client.post(URL, json=body).status_code == 200
    later = fhir_threads()
    assert first <= later  # the same threads serve every call (a pool per call would be gone)
    assert len(later) <= app.extensions["salvage_cds"].config.fhir_pool_threads
    assert loaded.stats()["max_in_flight"] >= 3  # still concurrent


def test_a_call_never_waits_behind_threads_held_by_another_server(loaded, app_config) -> None:
    """Every shared thread held (as by queries to a hanging server that outlived their calls):
    the next call runs its queries on threads of its own and gets all its data."""
    import threading

    from cds_service.fhir.threads import FhirThreads

    threads = FhirThreads(4)
    release = threading.Event()
    assert threads.try_reserve(4)
    held = [threads.submit(release.wait, 30) for _ in range(4)]
    try:
        body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
        allowlist = FhirAllowlist.from_config(app_config.fhir_allowlist,
                                              app_config.fhir_allow_insecure_loopback)
        data = gather(patient_view.SERVICE, body, app_config, allowlist,
                      time.monotonic() + 10, threads)
        assert set(data.fetched) == ALL_KEYS and not data.missing
        assert threads.held == 4  # untouched: the call did not use them
    finally:
        release.set()
    for future in held:
        future.result(timeout=5)
    assert threads.held == 0
    threads.shutdown()


def test_after_worker_exit_a_late_call_still_gets_its_data(loaded, app_config) -> None:
    """gunicorn's worker_exit closes the shared threads and connections while a call may still be
    running: that call falls back to threads and a session of its own."""
    from cds_service.fhir.connections import FhirConnections
    from cds_service.fhir.threads import FhirThreads

    threads = FhirThreads(8)
    connections = FhirConnections(fhir_settings(app_config), pool_size=8)
    threads.shutdown()
    connections.close()
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
    allowlist = FhirAllowlist.from_config(app_config.fhir_allowlist,
                                          app_config.fhir_allow_insecure_loopback)
    data = gather(patient_view.SERVICE, body, app_config, allowlist, time.monotonic() + 10,
                  threads, connections)
    assert set(data.fetched) == ALL_KEYS and not data.missing
    assert threads.held == 0


def test_queries_not_started_by_the_deadline_are_not_run(loaded, app_config) -> None:
    """A query still queued when its call's time budget is spent never reaches the server."""
    from cds_service.fhir.threads import FhirThreads

    threads = FhirThreads(32)
    client = FhirClient(*_client_args(loaded, app_config))
    results = client.fetch_many({"patient": f"Patient/{patient_id(NAME)}"},
                                time.monotonic() - 1, threads)
    assert "did not" in str(results["patient"].error)
    time.sleep(0.5)
    assert threads.held == 0
    assert not [p for p in fhir_get_paths(loaded) if "Patient/" in p]
    threads.shutdown()


def test_later_calls_reuse_the_kept_alive_connections(loaded, client) -> None:
    """No prefetch, three calls: the connections the first opens serve the others."""
    for _ in range(3):
        body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
        assert client.post(URL, json=body).status_code == 200
    stats = loaded.stats()
    assert stats["requests"] >= 3 * len(ALL_KEYS)
    # at most one connection per concurrent query (+1: one the server may have closed), where a
    # session per call opened one per query per call
    assert stats["connections"] <= len(ALL_KEYS) + 1 < 3 * len(ALL_KEYS)


def test_a_shared_connection_never_carries_another_calls_token(loaded, client) -> None:
    with_token = hook_request(patient_id(NAME), fhir_server=loaded.base_url,
                              access_token="call-one-token")
    assert client.post(URL, json=with_token).status_code == 200
    assert loaded.stats()["requests_with_bearer"] == len(ALL_KEYS)
    loaded.reset_stats()
    without = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
    assert client.post(URL, json=without).status_code == 200
    stats = loaded.stats()
    assert stats["requests"] == len(ALL_KEYS) and stats["requests_with_bearer"] == 0


def test_unreachable_server_with_required_data_missing_is_412(client) -> None:
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    response = client.post(URL, json=hook_request("p1", fhir_server=dead))
    assert response.status_code == 412
    body = response.get_json()
    assert set(body["missing"]) == {"patient", "conditions"}
    assert "could not be reached" in body["message"]


def test_required_query_failing_is_412(loaded, client) -> None:
    loaded.set_faults(status=500, match="/Condition")
    response = client.post(URL, json=hook_request(patient_id(NAME), fhir_server=loaded.base_url))
    assert response.status_code == 412
    assert response.get_json()["missing"] == ["conditions"]
    assert "500" in response.get_json()["message"]


def test_optional_query_failing_proceeds_and_says_what_is_missing(loaded, app_config) -> None:
    loaded.set_faults(status=500, match="/MedicationRequest")
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
    data = gather_for(app_config, body)
    assert data.values["medicationRequests"] is None
    assert data.missing == ("medicationRequests: the FHIR server failed (500)",)
    assert data.values["observations"]["entry"]


def test_missing_patient_is_412(loaded, client) -> None:
    response = client.post(URL, json=hook_request("nobody", fhir_server=loaded.base_url))
    assert response.status_code == 412
    assert "patient" in response.get_json()["missing"]


def test_allowlist_refusal_happens_before_any_request(loaded, app_config) -> None:
    app = create_app(app_config.replace(fhir_allowlist=("https://ehr.example.org/fhir",)))
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url, access_token="secret")
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 412
    assert "allowlist" in response.get_json()["message"]
    assert loaded.stats()["requests"] == 0
    app.extensions["salvage_cds"].feedback.close()


def test_no_fhir_server_and_no_prefetch_is_412(client) -> None:
    response = client.post(URL, json=hook_request("p1"))
    assert response.status_code == 412
    assert "no fhirServer" in response.get_json()["message"]


def test_gather_raises_precondition_failed_with_missing_keys(app_config) -> None:
    with pytest.raises(PreconditionFailed) as error:
        gather_for(app_config, hook_request("p1"))
    assert error.value.extra["missing"] == ["conditions", "patient"]


def test_live_service_answers_over_http_with_fallback(loaded, live_service) -> None:
    import requests

    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
    response = requests.post(live_service.url(URL), json=body, timeout=30)
    assert response.status_code == 200
    assert "cards" in response.json()
    assert loaded.stats()["requests"] == len(ALL_KEYS)
