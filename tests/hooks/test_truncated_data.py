"""Issue 19: no silent truncation. Charts past every cap, against the real test FHIR server.

Every way reading can stop before the end of a search — the page cap, the entry cap, a further
page over the byte cap, a further page that fails, a paginated prefetch whose `next` cannot be
followed — must reach the answer: the main card's data section, or an "assessment incomplete"
card when the patient would otherwise get none, and the log line's `truncated_keys` count. The
Medplum test server returns search matches in insertion order, so filler loaded *before* a
patient's own data pushes that data past the caps.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cds_service.assessment.queries import FILTERED_PAGE_SIZE, REQUIRED_KEYS, UNFILTERED_PAGE_SIZE
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.gather import GatheredData, gather
from cds_service.fhir.truncation import CutCause
from cds_service.protocol.response_schema import check_response
from cds_service.web.app import create_app
from hooks import patient_view
from tests.support import fhir_builders as b
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, load_bundle, patient_id

pytestmark = pytest.mark.integration

PROGRESSIVE = "progressive-after-srs-in-field"
STABLE = "stable-bcbm-after-srs"
LUNG = "lung-cancer-with-brain-metastases"
URL = "/cds-services/bcbm-salvage"
MISSING_DATA = "missing-data"


@pytest.fixture
def app_with(app_config) -> Iterator[Any]:
    """An app whose FHIR limits the test sets (`app_with(fhir_max_pages=1)`)."""
    made = []

    def make(**overrides: Any):
        app = create_app(app_config.replace(**overrides))
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["salvage_cds"].close()


def older_kps(pid: str, count: int) -> list[dict[str, Any]]:
    """Coded Observations the model reads (KPS 90, in 2015): noise that still matches the query."""
    return [b.karnofsky(pid, 90, effective=f"2015-{(i % 12) + 1:02d}-01", oid=f"old-kps-{i}")
            for i in range(count)]


def post(app, body: dict[str, Any], caplog) -> tuple[dict[str, Any], logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="salvage_cds"):
        response = app.test_client().post(body.pop("_url", URL), json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    answered = next(r for r in caplog.records if r.getMessage() == "hook call answered")
    payload = response.get_json()
    check_response(payload)
    return payload, answered


def no_prefetch(name: str, server, hook: str = "patient-view", **kw: Any) -> dict[str, Any]:
    return hook_request(patient_id(name), hook, fhir_server=server.base_url, **kw)


def gather_with(config, body: dict[str, Any]) -> GatheredData:
    allowlist = FhirAllowlist.from_config(config.fhir_allowlist, config.fhir_allow_insecure_loopback)
    return gather(patient_view.SERVICE, body, config, allowlist, time.monotonic() + 10)


def only_card(payload: dict[str, Any]) -> dict[str, Any]:
    [card] = payload["cards"]
    return card


def text(card: dict[str, Any]) -> str:
    """The card's detail without markdown escapes (`observations\\:` -> `observations:`)."""
    return card["detail"].replace("\\", "")


# -- page cap ---------------------------------------------------------------------------------
def test_scans_behind_1050_older_observations_give_an_incomplete_card_not_silence(
        clean_fhir_server, app_with, caplog) -> None:
    """The issue's chart with the default limits (10 pages x 100): its scans sit at 1,051+."""
    pid = patient_id(PROGRESSIVE)
    clean_fhir_server.load_resources(older_kps(pid, 1050))
    clean_fhir_server.load_bundle(load_bundle(PROGRESSIVE))
    app = app_with()
    config = app.extensions["salvage_cds"].config
    own = sum(1 for r in PATIENTS[PROGRESSIVE]() if r["resourceType"] == "Observation")

    data = gather_with(config, no_prefetch(PROGRESSIVE, clean_fhir_server))
    [cut] = data.truncated
    assert (cut.key, cut.cause, cut.limit) == ("observations", CutCause.PAGE_CAP,
                                               config.fhir_max_pages)
    assert cut.entries_read == 1000 and cut.server_total == 1050 + own
    assert data.values["observations"]["total"] == 1050 + own  # the server's, not overwritten

    payload, answered = post(app, no_prefetch(PROGRESSIVE, clean_fhir_server), caplog)
    card = only_card(payload)
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert "cut short" in card["summary"]
    assert "observations" in text(card) and "page limit, 10 per query" in text(card)
    assert f"1000 of {1050 + own} entries" in text(card)
    assert answered.truncated_keys == 1 and answered.missing_keys == 0


