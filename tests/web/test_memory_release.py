"""A large request body's freed memory goes back to the system (glibc's malloc_trim) once the
worker's large calls have stopped for a moment — once after a burst, not after each call — and
that step can never fail a call."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
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


IDLE_S = 0.05  # the tests' idle time before a release (the service's: RELEASE_WHEN_IDLE_S)
WAIT_S = 5.0  # the longest a test waits for a release that should come


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(http_json, "_MALLOC_TRIM", lambda pad: calls.append(pad) or 1)
    monkeypatch.setattr(http_json, "MEMORY_RELEASE",
                        http_json.IdleRelease(IDLE_S, http_json._release_freed_memory))
    return calls


def _soon(condition: Any) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_a_large_body_is_released_once_the_calls_stop(client: Any, trims: list[int]) -> None:
    response = client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                           content_type="application/json")
    response.close()
    assert _soon(lambda: trims == [0])
    time.sleep(4 * IDLE_S)
    assert trims == [0]  # once


def test_a_small_body_is_not(client: Any, trims: list[int]) -> None:
    response = client.post(URL, data=_body_of_at_least(10), content_type="application/json")
    response.close()
    time.sleep(4 * IDLE_S)
    assert trims == []


# -- the release once the large calls stop -------------------------------------------------------
@pytest.fixture
def released() -> Iterator[tuple[http_json.IdleRelease, list[float]]]:
    times: list[float] = []
    yield http_json.IdleRelease(IDLE_S, lambda: times.append(time.monotonic())), times


def test_a_burst_of_calls_is_released_once_after_the_last(
        released: tuple[http_json.IdleRelease, list[float]]) -> None:
    release, times = released
    for _ in range(5):  # back to back, closer than the idle time
        release.began()
        time.sleep(IDLE_S / 5)
        release.ended()
    last_ended = time.monotonic()
    assert _soon(lambda: len(times) == 1)
    assert times[0] >= last_ended + IDLE_S * 0.9
    time.sleep(4 * IDLE_S)
    assert len(times) == 1


def test_nothing_is_released_while_a_call_runs(
        released: tuple[http_json.IdleRelease, list[float]]) -> None:
    release, times = released
    release.began()
    release.ended()
    release.began()  # the next call began before the idle time passed
    time.sleep(6 * IDLE_S)
    assert times == []
    release.ended()
    assert _soon(lambda: len(times) == 1)


def test_calls_overlapping_on_threads_are_released_after_the_last_ends(
        released: tuple[http_json.IdleRelease, list[float]]) -> None:
    release, times = released
    both_began = threading.Barrier(2)

    def call(seconds: float) -> None:
        release.began()
        both_began.wait()
        time.sleep(seconds)
        release.ended()

    threads = [threading.Thread(target=call, args=(s,)) for s in (IDLE_S / 5, 6 * IDLE_S)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last_ended = time.monotonic()
    assert _soon(lambda: len(times) == 1)
    assert times[0] >= last_ended + IDLE_S * 0.9


def test_a_release_that_failed_does_not_stop_later_ones(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    outcomes: list[str] = []

    def flaky() -> None:
        outcomes.append("called")
        if len(outcomes) == 1:
            raise OSError("first release failed")

    release = http_json.IdleRelease(IDLE_S, flaky)
    release.began()
    release.ended()
    assert _soon(lambda: len(outcomes) == 1)
    release.began()
    release.ended()
    assert _soon(lambda: len(outcomes) == 2)
    assert "giving freed memory back to the system failed" in caplog.text


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
