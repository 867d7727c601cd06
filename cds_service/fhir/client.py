"""FHIR REST access: one HTTP path, typed failures, bounded everything.

Every call goes through `FhirClient._get_json` (one `FhirClient` per hook call): connect and
read timeouts, the call's deadline (the socket is shut when it passes, `deadline.py`: no request
outlives its call), bounded retries of idempotent GETs (connection errors, 502/503/504), no
redirects (a redirect could carry the bearer token to another host), a response size cap, the
call's totals of bytes and entries (`CallBudget`), and JSON checks.
Failures become `FhirError` subclasses whose messages are safe to return to the caller and to log
(never a token, never resource content). `fetch_many` runs independent queries concurrently so a
slow server costs one round trip, not one per query.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3.exceptions
from urllib3.util.retry import Retry

from cds_service.fhir.allowlist import FhirAllowlist, Origin
from cds_service.fhir.deadline import DeadlineAdapter, Guard, bounded, mount_deadline_adapter
from cds_service.fhir.threads import FhirThreads
from cds_service.fhir.truncation import CutCause, Truncation
from cds_service.protocol.prefetch import next_link

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = (502, 503, 504)
RETRY_BACKOFF_S = 0.1
_NOT_MATCHES = ("include", "outcome")  # search.mode of entries outside a searchset's `total`


class FhirError(Exception):
    """A FHIR request failed; `str()` is safe to show and log."""


class FhirUnavailable(FhirError):
    """Connection refused/reset, timeout, or a 5xx."""


class FhirAuthError(FhirError):
    """401/403: the token was refused."""


class FhirNotFound(FhirError):
    """404."""


class FhirBadResponse(FhirError):
    """Not JSON, not FHIR, too large, a redirect, or a paging link to elsewhere."""


class FhirTooLarge(FhirBadResponse):
    """The response exceeded the size cap (`fhir_max_response_bytes`)."""


class FhirCallTooLarge(FhirTooLarge):
    """The responses of one call together exceeded `fhir_max_call_bytes`."""


class FhirTimedOut(FhirUnavailable):
    """The call's deadline passed before the response was read whole (its socket was shut)."""


@dataclass(frozen=True)
class FhirSettings:
    connect_timeout_s: float
    read_timeout_s: float
    retries: int
    max_pages: int
    max_workers: int
    max_response_bytes: int
    max_entries: int
    max_call_bytes: int = 64 * 1024 * 1024
    max_call_entries: int = 20000


class CallBudget:
    """What one call (one `FhirClient`) may read in total, across its queries and pages —
    shared by the call's threads (issue 16, item 4: each response was capped, their sum not)."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._bytes = 0
        self._entries = 0
        self._lock = threading.Lock()

    def take_bytes(self, count: int) -> bool:
        """Count `count` more bytes read; False once the call's total is past its cap."""
        with self._lock:
            self._bytes += count
            return self._bytes <= self.max_bytes

    def take_entries(self, count: int) -> int:
        """How many of `count` more entries the call may keep (all, some, or none)."""
        with self._lock:
            granted = max(0, min(count, self.max_entries - self._entries))
            self._entries += granted
            return granted

    def entries_left(self) -> int:
        with self._lock:
            return self.max_entries - self._entries


@dataclass
class QueryResult:
    """The outcome of one prefetch-equivalent query."""

    value: dict[str, Any] | None = None  # a resource, or a searchset Bundle of all pages read
    error: FhirError | None = None
    notes: list[str] = field(default_factory=list)
    truncation: Truncation | None = None  # set when the pages read are not all there is
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class Paged:
    """A searchset read through its `next` links: every entry read, and whether that is all."""

    bundle: dict[str, Any]
    truncation: Truncation | None = None
    notes: tuple[str, ...] = ()