def test_cut_data_of_a_progressive_patient_are_named_on_the_main_card(
        clean_fhir_server, app_with, caplog) -> None:
    """The patient's own data come first and still show progression: the main card stands and
    says that the rest of the observations were not read."""
    clean_fhir_server.load_bundle(load_bundle(PROGRESSIVE))
    clean_fhir_server.load_resources(older_kps(patient_id(PROGRESSIVE), 150))
    payload, answered = post(app_with(fhir_max_pages=1), no_prefetch(PROGRESSIVE, clean_fhir_server),
                             caplog)
    main = payload["cards"][0]
    assert main["source"]["topic"]["code"] != MISSING_DATA
    assert "Partial data — observations: cut short" in text(main)
    assert "page limit, 1 per query" in text(main)
    assert answered.truncated_keys == 1


# -- entry cap --------------------------------------------------------------------------------
def test_reaching_the_entry_cap_exactly_is_a_cut(clean_fhir_server, app_with) -> None:
    """100 entries read, the cap is 100 and the server offers a next page: that is a cut."""
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 150))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    config = app_with(fhir_max_entries=100).extensions["salvage_cds"].config
    data = gather_with(config, no_prefetch(STABLE, clean_fhir_server))
    [cut] = data.truncated
    assert (cut.key, cut.cause, cut.limit, cut.entries_read) == (
        "observations", CutCause.ENTRY_CAP, 100, 100)
    assert len(data.values["observations"]["entry"]) == 100


def test_past_the_entry_cap_the_rest_is_dropped_and_said(clean_fhir_server, app_with,
                                                          caplog) -> None:
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 250))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    app = app_with(fhir_max_entries=150)
    data = gather_with(app.extensions["salvage_cds"].config,
                       no_prefetch(STABLE, clean_fhir_server))
    [cut] = data.truncated
    assert (cut.cause, cut.entries_read) == (CutCause.ENTRY_CAP, 150)
    assert len(data.values["observations"]["entry"]) == 150
    card = only_card(post(app, no_prefetch(STABLE, clean_fhir_server), caplog)[0])
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert "entry limit, 150 per query" in text(card)


# -- further pages: byte cap, failure -----------------------------------------------------------
@pytest.mark.parametrize(("fault", "cause", "wording"), [
    ({"mode": "huge-bundle", "huge_count": 3000}, CutCause.BYTE_CAP, "a further page was too large"),
    ({"status": 500}, CutCause.PAGE_FAILED, "could not be read"),
], ids=["byte-cap", "page-fails"])
def test_a_further_page_that_cannot_be_read_keeps_the_first_and_says_so(
        clean_fhir_server, app_with, caplog, fault, cause, wording) -> None:
    """Before: a failing page 2 threw page 1 away ("no data"); a silent partial now neither."""
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 150))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    clean_fhir_server.set_faults(**{**fault, "match": f"_offset={FILTERED_PAGE_SIZE}"})
    app = app_with(fhir_max_response_bytes=512 * 1024)
    data = gather_with(app.extensions["salvage_cds"].config,
                       no_prefetch(STABLE, clean_fhir_server))
    [cut] = data.truncated
    assert (cut.key, cut.cause, cut.entries_read) == ("observations", cause, 100)
    assert len(data.values["observations"]["entry"]) == 100
    assert data.missing == ()
    card = only_card(post(app, no_prefetch(STABLE, clean_fhir_server), caplog)[0])
    assert card["source"]["topic"]["code"] == MISSING_DATA and wording in text(card)


# -- paginated prefetch ---------------------------------------------------------------------------
def prefetch_with_next(name: str, next_url: str) -> dict[str, Any]:
    prefetch = full_prefetch(PATIENTS[name]())
    observations = prefetch["observations"]
    observations["total"] = len(observations["entry"]) + 100
    observations["link"] = [{"relation": "next", "url": next_url}]
    return prefetch


