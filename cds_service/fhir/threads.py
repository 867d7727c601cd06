"""The threads of a worker process that run FHIR queries, shared by all its hook calls.

Starting a thread per query per call showed in the CPU of every no-prefetch call
(docs/performance.md, `python -m bench.run --machinery`), so a process keeps one pool. A call
takes threads from it only when enough are free for all its
queries at once; otherwise — the pool held, e.g., by another call's queries to a hanging FHIR
server (they end at that call's deadline, when `deadline.py` shuts their sockets) — the call
starts threads of its own, as every call did before. So no call ever waits behind another call's
FHIR server, and the pool never grows past its size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class FhirThreads:
    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="fhir")
        self._lock = threading.Lock()
        self._held = 0  # queries reserved and not finished (running or waiting)
        self._closed = False

    def try_reserve(self, count: int) -> bool:
        """Hold `count` threads for one call's queries; False when not that many are free (or
        the pool is shut down: calls still running at worker exit use threads of their own)."""
        with self._lock:
            if self._closed or self._held + count > self.size:
                return False
            self._held += count
            return True

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run one reserved query; its reservation ends when it finishes or is cancelled."""
        future = self._executor.submit(fn, *args)
        future.add_done_callback(self._release_one)
        return future

    @property
    def held(self) -> int:
        return self._held

    def _release_one(self, _future: Future[Any]) -> None:
        with self._lock:
            self._held -= 1

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
