"""Reading a JSON request body safely: content type, size cap, parse errors, nesting depth.

The nesting depth is checked on the bytes before parsing, from the brackets outside strings, so
hostile nesting is refused before any object is built; only a body with brackets inside its
strings is checked by walking the parsed value. The body is parsed with the garbage collector
paused: parsing builds only new containers that hold no cycle, so the collector's passes over
them (most of a large body's parse time) could never free anything. A large body
(`RELEASE_AFTER_BYTES`) keeps it paused until the view has returned: the parsed body lives for the
whole call, and passes over it during the mapping grew with its size (`CollectorPause`); its
freed memory is handed back to the system once the worker's large calls have stopped for a
moment (`IdleRelease`). A worker reads, parses and answers only so many large bodies at once
(`LargeBodySlots`); the others wait for their turn before their body is read.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from flask import Request, Response, after_this_request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service import metrics
from cds_service.errors import BadRequest, PayloadTooLarge, ServiceBusy

log = logging.getLogger("salvage_cds.http")

JSON_MEDIA_TYPES = ("application/json", "application/fhir+json")


_CONTAINERS = (dict, list)

# Bytes kept to find the brackets outside strings: the brackets, as one kind of pair (the parser
# checks they match), and the quotes.
_ONE_KIND_OF_BRACKETS = bytes.maketrans(b"[]{}", b"()()")
_NOT_KEPT = bytes(set(range(256)) - set(b'[]{}"'))

# A \uD800-\uDFFF escape: once the body is strict UTF-8, the only way JSON can carry a lone
# surrogate, which is not Unicode text and fails later wherever text is encoded (SQLite, logs).
# Searched in the text first (rare in real bodies: a pair, e.g. an escaped emoji, is fine), then
# the parsed strings are checked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests deeper than `limit` levels.

    The value itself is level 1 and every member of a dict or list one level below its container
    (so ``{"a": 1}`` has 2 levels). Iterative, level by level, so hostile nesting cannot blow the
    stack; only containers are queued, and the walk stops at the first level beyond `limit`.
    """
    if limit < 1:
        return True
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 1
    while level:
        below = []
        for item in level:
            members = item.values() if isinstance(item, dict) else item
            if members:
                if depth >= limit:  # its members are at depth + 1 > limit
                    return True
                for member in members:
                    if isinstance(member, _CONTAINERS):
                        below.append(member)
        level = below
        depth += 1
    return False


