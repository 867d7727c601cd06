"""Writing bookkeeping rows from one background thread per process, in batches, off the request path.

Used for the issued-cards links (`FeedbackStore.queue_issued_cards`), written on every hook call.
Written inline, each call paid a transaction of its own, and under concurrency the gunicorn workers
queued on SQLite's write lock (its busy handler sleeps between tries), which showed in the CPU of
a call and in the p99 at concurrency 8 (docs/performance.md, `python -m bench.run --machinery`).

Batching: once a row set arrives, the thread lingers up to `linger_s` (default 50 ms) for more,
then writes everything in one transaction — a few calls per transaction at ordinary load instead
of one each, and the thread wakes up (and takes the GIL from the request threads) at most 20
times a second. A flush or a stop ends the lingering at once. What it guarantees:

- `submit` never blocks the caller and never raises; when the backlog is full (the database is
  down or far too slow) the rows are dropped and an error is logged — the same outcome as a
  failed inline write, which only ever cost the feedback *link*, never a card;
- one bad row set does not cost the others: when a batch fails because of its data
  (`split_on` says which errors), each submitted row set is written again in a transaction of
  its own, and only the failing ones are dropped (and logged). A failure of the database itself
  (down, locked, the connection lost — perhaps after the commit) drops the batch, logged, rather
  than risk writing rows twice or waiting out a timeout per row set;
- `flush` returns once everything submitted before it has been written (or failed);
- `close` (app teardown, gunicorn `worker_exit`, interpreter exit) writes what is queued.
  Rows submitted in the moments before a hard kill (SIGKILL, OOM) can be lost; feedback itself
  is never written through this path (`FeedbackStore.add_feedback` commits before answering).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

Rows = Sequence[dict[str, Any]]

DEFAULT_MAX_PENDING = 10_000  # submitted row sets waiting; beyond that, drop and say so
DEFAULT_MAX_BATCH = 1_000  # rows per transaction (reached, the batch is written at once)
DEFAULT_CLOSE_TIMEOUT_S = 10.0
DEFAULT_LINGER_S = 0.05  # how long the first row set of a batch waits for company


class _Marker:
    """Queued behind rows: set once the writer has got past them."""

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class BatchWriter:
    def __init__(self, write: Callable[[Rows], None], *, name: str, log: logging.Logger,
                 max_pending: int = DEFAULT_MAX_PENDING, max_batch: int = DEFAULT_MAX_BATCH,
                 linger_s: float = DEFAULT_LINGER_S,
                 split_on: Callable[[Exception], bool] = lambda _exc: True) -> None:
        self._write = write
        self._split_on = split_on
        self._linger_s = linger_s
        self._name = name
        self._log = log
        self._max_batch = max_batch
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- callers ----------------------------------------------------------------------------------
    def submit(self, rows: Rows) -> bool:
        """Queue `rows` for writing; False (and an error logged) when they cannot be."""
        if not rows:
            return True
        problem = None
        with self._lock:  # with close(): every accepted row set is queued before the stop
            if self._closed:
                problem = "writer closed"
            else:
                self._ensure_started()
                try:
                    self._queue.put_nowait(list(rows))
                except queue.Full:
                    problem = "backlog full"
        if problem is not None:
            self._log.error("%s: not recorded (%s)", self._name, problem,
                            extra={"rows": len(rows)})
            return False
        return True

    def flush(self, timeout: float = DEFAULT_CLOSE_TIMEOUT_S) -> bool:
        """Wait until everything submitted so far has been written; False on timeout."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return self._queue.empty()
        if self._closed:  # the writer stops after what is queued: wait for that instead
            thread.join(timeout)
            return not thread.is_alive()
        marker = _Marker()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def close(self, timeout: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Write what is queued, then stop the thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        atexit.unregister(self.close)
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            self._log.error("%s: could not stop the writer (backlog full)", self._name)
            return
        thread.join(timeout)

    # -- the writer thread ------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        """Called with `_lock` held."""
        if self._thread is None:
            # started by the first submit, i.e. in the gunicorn worker, never before a fork
            thread = threading.Thread(target=self._run, name=f"{self._name}-writer", daemon=True)
            thread.start()
            self._thread = thread
            atexit.register(self.close)

    def _run(self) -> None:
        while True:
            batch: list[list[dict[str, Any]]] = []  # row sets, one per submit
            markers: list[_Marker] = []
            stop, rows = self._take(self._queue.get(), batch, markers)
            until = time.monotonic() + self._linger_s
            while not stop and rows < self._max_batch:
                # linger for company unless someone waits for this batch (flush) or for the end
                wait = 0.0 if markers else until - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                stop, added = self._take(item, batch, markers)
                rows += added
            if batch:
                self._write_batch(batch)
            for marker in markers:
                marker.done.set()
            if stop:
                self._release_waiters()
                return

    @staticmethod
    def _take(item: Any, batch: list[list[dict[str, Any]]], markers: list[_Marker]
              ) -> tuple[bool, int]:
        """File a queued item; (is it the stop, how many rows it added)."""
        if item is _STOP:
            return True, 0
        if isinstance(item, _Marker):
            markers.append(item)
            return False, 0
        batch.append(item)
        return False, len(item)

    def _write_batch(self, batch: list[list[dict[str, Any]]]) -> None:
        """One transaction; if the data failed it, one per row set, so that a bad row set costs
        only itself."""
        failure = self._write_logged([row for rows in batch for row in rows],
                                     quiet=len(batch) > 1)
        if failure is None or len(batch) == 1:
            return
        if not self._split_on(failure):
            self._log_lost(failure, sum(map(len, batch)))
            return
        for rows in batch:
            self._write_logged(rows)

    def _write_logged(self, rows: list[dict[str, Any]], *, quiet: bool = False
                      ) -> Exception | None:
        try:
            self._write(rows)
        except Exception as exc:  # noqa: BLE001 - the thread must outlive any database error
            if not quiet:
                self._log_lost(exc, len(rows))
            return exc
        return None

    def _log_lost(self, exc: Exception, rows: int) -> None:
        self._log.error("%s: not recorded (%s)", self._name, type(exc).__name__,
                        extra={"rows": rows})

    def _release_waiters(self) -> None:
        """After the stop: nothing is written any more; whoever waits on a marker is let go."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Marker):
                item.done.set()