def test_a_paginated_prefetch_without_a_fhir_server_is_named_as_cut(app_with, caplog) -> None:
    body = hook_request(patient_id(STABLE),
                        prefetch=prefetch_with_next(STABLE, "http://127.0.0.1:9/fhir/next"))
    payload, answered = post(app_with(), body, caplog)
    card = only_card(payload)
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert "observations: cut short" in text(card)
    assert "the request has no fhirServer" in text(card)
    assert answered.truncated_keys == 1


def test_a_paginated_prefetch_whose_next_page_fails_keeps_its_first_page(
        clean_fhir_server, app_with, caplog) -> None:
    clean_fhir_server.set_faults(match="/Observation", status=500)
    next_url = f"{clean_fhir_server.base_url}/Observation?patient={patient_id(PROGRESSIVE)}&_offset=9"
    body = hook_request(patient_id(PROGRESSIVE), prefetch=prefetch_with_next(PROGRESSIVE, next_url),
                        fhir_server=clean_fhir_server.base_url)
    app = app_with()
    data = gather_with(app.extensions["salvage_cds"].config, dict(body))
    [cut] = data.truncated
    assert (cut.key, cut.cause) == ("observations", CutCause.PAGE_FAILED)
    first_page = body["prefetch"]["observations"]
    assert cut.entries_read == len(first_page["entry"])
    assert data.values["observations"]["total"] == first_page["total"] == cut.server_total
    without_total = copy.deepcopy(body)
    del without_total["prefetch"]["observations"]["total"]
    cut_bundle = gather_with(app.extensions["salvage_cds"].config, without_total)
    assert "total" not in cut_bundle.values["observations"]  # unknown, never the count read
    payload, answered = post(app, body, caplog)
    main = payload["cards"][0]  # the first page still shows progression
    assert "Partial data — observations: cut short" in text(main)
    assert answered.truncated_keys == 1


# -- scope ---------------------------------------------------------------------------------------
def test_cut_conditions_leave_scope_unknown_and_say_so(clean_fhir_server, app_with,
                                                       caplog) -> None:
    """The breast cancer and brain metastases sit behind a page of other metastasis Conditions:
    on what was read the patient looks out of scope, but that is not known, so no silence."""
    pid = patient_id(PROGRESSIVE)
    clean_fhir_server.load_resources([b.patient(pid)] + [
        b.extracranial_metastasis(pid, f"bone-{i}") for i in range(UNFILTERED_PAGE_SIZE + 20)])
    clean_fhir_server.load_bundle(load_bundle(PROGRESSIVE))
    app = app_with(fhir_max_pages=1)
    for hook, url in [("patient-view", URL), ("order-sign", "/cds-services/bcbm-order-sign")]:
        body = no_prefetch(PROGRESSIVE, clean_fhir_server, hook)
        body["_url"] = url
        payload, answered = post(app, body, caplog)
        card = only_card(payload)
        assert card["source"]["topic"]["code"] == MISSING_DATA
        assert "could not be established" in text(card)
        assert "conditions: cut short" in text(card)
        assert answered.truncated_keys == 1


def test_clearly_out_of_scope_stays_silent_though_observations_were_cut(
        clean_fhir_server, app_with, caplog) -> None:
    """Lung primary on complete Conditions: no salvage question arises, whatever was cut."""
    pid = patient_id(LUNG)
    clean_fhir_server.load_resources(older_kps(pid, 150))
    clean_fhir_server.load_bundle(load_bundle(LUNG))
    payload, answered = post(app_with(fhir_max_pages=1), no_prefetch(LUNG, clean_fhir_server),
                             caplog)
    assert payload == {"cards": []}
    assert answered.truncated_keys == 1  # still counted in the log


def test_order_sign_with_cut_data_adds_the_incomplete_card(clean_fhir_server, app_with,
                                                           caplog) -> None:
    """An order that passes its checks on part of the record is not a clean pass."""
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 150))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    body = no_prefetch(STABLE, clean_fhir_server, "order-sign")
    body["_url"] = "/cds-services/bcbm-order-sign"
    payload, _ = post(app_with(fhir_max_pages=1), body, caplog)
    card = only_card(payload)
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert "draft orders" in text(card) and "observations: cut short" in text(card)