def bracket_depth_exceeds(raw: bytes, limit: int) -> bool | None:
    """True when the JSON text `raw` nests deeper than `limit` levels, False when it does not,
    None when the brackets cannot tell (then `json_depth_exceeds` on the parsed value does).

    Counted as in `json_depth_exceeds`. With the escaped backslashes and quotes removed, every
    string is a pair of quotes around its own text; keeping only quotes and brackets, a string
    without brackets in it becomes two adjacent quotes. If no quote is left once those pairs are
    gone, no bracket was inside a string, and what is left is the nesting itself. Each pass then
    removes the innermost pairs, so the passes count the deepest nesting of containers, `b`; the
    JSON depth is `b`, or `b + 1` when the deepest container has members. Unbalanced brackets
    (malformed JSON) are left to the parser.
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = raw.translate(_ONE_KIND_OF_BRACKETS, _NOT_KEPT).replace(b'""', b"")
    if b'"' in kept:
        return None  # brackets inside strings
    depth = 0
    while kept:
        shorter = kept.replace(b"()", b"")
        if len(shorter) == len(kept):
            break  # malformed: the parser says so
        kept = shorter
        depth += 1
        if depth > limit:
            return True
    return None if depth == limit else False


def _decode(raw: bytes) -> str:
    try:
        # strict UTF-8 (RFC 8259: JSON between systems is UTF-8): json.loads(bytes) would also take
        # UTF-16/32 and surrogates encoded as bytes, neither of which is Unicode text we can store
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 JSON", field="(body)") from None


def _parse(text: str, max_depth: int) -> Any:
    try:
        body = _loads_uncollected(text)
    except RecursionError:
        raise BadRequest(f"JSON nesting deeper than {max_depth} levels", field="(body)") from None
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}", field="(body)") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(body):
        raise BadRequest("JSON text with an unpaired surrogate (a \\uD800-\\uDFFF escape without "
                         "its pair) is not Unicode text", field="(body)")
    return body


def _not_a_json_number(literal: str) -> Any:
    raise ValueError(f"{literal} is not a JSON number (RFC 8259)")


# Python's parser takes NaN, Infinity and -Infinity, which JSON has no place for: a NaN reaching
# the model made every comparison fail (a 500), an infinity a size no scan ever measured.
_DECODER = json.JSONDecoder(parse_constant=_not_a_json_number)


def _loads_uncollected(text: str) -> Any:
    """The JSON text parsed with the collector paused (module doc)."""
    COLLECTOR_PAUSE.pause()
    try:
        return _DECODER.decode(text)
    finally:
        COLLECTOR_PAUSE.resume()


# The longest the collector stays paused without a pass, however the paused calls overlap: a
# resume after that runs a full collection (cyclic garbage of every thread then waits no longer).
MAX_PAUSE_S = 10.0


class CollectorPause:
    """Automatic garbage collection paused while any holder holds it, shared by the worker's
    threads: it resumes when the last holder resumes, and only if it was on before the first
    paused it (an operator's or a test's gc.disable() stays). A pause that lasts beyond
    `max_pause_s` (calls overlapping back to back, or a holder that never resumed) gets a full
    collection at the next resume, so garbage is never kept indefinitely."""

    def __init__(self, max_pause_s: float = MAX_PAUSE_S) -> None:
        self.max_pause_s = max_pause_s
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False
        self._since = 0.0

    def pause(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                self._since = time.monotonic()
                gc.disable()
            self._holders += 1

    def resume(self) -> None:
        with self._lock:
            self._holders = max(0, self._holders - 1)
            if self._holders == 0:
                if self._was_enabled:
                    gc.enable()
            elif time.monotonic() - self._since > self.max_pause_s:
                self._since = time.monotonic()
                gc.collect()

    @property
    def holders(self) -> int:
        return self._holders


COLLECTOR_PAUSE = CollectorPause()


# Bodies from this size on are large: at most `LargeBodySlots.limit` of them are read, parsed and
# answered at once by one worker; the collector stays paused for the call (module doc), and their
# memory goes back to the system once the worker's large calls have stopped (`IdleRelease`).
RELEASE_AFTER_BYTES = 1024 * 1024

# Seconds without a large call before the memory they freed goes back to the system (beyond the
# review: long enough that a burst of large calls reuses one another's buffers instead of having
# the kernel hand out and zero fresh pages for each — docs/performance.md, sixth round — short
# enough that a worker is back to its resting size within a second).
RELEASE_WHEN_IDLE_S = 0.5

# Seconds a refused large call is told to wait before retrying (beyond the review: by then the
# worker's large calls have moved on, or the retry reaches another worker).
BUSY_RETRY_AFTER_S = 2


def _load_malloc_trim() -> Any:
    """glibc's malloc_trim, or None (another C library: freed memory stays with the process)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim()


def _release_freed_memory() -> None:
    """Give the pages freed by large calls back to the system. CPython's small-object arenas
    are returned when they empty; the larger blocks a parsed body also holds (the body's bytes
    and text, the server's read buffers, dict tables) come from malloc, which a worker tells to
    keep freed pages for reuse (`cds_service.ops.cli.tune_malloc`) until this trim."""
    if _MALLOC_TRIM is not None:
        try:
            _MALLOC_TRIM(0)
        except Exception:  # noqa: BLE001 - only memory held longer; never the call's failure
            pass


