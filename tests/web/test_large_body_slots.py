"""A worker reads, parses and answers only so many large bodies at once (`LargeBodySlots`): a large
call takes a slot before its body is read, gives it back however the call ends, waits for one
within its time budget and is then refused with a 503; small calls never wait.

No test sleeps on a guess: calls are held inside the view by events, and a waiting call is seen
through the slots' own `waiting` count.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from cds_service.config import ServiceConfig
from cds_service.errors import ServiceBusy
from cds_service.ops.config_check import config_problems
from cds_service.web import http_json
from cds_service.web.app import create_app
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, patient_id

URL = "/cds-services/bcbm-salvage"
PATIENT = "progressive-after-srs-in-field"
WAIT_S = 10.0  # the longest a test waits for something it is sure to see


def _body(padding: int) -> bytes:
    request = hook_request(patient_id(PATIENT), prefetch=full_prefetch(PATIENTS[PATIENT]()))
    if padding:  # a key the service does not read, in a Bundle: the call is answered as without
        request["prefetch"]["padding"] = {"resourceType": "Bundle", "type": "searchset",
                                          "entry": [], "padding_text": "x" * padding}
    return json.dumps(request).encode()


LARGE = _body(http_json.RELEASE_AFTER_BYTES)
SMALL = _body(0)


class CountingStream(io.BytesIO):
    """A request body that counts the bytes the service has read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def post(app: Flask, body: bytes | CountingStream, *, chunked: bool = False,
         path: str = URL) -> Any:
    """One call, with its own test client (calls run in several threads); `chunked`: without
    Content-Length, as a server that has decoded a chunked body passes it on."""
    stream = body if isinstance(body, CountingStream) else CountingStream(body)
    options: dict[str, Any] = {}
    if chunked:
        options = {"headers": {"Transfer-Encoding": "chunked"},
                   "environ_overrides": {"wsgi.input_terminated": True}}
    response = app.test_client().post(path, input_stream=stream, content_type="application/json",
                                      **options)
    response.close()
    return response


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**settings: Any) -> Flask:
        config = ServiceConfig(database_url=f"sqlite:///{tmp_path / f'db{len(apps)}.sqlite3'}",
                               auth_required=False, public_base_url="http://localhost",
                               **settings)
        apps.append(create_app(config))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["salvage_cds"].close()


def slots_of(app: Flask) -> http_json.LargeBodySlots:
    return app.extensions["salvage_cds"].large_bodies


def post_while_the_slot_is_taken(app: Flask, body: bytes | CountingStream, **options: Any) -> Any:
    """`post` while another large call holds the only slot (given back however the call ends)."""
    slots = slots_of(app)
    slots.take()
    try:
        return post(app, body, **options)
    finally:
        slots.give_back()


def assert_all_slots_free(app: Flask) -> None:
    """Exactly `limit` slots can be taken at once, no more: none leaked, none given back twice."""
    slots = slots_of(app)
    assert (slots.held, slots.waiting) == (0, 0)
    assert http_json.COLLECTOR_PAUSE.holders == 0
    taken = 0
    try:
        for _ in range(slots.limit):
            assert slots.take(wait_until=time.monotonic()) == "free"
            taken += 1
        with pytest.raises(ServiceBusy):
            slots.take(wait_until=time.monotonic())
    finally:
        for _ in range(taken):
            slots.give_back()