def test_a_prefetch_short_of_its_own_total_without_a_next_link_is_cut(app_with, caplog) -> None:
    """An EHR that sent 9 of the 30 observations it counted, and no way to the rest."""
    prefetch = full_prefetch(PATIENTS[STABLE]())
    observations = prefetch["observations"]
    observations["total"] = len(observations["entry"]) + 21
    app = app_with()
    body = hook_request(patient_id(STABLE), prefetch=prefetch)
    data = gather_with(app.extensions["salvage_cds"].config, copy.deepcopy(body))
    [cut] = data.truncated
    assert (cut.key, cut.cause, cut.server_total) == (
        "observations", CutCause.NO_NEXT_PAGE, observations["total"])
    payload, answered = post(app, body, caplog)
    card = only_card(payload)
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert "counted more matches but offered no next page" in text(card)
    assert answered.truncated_keys == 1


# -- the call's totals (issue 16, item 4) ----------------------------------------------------------
def kept_entries(data: GatheredData) -> int:
    """Entries of the keys under the call's caps (the required keys are outside them)."""
    return sum(len(v.get("entry") or []) for k, v in data.values.items()
               if k not in REQUIRED_KEYS
               and isinstance(v, dict) and v.get("resourceType") == "Bundle")


def test_the_calls_total_entry_cap_holds_across_queries_and_is_named(
        clean_fhir_server, app_with, caplog) -> None:
    """Each query under its own cap, the call's queries together past theirs."""
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 250))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    app = app_with(fhir_max_call_entries=150)
    data = gather_with(app.extensions["salvage_cds"].config,
                       no_prefetch(STABLE, clean_fhir_server))
    assert kept_entries(data) <= 150
    assert CutCause.CALL_ENTRY_CAP in {cut.cause for cut in data.truncated}
    card = only_card(post(app, no_prefetch(STABLE, clean_fhir_server), caplog)[0])
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert "total entry limit, 150 entries across all queries" in text(card)


def test_the_calls_total_byte_cap_holds_across_queries_and_is_named(
        clean_fhir_server, app_with, caplog) -> None:
    """The issue's hostile server: every response under its cap, their sum 1.57 GB."""
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 250))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    cap = 96 * 1024
    app = app_with(fhir_max_call_bytes=cap)
    data = gather_with(app.extensions["salvage_cds"].config,
                       no_prefetch(STABLE, clean_fhir_server))
    causes = {cut.cause for cut in data.truncated}
    assert CutCause.CALL_BYTE_CAP in causes or any("in total" in m for m in data.missing)
    card = only_card(post(app, no_prefetch(STABLE, clean_fhir_server), caplog)[0])
    assert card["source"]["topic"]["code"] == MISSING_DATA
    assert f"total size limit, {cap} bytes" in text(card) or f"{cap} bytes in total" in text(card)


def test_the_required_keys_are_outside_the_calls_total_caps(clean_fhir_server, app_with,
                                                            caplog) -> None:
    """Which queries finish first must never decide whether the call can answer: with caps
    smaller than any response, the patient and the conditions are still read (each response
    under its own cap), the cut keys are named, and the answer is never a 412 (this was a
    random failure of the byte-cap test: conditions sometimes came after the big pages)."""
    pid = patient_id(STABLE)
    clean_fhir_server.load_resources(older_kps(pid, 250))
    clean_fhir_server.load_bundle(load_bundle(STABLE))
    app = app_with(fhir_max_call_bytes=1, fhir_max_call_entries=1)
    for _ in range(3):
        data = gather_with(app.extensions["salvage_cds"].config,
                           no_prefetch(STABLE, clean_fhir_server))
        assert data.values["conditions"] and data.values["patient"]
        assert not data.missing or all(not m.startswith(("conditions", "patient"))
                                       for m in data.missing)
        card = only_card(post(app, no_prefetch(STABLE, clean_fhir_server), caplog)[0])
        assert card["source"]["topic"]["code"] == MISSING_DATA