class IdleRelease:
    """Runs `release` once no large call has been running for `idle_s` seconds, on a thread of
    its own: after a burst of large calls, once, rather than after each call. Calls report
    `began` and `ended` (exactly once each); the thread starts with the first call that ends
    (in the process that runs the calls: a gunicorn worker, after the fork)."""

    def __init__(self, idle_s: float, release: Callable[[], None]) -> None:
        self.idle_s = idle_s
        self._release = release
        self._changed = threading.Condition()
        self._running = 0
        self._due: float | None = None  # when to release, if no call begins before
        self._thread: threading.Thread | None = None

    def began(self) -> None:
        with self._changed:
            self._running += 1

    def ended(self) -> None:
        with self._changed:
            self._running -= 1
            self._due = time.monotonic() + self.idle_s
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._release_when_idle,
                                                name="memory release", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _release_when_idle(self) -> None:
        while True:
            with self._changed:
                while self._due is None or self._running:
                    self._changed.wait()
                wait = self._due - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue  # a call may have begun or ended meanwhile
                self._due = None
            try:  # outside the lock: calls that begin meanwhile never wait for it
                self._release()
            except Exception:  # memory held longer, never the end of the thread
                log.warning("giving freed memory back to the system failed", exc_info=True)


MEMORY_RELEASE = IdleRelease(RELEASE_WHEN_IDLE_S, _release_freed_memory)


class LargeBodySlots:
    """How many large bodies one worker process reads, parses and answers at once (`limit`; 0:
    no bound), shared by its threads. The work is CPU-bound Python under one GIL: large calls
    side by side finish no sooner together than one after the other, they only hold their parsed
    bodies in memory at the same time. A call takes a slot before its body is read, so the bodies
    that wait stay in the socket buffers, and waits at most until `wait_until` (its time budget),
    then gets a 503 (`ServiceBusy`)."""

    def __init__(self, limit: int, max_wait_s: float) -> None:
        if limit < 0:
            raise ValueError(f"large bodies at once: {limit} is negative (0: no bound)")
        self.limit = limit
        self.max_wait_s = max_wait_s  # the wait of a call that names no end of its own
        self._free = threading.Semaphore(limit)
        self._lock = threading.Lock()
        self._held = 0
        self._waiting = 0

    def take(self, wait_until: float | None = None) -> str:
        """Take a slot: "free" (at once) or "waited"; `ServiceBusy` when none came free by
        `wait_until` (time.monotonic(); by default `max_wait_s` from now)."""
        if self._free.acquire(blocking=False):
            outcome = "free"
        else:
            end = time.monotonic() + self.max_wait_s if wait_until is None else wait_until
            with self._lock:
                self._waiting += 1
            try:
                got = self._free.acquire(timeout=max(0.0, end - time.monotonic()))
            finally:
                with self._lock:
                    self._waiting -= 1
            if not got:
                raise ServiceBusy(
                    f"the service is busy with other large requests ({self.limit} at once per "
                    "worker, SALVAGE_CDS_LARGE_BODIES_PER_WORKER) and none ended within this "
                    f"call's time budget; retry after {BUSY_RETRY_AFTER_S} s",
                    retry_after_s=BUSY_RETRY_AFTER_S)
            outcome = "waited"
        with self._lock:
            self._held += 1
        return outcome

    def give_back(self) -> None:
        with self._lock:
            self._held -= 1
        self._free.release()

    @property
    def held(self) -> int:
        return self._held

    @property
    def waiting(self) -> int:
        return self._waiting


