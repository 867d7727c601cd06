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
def releases(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The releases of this test's calls (a release of its own, so that one due from an earlier
    test's large call, on the process's release thread, is never counted here)."""
    calls: list[str] = []
    monkeypatch.setattr(http_json, "MEMORY_RELEASE",
                        http_json.IdleRelease(IDLE_S, lambda: calls.append("released")))
    return calls


def _soon(condition: Any) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_a_large_body_is_released_once_the_calls_stop(client: Any, releases: list[str]) -> None:
    response = client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                           content_type="application/json")
    response.close()
    assert _soon(lambda: releases == ["released"])
    time.sleep(4 * IDLE_S)
    assert releases == ["released"]  # once


def test_a_small_body_is_not(client: Any, releases: list[str]) -> None:
    response = client.post(URL, data=_body_of_at_least(10), content_type="application/json")
    response.close()
    time.sleep(4 * IDLE_S)
    assert releases == []


def _trims_on_this_thread(monkeypatch: pytest.MonkeyPatch, trim: Any) -> list[int]:
    """`_MALLOC_TRIM` replaced; the calls made on this test's thread (the process's release
    thread may release for an earlier test's large call meanwhile)."""
    this_thread = threading.current_thread()
    calls: list[int] = []

    def recorded(pad: int) -> int:
        if threading.current_thread() is this_thread:
            calls.append(pad)
        return trim(pad)

    monkeypatch.setattr(http_json, "_MALLOC_TRIM", recorded)
    return calls


def test_the_release_trims_all_of_mallocs_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _trims_on_this_thread(monkeypatch, lambda pad: 1)
    http_json._release_freed_memory()
    assert calls == [0]  # no padding kept


def broken_trim(pad: int) -> int:
    raise OSError("no trim here")


def test_a_failing_trim_is_only_memory_held_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _trims_on_this_thread(monkeypatch, broken_trim)
    http_json._release_freed_memory()  # no error
    assert calls == [0]


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
        before_the_last_end = time.monotonic()
        release.ended()
    assert _soon(lambda: len(times) == 1)
    assert times[0] >= before_the_last_end + IDLE_S
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
    before_each_end: list[float] = []

    def call(seconds: float) -> None:
        release.began()
        both_began.wait()
        time.sleep(seconds)
        before_each_end.append(time.monotonic())
        release.ended()

    threads = [threading.Thread(target=call, args=(s,)) for s in (IDLE_S / 5, 6 * IDLE_S)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _soon(lambda: len(times) == 1)
    assert times[0] >= max(before_each_end) + IDLE_S


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


# -- the collector paused for a large call ---------------------------------------------------------
@pytest.mark.parametrize("malformed", [False, True], ids=["answered", "malformed JSON"])
def test_a_large_call_leaves_the_collector_as_it_found_it(client: Any, releases: list[str],
                                                          malformed: bool) -> None:
    body = _body_of_at_least(http_json.RELEASE_AFTER_BYTES)
    response = client.post(URL, data=body[:-1] if malformed else body,
                           content_type="application/json")
    assert response.status_code == (400 if malformed else 412)
    assert http_json.COLLECTOR_PAUSE.holders == 0
    assert gc.isenabled()


def test_the_collector_is_paused_while_a_large_call_runs(app: Any, client: Any,
                                                         releases: list[str],
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
