"""Keep-alive connections to the FHIR servers a worker process talks to, shared by its hook calls.

Each no-prefetch call runs ~7 queries; with a session per call, each call opened (and closed) ~7
new connections — over TLS, 7 handshakes before the first byte of data. One `requests.Session`
per FHIR server origin, kept for the life of the process, lets later calls reuse the open
connections. Nothing of a call lives in the session: the bearer token goes with each request,
cookies are never stored, proxies and CA bundle come from the environment (`client.new_session`).
A process talks to few servers (the allowlist decides which); the least recently used session
beyond `MAX_SERVERS` is closed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import requests

from cds_service.fhir.allowlist import Origin
from cds_service.fhir.client import FhirSettings, new_session

MAX_SERVERS = 16


class FhirConnections:
    def __init__(self, settings: FhirSettings, *, pool_size: int) -> None:
        self._settings = settings
        self._pool_size = pool_size  # connections kept per server: the process's FHIR threads
        self._sessions: OrderedDict[tuple[str, str, int | None], requests.Session] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def session_for(self, base: Origin, base_url: str) -> requests.Session | None:
        """The kept-alive session to this server; None once closed (worker exit: a call still
        running then makes a session of its own)."""
        key = (base.scheme, base.host.lower(), base.port)
        with self._lock:
            if self._closed:
                return None
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
                return session
            session = new_session(base_url, self._settings, pool_size=self._pool_size)
            self._sessions[key] = session
            evicted = self._sessions.popitem(last=False)[1] \
                if len(self._sessions) > MAX_SERVERS else None
        if evicted is not None:
            evicted.close()
        return session

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()