class _LargeCall:
    """What one large call holds — its slot, the collector's pause — each given back exactly
    once when the call ends, whatever ends it (`end` is registered before anything is taken)."""

    def __init__(self, slots: LargeBodySlots | None) -> None:
        self._slots = slots if slots is not None and slots.limit > 0 else None
        self._has_slot = False
        self._paused = False
        self._ended = False

    def begin(self, wait_until: float | None) -> None:
        after_this_request(self.end)  # first: a raise below still ends the call
        if self._slots is not None:
            try:
                outcome = self._slots.take(wait_until)
            except ServiceBusy:
                metrics.count_large_body("refused")
                log.warning("large request body refused: the worker's %d slot(s) stayed taken "
                            "for the call's time budget", self._slots.limit)
                raise
            self._has_slot = True
            metrics.count_large_body(outcome)
        COLLECTOR_PAUSE.pause()
        MEMORY_RELEASE.began()
        self._paused = True

    def end(self, response: Response) -> Response:
        """Once the view has returned (its body freed): the collector resumes, the slot is free
        for the next large body, and the freed memory goes back to the system once no large call
        has run for a moment. Idempotent: Flask runs these callbacks again if a later one
        fails."""
        if self._ended:
            return response
        self._ended = True
        if self._has_slot and self._slots is not None:
            self._slots.give_back()
        if self._paused:  # else refused before its body was read: nothing to hand back
            COLLECTOR_PAUSE.resume()
            MEMORY_RELEASE.ended()
        return response


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """`size` bytes of the body, fewer only where it ends (one read may return fewer)."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _read_body(request: Request, max_bytes: int, large_bodies: LargeBodySlots | None,
               wait_until: float | None) -> bytes:
    """The body's bytes; a large one only once it has a slot (`LargeBodySlots`). Its size comes
    from Content-Length; a body without one (chunked) is read up to the large size first, and
    only what is beyond waits for the slot, so a small one never waits and a waiting one holds
    no more than that."""
    stream = request.stream
    length = request.content_length
    if length is not None:
        if length >= RELEASE_AFTER_BYTES:
            _LargeCall(large_bodies).begin(wait_until)
        # exactly the announced length: asking for more makes the stream allocate (and the WSGI
        # layer copy through) a buffer of the whole limit on every call
        return _read_up_to(stream, length)
    try:
        raw = _read_up_to(stream, RELEASE_AFTER_BYTES)
        if len(raw) == RELEASE_AFTER_BYTES:  # maybe more: a large body
            _LargeCall(large_bodies).begin(wait_until)
            raw += _read_up_to(stream, max_bytes + 1 - len(raw))
    except RequestEntityTooLarge:
        # Werkzeug's stream stops a body without Content-Length at the app's MAX_CONTENT_LENGTH
        # (the same limit) by raising as soon as one byte more is asked for.
        raise PayloadTooLarge(body_limit_message(max_bytes)) from None
    return raw


def read_json_body(request: Request, *, max_bytes: int, max_depth: int,
                   large_bodies: LargeBodySlots | None = None,
                   wait_until: float | None = None) -> Any:
    """The request's JSON object, or a `ServiceError` saying what is wrong with it. A large body
    waits for one of `large_bodies`' slots until `wait_until` (the call's deadline)."""
    media_type = (request.mimetype or "").lower()
    if media_type not in JSON_MEDIA_TYPES:
        shown = media_type or "none"
        raise BadRequest(f"Content-Type must be application/json (got {shown})",
                         field="Content-Type")
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(body_limit_message(max_bytes))
    raw = _read_body(request, max_bytes, large_bodies, wait_until)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(body_limit_message(max_bytes))
    if not raw.strip():
        raise BadRequest("request body is empty; a JSON object is required", field="(body)")
    too_deep = bracket_depth_exceeds(raw, max_depth)
    if too_deep:
        raise BadRequest(f"JSON nesting deeper than {max_depth} levels", field="(body)")
    text = _decode(raw)
    del raw  # the parse needs only the text: one copy of the body less at the call's peak
    body = _parse(text, max_depth)
    del text
    if too_deep is None and json_depth_exceeds(body, max_depth):
        raise BadRequest(f"JSON nesting deeper than {max_depth} levels", field="(body)")
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", field="(body)")
    return body


def body_limit_message(max_bytes: int) -> str:
    """The 413's message: it names the limit, and the setting that raises it."""
    return (f"request body exceeds the limit of {max_bytes} bytes ({max_bytes / 2**20:.0f} MiB; "
            "SALVAGE_CDS_MAX_REQUEST_BYTES)")