class ViewGate:
    """Holds every call inside the view (where its body is parsed and held) until opened."""

    def __init__(self, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Semaphore(0)
        self.opened = threading.Event()
        validator = app.extensions["salvage_cds"].validator
        original = type(validator).validate_request

        def held(validator_self: Any, body: Any, hook: str) -> None:
            self.entered.release()
            assert self.opened.wait(WAIT_S)
            original(validator_self, body, hook)

        monkeypatch.setattr(type(validator), "validate_request", held)

    def wait_entered(self) -> None:
        assert self.entered.acquire(timeout=WAIT_S), "no call reached the view"


class InThread:
    """A call run in a thread; `.response` once joined."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.response: Any = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        self.response = call()

    def join(self) -> Any:
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive(), "the call did not end"
        return self.response


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        threading.Event().wait(0.002)


def large_bodies_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("salvage_cds_large_bodies_total", {"outcome": outcome}) or 0.0


# -- a slot is given back however the call ends ---------------------------------------------------
def test_a_slot_is_given_back_after_an_answer(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    free_before = large_bodies_counted("free")
    assert post(app, LARGE).status_code == 200
    assert_all_slots_free(app)
    assert large_bodies_counted("free") == free_before + 1


@pytest.mark.parametrize(("body", "chunked", "status", "error"), [
    (LARGE[:-1], False, 400, "bad-request"),  # malformed JSON
    (LARGE.replace(b'"patient-view"', b'"no-such-hook"', 1), False, 400, "bad-request"),
    (b"\xff" + LARGE[1:], False, 400, "bad-request"),  # not UTF-8
    (LARGE + b" " * (2 * 2**20), True, 413, "payload-too-large"),  # chunked, beyond the limit
], ids=["malformed", "invalid request", "not UTF-8", "chunked too large"])
def test_a_slot_is_given_back_after_a_4xx(make_app: Callable[..., Flask], body: bytes,
                                          chunked: bool, status: int, error: str) -> None:
    app = make_app(max_request_bytes=len(LARGE) + 2**20)
    response = post(app, body, chunked=chunked)
    assert (response.status_code, response.get_json()["error"]) == (status, error)
    assert_all_slots_free(app)


def test_a_slot_is_given_back_after_an_exception_in_the_view(
        make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    validator = app.extensions["salvage_cds"].validator

    def broken(self: Any, body: Any, hook: str) -> None:
        raise RuntimeError("a bug in the view")

    monkeypatch.setattr(type(validator), "validate_request", broken)
    response = post(app, LARGE)
    assert (response.status_code, response.get_json()["error"]) == (500, "internal-error")
    assert_all_slots_free(app)


def test_a_slot_is_given_back_once_when_flask_ends_the_call_twice(
        make_app: Callable[..., Flask]) -> None:
    """A failing after-request function makes Flask run the call's end callbacks again for the
    500 it answers: the slot and the collector's pause are still given back only once."""
    app = make_app()
    failures = [RuntimeError("an after-request function fails once")]

    @app.after_request
    def fails_once(response: Any) -> Any:
        if failures:
            raise failures.pop()
        return response

    assert post(app, LARGE).status_code == 500
    assert_all_slots_free(app)


# -- waiting for a slot -----------------------------------------------------------------------------
def test_a_second_large_call_waits_unread_then_proceeds(
        make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    gate = ViewGate(app, monkeypatch)
    waited_before = large_bodies_counted("waited")
    first = InThread(lambda: post(app, LARGE))
    gate.wait_entered()  # the first call holds the slot, its body parsed
    second_body = CountingStream(LARGE)
    second = InThread(lambda: post(app, second_body))
    wait_until(lambda: slots_of(app).waiting == 1)
    assert second_body.bytes_read == 0  # its body waits in the socket, not in the worker
    gate.opened.set()
    assert first.join().status_code == 200
    assert second.join().status_code == 200
    assert second_body.bytes_read == len(LARGE)
    assert large_bodies_counted("waited") == waited_before + 1
    assert_all_slots_free(app)


@pytest.mark.parametrize("limit", [2, 0], ids=["two at once", "no bound"])
def test_more_large_calls_at_once_when_the_setting_allows(
        make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    app = make_app(large_bodies_per_worker=limit)
    gate = ViewGate(app, monkeypatch)
    calls = [InThread(lambda: post(app, LARGE)) for _ in range(2)]
    gate.wait_entered()
    gate.wait_entered()  # both inside the view at the same time
    assert slots_of(app).waiting == 0
    gate.opened.set()
    assert [call.join().status_code for call in calls] == [200, 200]
    if limit:
        assert_all_slots_free(app)
    assert http_json.COLLECTOR_PAUSE.holders == 0


@pytest.mark.parametrize("path", [URL, "/api/assessment"])
def test_no_slot_within_the_budget_is_a_503_with_retry_after(
        make_app: Callable[..., Flask], path: str) -> None:
    app = make_app(request_budget_s=0.05)
    refused_before = large_bodies_counted("refused")
    body = CountingStream(LARGE)
    response = post_while_the_slot_is_taken(app, body, path=path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(http_json.BUSY_RETRY_AFTER_S)
    answer = response.get_json()
    assert answer["error"] == "service-busy"
    assert "SALVAGE_CDS_LARGE_BODIES_PER_WORKER" in answer["message"]
    assert "retry after" in answer["message"]
    assert body.bytes_read == 0
    assert large_bodies_counted("refused") == refused_before + 1
    assert_all_slots_free(app)
    assert post(app, LARGE, path=path).status_code != 503  # the slot free again: answered


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
def test_small_calls_never_wait(make_app: Callable[..., Flask], chunked: bool) -> None:
    app = make_app(request_budget_s=0.05)
    # every slot taken: a small call that waited would get the 503
    response = post_while_the_slot_is_taken(app, SMALL, chunked=chunked)
    assert response.status_code == 200
    assert_all_slots_free(app)


# -- a body without Content-Length ------------------------------------------------------------------
def test_a_large_chunked_body_is_answered_and_gives_its_slot_back(
        make_app: Callable[..., Flask]) -> None:
    app = make_app()
    assert post(app, LARGE, chunked=True).status_code == 200
    assert_all_slots_free(app)


def test_a_large_chunked_body_waits_with_no_more_than_the_large_size_read(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(request_budget_s=0.05)
    body = CountingStream(LARGE)
    response = post_while_the_slot_is_taken(app, body, chunked=True)
    assert response.status_code == 503
    assert body.bytes_read == http_json.RELEASE_AFTER_BYTES  # read to learn it is large, no more
    assert_all_slots_free(app)


# -- the setting ------------------------------------------------------------------------------------
def test_the_setting_comes_from_the_environment() -> None:
    config = ServiceConfig.from_env({"SALVAGE_CDS_LARGE_BODIES_PER_WORKER": "3"})
    assert config.large_bodies_per_worker == 3
    assert ServiceConfig().large_bodies_per_worker == 1


def test_a_negative_setting_is_refused_and_check_config_says_so() -> None:
    with pytest.raises(ValueError, match="LARGE_BODIES_PER_WORKER"):
        ServiceConfig(large_bodies_per_worker=-1)
    problems = config_problems({"SALVAGE_CDS_LARGE_BODIES_PER_WORKER": "-1"})
    assert any("SALVAGE_CDS_LARGE_BODIES_PER_WORKER" in p and "negative" in p for p in problems)
