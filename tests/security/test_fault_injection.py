"""Fault injection against the real test FHIR server: the service answers within its time budget
with 412 (required data unobtainable) or 200 with what is missing named — never a 500.

Every test loads one synthetic patient, sends a patient-view call with no prefetch (so every key is
fetched from the FHIR server, with a bearer token), and injects one fault on the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cds_service.config import ServiceConfig
from cds_service.mapping.codes import OBSERVATION_SEARCH_CODES
from cds_service.web.app import create_app
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, load_bundle, patient_id

pytestmark = pytest.mark.integration

NAME = "progressive-after-srs-in-field"
URL = "/cds-services/bcbm-salvage"
BUDGET_S = 2.0
# the `observations` query alone (not `receptorPanels`, which asks for Observations by component)
OBSERVATIONS_QUERY = "code=" + OBSERVATION_SEARCH_CODES[0]
SLACK_S = 1.5  # scheduling, app work after the fetches, a slow CI machine


@pytest.fixture
def loaded(clean_fhir_server):
    clean_fhir_server.load_bundle(load_bundle(NAME))
    clean_fhir_server.wait_until_idle()  # no late request of an earlier test is counted
    clean_fhir_server.reset_stats()
    return clean_fhir_server


@pytest.fixture
def budget_app(tmp_path) -> Iterator[Any]:
    config = ServiceConfig(
        database_url=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        auth_required=False,
        public_base_url="http://localhost",
        request_budget_s=BUDGET_S,
        fhir_connect_timeout_s=1.0,
        fhir_read_timeout_s=10.0,  # longer than the budget: the budget must cut it short
        fhir_retries=1,
    )
    app = create_app(config)
    yield app
    app.extensions["salvage_cds"].feedback.close()


def call(app, server, caplog, **kw: Any) -> tuple[Any, float, logging.LogRecord | None]:
    body = kw.pop("body", None) or hook_request(patient_id(NAME), fhir_server=server.base_url,
                                                access_token="fault-test-token")
    caplog.clear()
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="salvage_cds"):
        response = app.test_client().post(URL, json=body)
    elapsed = time.monotonic() - started
    answered = next((r for r in caplog.records if r.getMessage() == "hook call answered"), None)
    assert response.status_code in (200, 412), response.get_data(as_text=True)[:500]
    assert elapsed < BUDGET_S + SLACK_S, f"answered after {elapsed:.1f} s"
    return response, elapsed, answered


REQUIRED_FAULTS = [
    pytest.param({"status": 401}, "refused access (401)", id="401"),
    pytest.param({"status": 403}, "refused access (403)", id="403"),
    pytest.param({"status": 404}, "404", id="404"),
    pytest.param({"status": 500}, "failed (500)", id="500"),
    pytest.param({"status": 503}, "failed (503)", id="503-retried"),
    pytest.param({"mode": "invalid-json"}, "invalid JSON", id="invalid-json"),
    pytest.param({"mode": "reset"}, "could not be reached", id="reset"),
    pytest.param({"mode": "hang"}, "time budget", id="hang"),
    pytest.param({"delay_ms": 8000}, "time budget", id="slow"),
]


@pytest.mark.parametrize("fault, reason", REQUIRED_FAULTS)
def test_required_data_failing_is_a_clean_412(loaded, budget_app, caplog, fault, reason) -> None:
    loaded.set_faults(match="/Condition", **fault)
    response, _elapsed, _ = call(budget_app, loaded, caplog)
    assert response.status_code == 412
    body = response.get_json()
    assert body["error"] == "precondition-failed"
    assert body["missing"] == ["conditions"]
    assert reason in body["message"]
    assert "fault-test-token" not in response.get_data(as_text=True)


OPTIONAL_FAULTS = [
    pytest.param({"status": 401}, id="401"),
    pytest.param({"status": 403}, id="403"),
    pytest.param({"status": 404}, id="404"),
    pytest.param({"status": 500}, id="500"),
    pytest.param({"mode": "invalid-json"}, id="invalid-json"),
    pytest.param({"mode": "reset"}, id="reset"),
    pytest.param({"mode": "hang"}, id="hang"),
    pytest.param({"delay_ms": 8000}, id="slow"),
]


@pytest.mark.parametrize("fault", OPTIONAL_FAULTS)
def test_optional_data_failing_degrades_and_says_so(loaded, budget_app, caplog, fault) -> None:
    loaded.set_faults(match=OBSERVATIONS_QUERY, **fault)
    response, _elapsed, answered = call(budget_app, loaded, caplog)
    assert response.status_code == 200
    assert answered is not None and answered.missing_keys == 1  # observations, and only it


def test_everything_hanging_answers_within_the_budget(loaded, budget_app, caplog) -> None:
    loaded.set_faults(mode="hang")
    response, elapsed, _ = call(budget_app, loaded, caplog)
    assert response.status_code == 412
    assert set(response.get_json()["missing"]) == {"patient", "conditions"}
    assert elapsed >= BUDGET_S - 0.2  # it did wait for the budget, not less


def test_huge_bundle_is_capped(loaded, budget_app, caplog) -> None:
    loaded.set_faults(match="/Observation", mode="huge-bundle", huge_count=10_000)
    response, _elapsed, answered = call(budget_app, loaded, caplog)
    assert response.status_code == 200
    assert answered is not None


def test_huge_bundle_over_the_size_cap_is_refused_not_read(loaded, budget_app, caplog) -> None:
    app = create_app(budget_app.extensions["salvage_cds"].config.replace(
        fhir_max_response_bytes=1024 * 1024))
    try:
        loaded.set_faults(match=OBSERVATIONS_QUERY, mode="huge-bundle", huge_count=10_000)
        response, _elapsed, answered = call(app, loaded, caplog)
        assert response.status_code == 200
        assert answered is not None and answered.missing_keys == 1
    finally:
        app.extensions["salvage_cds"].feedback.close()


def test_next_link_loop_stops(loaded, budget_app, caplog) -> None:
    loaded.set_faults(match="/Condition", mode="next-loop")
    response, _elapsed, answered = call(budget_app, loaded, caplog)
    assert response.status_code == 200
    assert answered is not None


def test_next_link_loop_does_not_duplicate_entries(loaded, budget_app) -> None:
    from cds_service.fhir.gather import gather
    from hooks import patient_view

    services = budget_app.extensions["salvage_cds"]
    loaded.set_faults(match="/Condition", mode="next-loop")
    body = hook_request(patient_id(NAME), fhir_server=loaded.base_url)
    data = gather(patient_view.SERVICE, body, services.config, services.allowlist,
                  time.monotonic() + BUDGET_S)
    expected = sum(1 for r in PATIENTS[NAME]() if r["resourceType"] == "Condition")
    ids = [e["resource"]["id"] for e in data.values["conditions"]["entry"]]
    assert len(ids) == len(set(ids)) == expected
    assert any("loop" in note for note in data.notes)


def test_prefetched_page_with_a_hanging_next_link_stays_within_budget(loaded, budget_app,
                                                                      caplog) -> None:
    """A prefetched first page whose `next` link hangs: the budget covers paging too."""
    prefetch = full_prefetch(PATIENTS[NAME]())
    observations = prefetch["observations"]
    observations["link"] = [{"relation": "next", "url": loaded.base_url
                             + f"/Observation?patient={patient_id(NAME)}&_offset=100"}]
    loaded.set_faults(match="/Observation", mode="hang")
    body = hook_request(patient_id(NAME), prefetch=prefetch, fhir_server=loaded.base_url)
    response, _elapsed, answered = call(budget_app, loaded, caplog, body=body)
    assert response.status_code == 200
    assert answered is not None and answered.truncated_keys == 1  # the first page only: said
    detail = response.get_json()["cards"][0]["detail"].replace("\\", "")
    assert "observations: cut short" in detail and "time budget" in detail


def test_slow_but_working_server_gives_a_full_answer(loaded, budget_app, caplog) -> None:
    loaded.set_faults(delay_ms=300)
    response, _elapsed, answered = call(budget_app, loaded, caplog)
    assert response.status_code == 200
    assert answered is not None and answered.missing_keys == 0
    assert loaded.stats()["requests_with_bearer"] == loaded.stats()["requests"] > 0


@pytest.mark.parametrize("fault, reason", [
    pytest.param({"status": 500}, "the FHIR server failed (500)", id="500"),
    pytest.param({"status": 403}, "the FHIR server refused access (403)", id="403"),
    pytest.param({"mode": "reset"}, "the FHIR server could not be reached", id="reset"),
    pytest.param({"mode": "invalid-json"}, "the FHIR server sent invalid JSON", id="invalid-json"),
    pytest.param({"mode": "hang"}, "did not finish within the time budget", id="hang"),
])
def test_degraded_cards_say_what_is_missing(loaded, budget_app, caplog, fault, reason) -> None:
    """The patient is still progressive without their medication list: the cards come, and say
    which data could not be obtained and why (rendered as a clinician would read it)."""
    from markdown_it import MarkdownIt

    loaded.set_faults(match="/MedicationRequest", **fault)
    response, _elapsed, _ = call(budget_app, loaded, caplog)
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert cards, "a progressive patient got no card"
    renderer = MarkdownIt("commonmark")
    shown = " ".join(renderer.render(c.get("detail", "")) for c in cards)
    assert "Could not be obtained — medicationRequests: " in shown and reason in shown
