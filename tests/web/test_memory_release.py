"""A large request body hands its freed memory back once the response is sent (glibc's
malloc_trim), and that step can never fail the call."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest

from cds_service.web import http_json
from tests.support.hook_requests import hook_request

URL = "/cds-services/bcbm-salvage"


def _body_of_at_least(size: int) -> bytes:
    request = hook_request("nobody")
    request["prefetch"] = {"padding": {"resourceType": "Bundle", "type": "searchset",
                                       "entry": [], "padding_text": "x" * size}}
    return json.dumps(request).encode()


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(http_json, "_MALLOC_TRIM", lambda pad: calls.append(pad) or 1)
    return calls


def test_a_large_body_is_released_after_the_response(client: Any, trims: list[int]) -> None:
    response = client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                           content_type="application/json")
    response.close()  # the WSGI server closes the response once it is sent
    assert trims == [0]


def test_a_small_body_is_not(client: Any, trims: list[int]) -> None:
    response = client.post(URL, data=_body_of_at_least(10), content_type="application/json")
    response.close()
    assert trims == []


def _answer(client: Any) -> tuple[int, Any]:
    response = client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                           content_type="application/json")
    response.close()
    body = response.get_json()
    body.pop("request_id", None)
    return response.status_code, body


def broken_trim(pad: int) -> int:
    raise OSError("no trim here")


@pytest.mark.parametrize("trim", [broken_trim, None], ids=["trim raises", "not glibc"])
def test_the_answer_does_not_depend_on_the_trim(client: Any, trims: list[int],
                                               monkeypatch: pytest.MonkeyPatch, trim: Any) -> None:
    expected = _answer(client)  # the body names no data source: the call's own 412
    monkeypatch.setattr(http_json, "_MALLOC_TRIM", trim)
    assert _answer(client) == expected
    assert expected[0] == 412


# -- the collector paused for a large call ---------------------------------------------------------
@pytest.mark.parametrize("malformed", [False, True], ids=["answered", "malformed JSON"])
def test_a_large_call_leaves_the_collector_as_it_found_it(client: Any, trims: list[int],
                                                          malformed: bool) -> None:
    body = _body_of_at_least(http_json.RELEASE_AFTER_BYTES)
    response = client.post(URL, data=body[:-1] if malformed else body,
                           content_type="application/json")
    assert response.status_code == (400 if malformed else 412)
    assert http_json.COLLECTOR_PAUSE.holders == 0
    assert gc.isenabled()


def test_the_collector_is_paused_while_a_large_call_runs(app: Any, client: Any, trims: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    validator = app.extensions["salvage_cds"].validator
    original = type(validator).validate_request

    def spy(self: Any, body: Any, hook: str) -> None:
        seen.append(gc.isenabled())
        original(self, body, hook)

    monkeypatch.setattr(type(validator), "validate_request", spy)
    client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                content_type="application/json")
    client.post(URL, data=_body_of_at_least(10), content_type="application/json")
    assert seen == [False, True]  # paused for the large call only


def test_pauses_nest_and_the_last_resume_restores() -> None:
    pause = http_json.CollectorPause()
    pause.pause()
    pause.pause()
    pause.resume()
    assert not gc.isenabled()
    pause.resume()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    pause = http_json.CollectorPause()
    gc.disable()
    try:
        pause.pause()
        pause.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_pause_held_too_long_gets_a_full_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    collections: list[int] = []
    monkeypatch.setattr(http_json.gc, "collect", lambda *a: collections.append(1) or 0)
    pause = http_json.CollectorPause(max_pause_s=0.0)
    pause.pause()  # a holder that never resumes
    pause.pause()
    pause.resume()
    assert collections == [1]
    assert not gc.isenabled()
    pause.resume()
    assert gc.isenabled()