_STOP_WORDS = {
    CutCause.PAGING_LOOP: "looped",
    CutCause.PAGE_CAP: "went past the page limit",
    CutCause.PAGE_FAILED: "failed on a further page",
    CutCause.BYTE_CAP: "sent a further page over the size limit",
    CutCause.ENTRY_CAP: "went past the entry limit",
    CutCause.CALL_BYTE_CAP: "went past the call's total size limit",
    CutCause.CALL_ENTRY_CAP: "went past the call's total entry limit",
    CutCause.TIME_BUDGET: "went past the time budget",
}


def new_session(base_url: str, settings: FhirSettings, *, pool_size: int | None = None
                ) -> requests.Session:
    """A `requests.Session` for one FHIR server: bounded GET retries, no redirects, the
    environment read once (`_settle_environment`), no cookies kept. It carries nothing of a hook
    call (the bearer token goes with each request), so calls may share it (`FhirConnections`)."""
    session = requests.Session()
    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        backoff_factor=RETRY_BACKOFF_S,
        raise_on_status=False,
        redirect=0,
        # a server's Retry-After would make urllib3 sleep that long, uncapped (Retry-After: 86400
        # held a thread for a day): our own short backoff applies instead
        respect_retry_after_header=False,
    )
    # connections the call's deadline can shut (`deadline.bounded`, in `_get_json`)
    mount_deadline_adapter(session, DeadlineAdapter(
        max_retries=retry, pool_maxsize=max(pool_size or settings.max_workers, 1)))
    session.headers["Accept"] = FHIR_JSON + ", application/json;q=0.9"
    # A FHIR server's Set-Cookie is never stored, so never sent with another call's requests.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    _settle_environment(session, base_url)
    return session


def _settle_environment(session: requests.Session, base_url: str) -> None:
    """Proxies (HTTP(S)_PROXY / NO_PROXY) and the CA bundle (REQUESTS_CA_BUNDLE /
    CURL_CA_BUNDLE) read from the environment once, for this server, instead of by requests on
    every request (a walk over os.environ that was ~18 % of the CPU of a query). Every URL a client
    requests is on the same server (`_get_json` refuses any other), so one reading holds for all
    of them. netrc is not consulted: the FHIR credentials are the hook request's
    `fhirAuthorization`, nothing else."""
    found = session.merge_environment_settings(base_url, {}, None, None, None)
    session.trust_env = False
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    if found["cert"] is not None:
        session.cert = found["cert"]


