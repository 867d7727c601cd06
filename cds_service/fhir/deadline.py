"""HTTP requests that end by a deadline: socket shut, thread free (issue 16, item 3).

`requests` bounds each socket operation (connect timeout, read timeout), never the whole request:
a server that sends one byte every few seconds keeps a GET — and the thread running it — alive
without end. Here one watchdog thread per process holds the deadlines of the requests in flight;
when one passes, it shuts the socket(s) of that request down (`socket.shutdown`, which wakes a
blocked `recv` in any thread, during the TLS handshake too), so the request fails at once and its
thread is free.

Use:

* `deadline_session()` — a `requests.Session` whose connections can be shut by the watchdog
  (mount `DeadlineAdapter` on a session of your own instead, to keep its retry settings);
* `with bounded(deadline) as guard:` around a request *and the reading of its body*: the sockets
  the request uses in this thread are watched; `guard.expired` says the deadline cut it;
* `bounded_get(url, deadline=..., max_bytes=...)` — one GET read whole, bounded in time and size
  (`DeadlineExceeded`, `ResponseTooLarge`): the JWKS fetch uses it, and so can any other fetch of
  a small document (SMART discovery, a token endpoint's answer via `bounded(...)`).

Deadlines are `time.monotonic()` values.
"""

from __future__ import annotations

import heapq
import itertools
import math
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import connection as u3_connection
from urllib3 import connectionpool as u3_pool

_local = threading.local()


class DeadlineExceeded(requests.Timeout):
    """The request did not end by its deadline (its socket was shut)."""


class ResponseTooLarge(requests.RequestException):
    """The response body exceeded the caller's byte cap."""


class Guard:
    """The sockets one thread's request uses until its deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.done = False
        self._connections: set[Any] = set()
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def watch(self, connection: Any) -> None:
        with self._lock:
            if self.done:
                return
            if not self.expired:
                self._connections.add(connection)
                return
        _shut(connection)  # already past the deadline: no new socket may start

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._connections.clear()


def _shut(connection: Any) -> None:
    handle = getattr(connection, "_deadline_handle", None)
    if handle is None:
        return
    try:
        handle.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _Watchdog:
    """One thread per process: expires guards whose deadline has passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Guard]] = []
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, guard: Guard) -> None:
        with self._cv:
            heapq.heappush(self._heap, (guard.deadline, next(self._order), guard))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="http-deadline",
                                                daemon=True)
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cv.wait()
                    continue
                wait_s = self._heap[0][0] - time.monotonic()
                if wait_s > 0:
                    self._cv.wait(min(wait_s, 3600.0))
                    continue
                guard = heapq.heappop(self._heap)[2]
            guard.expire()


_WATCHDOG = _Watchdog()


def current_guard() -> Guard | None:
    return getattr(_local, "guard", None)


@contextmanager
def bounded(deadline: float) -> Iterator[Guard]:
    """Watch the sockets this thread's requests use until the block ends; shut them at
    `deadline`. Read the response body inside the block."""
    guard = Guard(deadline)
    previous = current_guard()
    _local.guard = guard
    if math.isfinite(deadline):
        _WATCHDOG.add(guard)
    try:
        yield guard
    finally:
        guard.finish()
        _local.guard = previous


class _Watched:
    """Mixin for urllib3 connections: each new socket gets a handle the watchdog can shut down
    (a duplicate descriptor: it outlives the TLS wrapping of the original), and is watched by
    the guard of the thread that uses it.

    The `type: ignore[misc]` on its `super()` calls: a mixin's methods come from the connection
    class after it in the MRO, which the type checker cannot see from the mixin alone."""

    _deadline_handle: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        self._close_handle()
        self._deadline_handle = sock.dup()
        if (guard := current_guard()) is not None:
            guard.watch(self)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if (guard := current_guard()) is not None:
            guard.watch(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def close(self) -> None:
        try:
            super().close()  # type: ignore[misc]
        finally:
            self._close_handle()

    def _close_handle(self) -> None:
        handle, self._deadline_handle = self._deadline_handle, None
        if handle is not None:
            handle.close()


class WatchedHTTPConnection(_Watched, u3_connection.HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, u3_connection.HTTPSConnection):
    pass


class _HTTPPool(u3_pool.HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class _HTTPSPool(u3_pool.HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections `bounded` can shut down."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def mount_deadline_adapter(session: requests.Session, adapter: DeadlineAdapter) -> None:
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def deadline_session() -> requests.Session:
    """A session whose requests `bounded` can end (no retries: a deadline-bounded fetch)."""
    session = requests.Session()
    mount_deadline_adapter(session, DeadlineAdapter(max_retries=0))
    return session


@dataclass(frozen=True)
class BoundedResponse:
    status_code: int
    headers: Mapping[str, str]
    body: bytes


def read_capped(response: requests.Response, max_bytes: int, guard: Guard | None = None,
                chunk_size: int = 16384) -> bytes:
    """The body, refused past `max_bytes` (`ResponseTooLarge`) or the guard's deadline
    (`DeadlineExceeded`)."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=chunk_size):
            size += len(chunk)
            if size > max_bytes:
                raise ResponseTooLarge(f"the response exceeded {max_bytes} bytes")
            chunks.append(chunk)
    except ResponseTooLarge:
        raise
    except requests.RequestException:
        if guard is not None and guard.expired:
            raise DeadlineExceeded("the response did not arrive by the deadline") from None
        raise
    if guard is not None and guard.expired:  # a body read to a shut socket's end is cut
        raise DeadlineExceeded("the response did not arrive by the deadline")
    return b"".join(chunks)


def bounded_get(url: str, *, deadline: float, max_bytes: int, connect_timeout_s: float = 3.05,
                read_timeout_s: float = 5.0, headers: Mapping[str, str] | None = None,
                session: requests.Session | None = None) -> BoundedResponse:
    """One GET, its body read whole, ended by `deadline` (`DeadlineExceeded`) and `max_bytes`
    (`ResponseTooLarge`); no redirects followed. `session` must have a `DeadlineAdapter` mounted
    (default: a fresh `deadline_session()`, closed afterwards)."""
    own = session is None
    session = deadline_session() if session is None else session
    try:
        with bounded(deadline) as guard:
            if guard.remaining() <= 0:
                raise DeadlineExceeded("the deadline had passed before the request")
            timeout = (min(connect_timeout_s, guard.remaining()) or 0.001,
                       min(read_timeout_s, guard.remaining()) or 0.001)
            try:
                response = session.get(url, headers=dict(headers or {}), timeout=timeout,
                                       allow_redirects=False, stream=True)
            except requests.RequestException:
                if guard.expired:
                    raise DeadlineExceeded("the request did not end by the deadline") from None
                raise
            with response:
                body = read_capped(response, max_bytes, guard)
                return BoundedResponse(response.status_code, dict(response.headers), body)
    finally:
        if own:
            session.close()
