"""Issue 16, item 3: every FHIR and JWKS fetch ends — socket closed, thread free — by its deadline.

A loopback server that drips one byte every 0.1 s (in the status line and headers, or in a
declared body) defeats a per-read timeout; only a total deadline ends such a request.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.client import FhirClient, FhirSettings, FhirTimedOut
from cds_service.fhir.deadline import DeadlineExceeded, bounded_get
from cds_service.security.jwt_auth import JwksFetcher

DRIP_S = 0.1
SLACK_S = 0.8


class DripServer:
    """Answers every request by dripping bytes until the client goes; records when it went."""

    def __init__(self, where: str) -> None:
        self.where = where  # "headers" or "body"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed_at: list[float] = []
        self.open = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with self._lock:
            self.open += 1
        request = b""
        while b"\r\n\r\n" not in request:
            got = conn.recv(4096)
            if not got:
                break
            request += got
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
        if self.where == "body":
            conn.sendall(head + b"Content-Length: 100000\r\n\r\n")
            drip = b"{" + b" " * 99999
        else:
            drip = head + b"X-Slow: " + b"a" * 100000
        try:
            for byte in drip:
                if self._stop.is_set():
                    break
                readable, _, _ = select.select([conn], [], [], DRIP_S)
                if readable and conn.recv(1024) == b"":
                    break  # the client shut its end
                conn.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            with self._lock:
                self.open -= 1
                self.closed_at.append(time.monotonic())
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()


@pytest.fixture(params=["headers", "body"])
def drip(request) -> Iterator[DripServer]:
    server = DripServer(request.param)
    yield server
    server.stop()


def settings() -> FhirSettings:
    return FhirSettings(connect_timeout_s=1.0, read_timeout_s=10.0, retries=2, max_pages=10,
                        max_workers=4, max_response_bytes=1 << 20, max_entries=100)


def client_for(server: DripServer) -> FhirClient:
    allowlist = FhirAllowlist.from_config(("http://127.0.0.1:*",), True)
    return FhirClient(allowlist.check(server.base_url), server.base_url, "t", settings(),
                      allowlist)


def wait_until(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_dripping_server_is_cut_at_the_deadline_and_its_socket_closed(drip) -> None:
    deadline = time.monotonic() + 1.0
    with client_for(drip) as client:
        client.deadline = deadline
        result = client.query("Patient/p1")
    assert isinstance(result.error, FhirTimedOut)
    assert "time budget" in str(result.error)
    assert time.monotonic() < deadline + SLACK_S
    assert wait_until(lambda: drip.open == 0, SLACK_S), "the socket outlived the deadline"
    assert all(at < deadline + SLACK_S for at in drip.closed_at)


def test_calls_against_a_dripping_server_leak_no_threads(drip) -> None:
    """The issue's measurement was 9 -> 203 threads over 27 calls."""
    before = threading.active_count()
    for _ in range(4):
        with client_for(drip) as client:
            results = client.fetch_many({f"q{i}": f"Observation?code={i}" for i in range(4)},
                                        time.monotonic() + 0.5)
        assert all(r.error is not None for r in results.values())
    # the watchdog thread is the only one allowed to stay
    assert wait_until(lambda: threading.active_count() <= before + 1, 2 * SLACK_S), \
        f"{threading.active_count() - before} threads outlived their calls"
    assert wait_until(lambda: drip.open == 0, SLACK_S)


def test_the_jwks_fetch_ends_by_its_total_timeout(drip) -> None:
    fetcher = JwksFetcher(read_timeout_s=10.0, total_timeout_s=0.8)
    started = time.monotonic()
    assert fetcher.get_key(f"http://127.0.0.1:{drip.port}/jwks.json", "k1") is None
    assert time.monotonic() - started < 0.8 + SLACK_S
    assert wait_until(lambda: drip.open == 0, SLACK_S)


def test_the_reusable_bounded_get_raises_deadline_exceeded(drip) -> None:
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        bounded_get(f"http://127.0.0.1:{drip.port}/x", deadline=started + 0.6, max_bytes=1 << 20,
                    read_timeout_s=10.0)
    assert time.monotonic() - started < 0.6 + SLACK_S
    assert wait_until(lambda: drip.open == 0, SLACK_S)


def test_a_tls_handshake_that_never_ends_is_cut_at_the_deadline() -> None:
    """The socket is shut through a duplicate descriptor: the TLS wrapping does not hide it."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded):
            bounded_get(f"https://127.0.0.1:{listener.getsockname()[1]}/jwks.json",
                        deadline=started + 0.6, max_bytes=1024, read_timeout_s=10.0,
                        connect_timeout_s=10.0)
        assert time.monotonic() - started < 0.6 + SLACK_S
        assert wait_until(lambda: bool(accepted), SLACK_S)
        accepted[0].settimeout(SLACK_S)
        while accepted[0].recv(4096):  # the ClientHello, then the end: the client shut its side
            pass
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_paging_ended_by_the_deadline_is_a_cut_even_when_the_total_says_all(drip) -> None:
    """The same answer whether the query or the call's wait ends first: cut by the time budget
    (the server's `total` cannot vouch for pages that were never asked for)."""
    from cds_service.fhir.truncation import CutCause

    first = {"resourceType": "Bundle", "type": "searchset", "total": 1,
             "entry": [{"resource": {"resourceType": "Observation", "id": "o1"}}],
             "link": [{"relation": "next", "url": drip.base_url + "/Observation?_offset=1"}]}
    with client_for(drip) as client:
        client.deadline = time.monotonic() + 0.5
        result = client.continue_pages(first)
    assert result.truncation is not None and result.truncation.cause is CutCause.TIME_BUDGET
    assert len(result.value["entry"]) == 1