class FhirClient:
    def __init__(self, base: Origin, base_url: str, access_token: str | None,
                 settings: FhirSettings, allowlist: FhirAllowlist,
                 session: requests.Session | None = None, deadline: float | None = None) -> None:
        """`session`: a shared one (kept open, `FhirConnections`, made by `new_session`); else
        the client's own. `deadline` (monotonic): every request ends by it, socket shut
        (`fetch_many` sets it to its own)."""
        self.base = base
        self.base_url = base_url.rstrip("/") + "/"
        self.settings = settings
        self.allowlist = allowlist
        self._own_session = session is None
        self.session = new_session(self.base_url, settings) if session is None else session
        # per request, never on the session: a shared session serves other calls' tokens too
        self._headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        self.deadline = deadline
        self.budget = CallBudget(settings.max_call_bytes, settings.max_call_entries)
        self._outside_budget = threading.local()  # set per query thread by fetch_many

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request -------------------------------------------------------------------------
    def _get_json(self, url: str) -> dict[str, Any]:
        if not self.allowlist.same_server(self.base, url):
            raise FhirBadResponse("refused a URL outside the FHIR server's base")
        deadline = self.deadline if self.deadline is not None else math.inf
        if time.monotonic() >= deadline:
            raise FhirTimedOut("the FHIR query did not finish within the time budget")
        with bounded(deadline) as guard:
            try:
                body = self._get_body(url, guard)
            except FhirError:
                if guard.expired:
                    raise FhirTimedOut("the FHIR query did not finish within the time "
                                       "budget") from None
                raise
            if guard.expired:  # a body read to the end of a shut socket is cut
                raise FhirTimedOut("the FHIR query did not finish within the time budget")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise FhirBadResponse("the FHIR server sent invalid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise FhirBadResponse("the FHIR server sent JSON that is not a FHIR resource")
        return data

    def _get_body(self, url: str, guard: Guard) -> bytes:
        """One GET's body: status checked, size capped; ended by the guard's deadline."""
        remaining = guard.remaining()
        try:
            response = self.session.get(
                url,
                headers=self._headers,
                timeout=(min(self.settings.connect_timeout_s, remaining),
                         min(self.settings.read_timeout_s, remaining)),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            raise FhirUnavailable("the FHIR server timed out") from None
        except requests.ConnectionError as exc:
            if _read_timed_out(exc):  # retries used up on read timeouts: requests says "connection"
                raise FhirUnavailable("the FHIR server timed out") from None
            raise FhirUnavailable("the FHIR server could not be reached") from None
        except requests.RequestException as exc:
            raise FhirUnavailable(f"the FHIR request failed ({type(exc).__name__})") from None
        with response:
            status = response.status_code
            if 300 <= status < 400:
                raise FhirBadResponse(f"the FHIR server answered a redirect ({status}); not followed")
            if status in (401, 403):
                raise FhirAuthError(f"the FHIR server refused access ({status})")
            if status == 404:
                raise FhirNotFound("the FHIR server answered 404")
            if status >= 500:
                raise FhirUnavailable(f"the FHIR server failed ({status})")
            if status >= 400:
                raise FhirBadResponse(f"the FHIR server answered {status}")
            return self._read_capped(response)

    def _exempt(self) -> bool:
        """The query on this thread is outside the call's total caps (`fetch_many`)."""
        return getattr(self._outside_budget, "value", False)

    def _read_capped(self, response: requests.Response) -> bytes:
        cap = self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > cap:
                    raise FhirTooLarge(f"the FHIR response exceeded {cap} bytes")
                if not self._exempt() and not self.budget.take_bytes(len(chunk)):
                    raise FhirCallTooLarge(
                        f"the FHIR responses of this call exceeded {self.budget.max_bytes} "
                        "bytes in total")
                chunks.append(chunk)
        except requests.RequestException:
            raise FhirUnavailable("the FHIR server connection broke mid-response") from None
        return b"".join(chunks)

    # -- queries -----------------------------------------------------------------------------
    def absolute(self, relative: str) -> str:
        return urljoin(self.base_url, relative.lstrip("/"))

    def query(self, relative: str) -> QueryResult:
        """Run one prefetch-style query: a read, or a search followed through its pages."""
        started = time.perf_counter()
        result = QueryResult()
        try:
            first = self._get_json(self.absolute(relative))
            if first.get("resourceType") == "Bundle" and first.get("type") == "searchset":
                paged = self.follow_pages(first)
                result.value, result.truncation = paged.bundle, paged.truncation
                result.notes.extend(paged.notes)
            else:
                result.value = first
        except FhirError as exc:
            result.error = exc
        result.elapsed_s = time.perf_counter() - started
        return result

    def continue_pages(self, first_page: dict[str, Any]) -> QueryResult:
        """Complete a searchset whose first page is already here (a paginated prefetch)."""
        started = time.perf_counter()
        paged = self.follow_pages(first_page)
        return QueryResult(value=paged.bundle, truncation=paged.truncation,
                           notes=list(paged.notes), elapsed_s=time.perf_counter() - started)

    def follow_pages(self, bundle: dict[str, Any]) -> Paged:
        """Collect every page's entries into one searchset Bundle, bounded by the settings.

        Never raises for a further page: what was read is kept and the reason reading stopped is
        returned as a `Truncation` (a failed page 2 must not turn page 1 into "no data", nor
        pages 1–10 into "all there is")."""
        entries: list[Any] = []
        cut = self._keep(entries, _entries(bundle))
        seen: set[str] = {u for u in (_self_link(bundle),) if u}  # a `next` back to here is a loop
        page = bundle
        pages = 1
        while cut is None and (url := next_link(page)) is not None:
            cut = self._reason_to_stop(url, seen, pages, len(entries))
            if cut is not None:
                break
            seen.add(url)
            try:
                page = self._get_json(url)
                if page.get("resourceType") != "Bundle":
                    raise FhirBadResponse("a paging link did not return a Bundle")
            except FhirError as exc:
                cut = _page_cut(exc, len(entries), self.budget)
                break
            if self_url := _self_link(page):
                seen.add(self_url)
            cut = self._keep(entries, _entries(page))
            pages += 1
        return _merged(bundle, entries, cut)

    def _keep(self, entries: list[Any], page: list[Any]) -> Truncation | None:
        """Add a page's entries within the query's cap (`fhir_max_entries`) and the call's
        (`fhir_max_call_entries`); the cut, if either was reached."""
        cap = self.settings.max_entries
        room = max(0, cap - len(entries))
        wanted = min(len(page), room)
        granted = wanted if self._exempt() else self.budget.take_entries(wanted)
        entries.extend(page[:granted])
        if granted < min(len(page), room):
            return Truncation(CutCause.CALL_ENTRY_CAP, len(entries), limit=self.budget.max_entries)
        if len(page) > room:
            return Truncation(CutCause.ENTRY_CAP, cap, limit=cap)
        return None

    def _reason_to_stop(self, url: str, seen: set[str], pages: int,
                        entries: int) -> Truncation | None:
        """Why the `next` page at `url` will not be read, or None to read it."""
        if url in seen:
            return Truncation(CutCause.PAGING_LOOP, entries)
        if pages >= self.settings.max_pages:
            return Truncation(CutCause.PAGE_CAP, entries, limit=self.settings.max_pages)
        if entries >= self.settings.max_entries:
            return Truncation(CutCause.ENTRY_CAP, entries, limit=self.settings.max_entries)
        if not self._exempt() and self.budget.entries_left() <= 0:
            return Truncation(CutCause.CALL_ENTRY_CAP, entries, limit=self.budget.max_entries)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return Truncation(CutCause.TIME_BUDGET, entries)
        return None

    def fetch_many(self, queries: Mapping[str, str | dict[str, Any]], deadline: float,
                   threads: FhirThreads | None = None,
                   outside_call_budget: Collection[str] = ()) -> dict[str, QueryResult]:
        """Run the queries concurrently — on the process's shared threads when enough are free
        (`FhirThreads`), else on threads of this call's own; anything unfinished at `deadline`
        is an error, and a query not started by then is not run. A query is a relative URL, or
        a searchset page already in hand whose `next` pages are to be read (`continue_pages`):
        the pages of one query follow each other, those of different queries run at once.
        The keys in `outside_call_budget` (the required ones: the patient and the conditions)
        do not count against the call's total caps — each of their responses is still capped —
        so that which queries finish first never decides whether the call can answer at all."""
        if not queries:
            return {}
        # every request of the queries ends by the deadline, socket shut and thread free
        self.deadline = deadline if self.deadline is None else min(self.deadline, deadline)
        workers = min(self.settings.max_workers, len(queries))
        own: ThreadPoolExecutor | None = None
        submit: Callable[..., Future[QueryResult]]  # the shared threads' or the own pool's
        # the shared threads run all of a call's queries at once, so only up to max_workers
        if (threads is not None and len(queries) <= self.settings.max_workers
                and threads.try_reserve(len(queries))):
            submit = threads.submit
        else:
            own = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fhir")
            submit = own.submit

        def run(query: str | dict[str, Any], exempt: bool) -> QueryResult:
            if time.monotonic() >= deadline:  # queued past the budget: the answer has gone
                return QueryResult(error=FhirUnavailable(
                    "the FHIR query did not start within the time budget"))
            self._outside_budget.value = exempt  # this thread runs this query only
            try:
                return self.query(query) if isinstance(query, str) else self.continue_pages(query)
            finally:
                self._outside_budget.value = False

        futures = {key: submit(run, q, key in outside_call_budget)
                   for key, q in queries.items()}
        try:
            wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
            results: dict[str, QueryResult] = {}
            for key, future in futures.items():
                if future.done() and not future.cancelled():
                    results[key] = future.result()
                else:
                    future.cancel()
                    results[key] = QueryResult(
                        error=FhirUnavailable("the FHIR query did not finish within the time budget")
                    )
            return results
        finally:
            if own is not None:
                own.shutdown(wait=False, cancel_futures=True)


def _read_timed_out(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, urllib3.exceptions.ReadTimeoutError)


def _page_cut(exc: FhirError, entries: int, budget: CallBudget) -> Truncation:
    """Why reading stopped at a further page that could not be read."""
    if isinstance(exc, FhirCallTooLarge):
        return Truncation(CutCause.CALL_BYTE_CAP, entries, limit=budget.max_bytes)
    if isinstance(exc, FhirTooLarge):
        return Truncation(CutCause.BYTE_CAP, entries, reason=str(exc))
    if isinstance(exc, FhirTimedOut):
        return Truncation(CutCause.TIME_BUDGET, entries)
    return Truncation(CutCause.PAGE_FAILED, entries, reason=str(exc))


def _merged(first_page: Mapping[str, Any], entries: list[Any], cut: Truncation | None) -> Paged:
    """One searchset of every entry read. `total` stays the server's count of matches (not how
    many were kept), or — when the server gave none — the count read if that is all there is."""
    total = _server_total(first_page)
    merged = {k: v for k, v in first_page.items() if k not in ("entry", "link", "total")}
    merged["entry"] = entries
    if total is not None:
        merged["total"] = total
    elif cut is None:
        merged["total"] = len(entries)
    notes: list[str] = []
    if cut is None:
        cut = short_of_total(merged)
    elif total is not None and _matches(entries) >= total and cut.cause is not CutCause.TIME_BUDGET:
        # the server's own count says every match was read: nothing was cut (but a page the time
        # budget ended is said, as when the query is still running at the deadline: one answer,
        # whichever comes first)
        notes.append(f"the FHIR server's paging {_STOP_WORDS[cut.cause]}; all {total} "
                     "entries had been read")
        cut = None
    if cut is not None:
        cut = dataclasses.replace(cut, entries_read=len(entries), server_total=total)
    return Paged(merged, cut, tuple(notes))


def short_of_total(bundle: Mapping[str, Any]) -> Truncation | None:
    """A searchset whose `total` counts more matches than it holds, with no `next` page to read
    them from (a server or an EHR that stopped without saying so), else None."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "searchset":
        return None
    total = _server_total(bundle)
    entries = _entries(bundle)
    if total is None or next_link(bundle) is not None or _matches(entries) >= total:
        return None
    return Truncation(CutCause.NO_NEXT_PAGE, len(entries), server_total=total)


def _entries(bundle: Mapping[str, Any]) -> list[Any]:
    """A Bundle's entries; a malformed `entry` (not a list) holds none."""
    entries = bundle.get("entry")
    return list(entries) if isinstance(entries, list) else []


def _matches(entries: list[Any]) -> int:
    """Entries that count towards a searchset's `total` (not `_include`d ones)."""
    count = 0
    for entry in entries:
        search = (entry.get("search") if type(entry) is dict or isinstance(entry, Mapping)
                  else None)
        if search is None or not (isinstance(search, Mapping)
                                  and search.get("mode") in _NOT_MATCHES):
            count += 1
    return count


def _server_total(bundle: Mapping[str, Any]) -> int | None:
    total = bundle.get("total")
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


def _self_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, Mapping) and link.get("relation") == "self":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None
