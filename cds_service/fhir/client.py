"""FHIR REST access: one HTTP path, typed failures, bounded everything.

Every call goes through `FhirClient._get_json` (one `requests.Session` per hook call): connect and
read timeouts, bounded retries of idempotent GETs (connection errors, 502/503/504), no redirects
(a redirect could carry the bearer token to another host), a response size cap, and JSON checks.
Failures become `FhirError` subclasses whose messages are safe to return to the caller and to log
(never a token, never resource content). `fetch_many` runs independent queries concurrently so a
slow server costs one round trip, not one per query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cds_service.fhir.allowlist import FhirAllowlist, Origin
from cds_service.fhir.threads import FhirThreads

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = (502, 503, 504)
RETRY_BACKOFF_S = 0.1


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


@dataclass(frozen=True)
class FhirSettings:
    connect_timeout_s: float
    read_timeout_s: float
    retries: int
    max_pages: int
    max_workers: int
    max_response_bytes: int
    max_entries: int


@dataclass
class QueryResult:
    """The outcome of one prefetch-equivalent query."""

    value: dict[str, Any] | None = None  # a resource, or a searchset Bundle of all pages read
    error: FhirError | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "stopped after 10 pages"
    elapsed_s: float = 0.0


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
    adapter = HTTPAdapter(max_retries=retry,
                          pool_maxsize=max(pool_size or settings.max_workers, 1))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
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
                 session: requests.Session | None = None) -> None:
        """`session`: a shared one (kept open, `FhirConnections`); else the client's own."""
        self.base = base
        self.base_url = base_url.rstrip("/") + "/"
        self.settings = settings
        self.allowlist = allowlist
        self._own_session = session is None
        self.session = new_session(self.base_url, settings) if session is None else session
        # per request, never on the session: a shared session serves other calls' tokens too
        self._headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}

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
        try:
            response = self.session.get(
                url,
                headers=self._headers,
                timeout=(self.settings.connect_timeout_s, self.settings.read_timeout_s),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            raise FhirUnavailable("the FHIR server timed out") from None
        except requests.ConnectionError:
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
            body = self._read_capped(response)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise FhirBadResponse("the FHIR server sent invalid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise FhirBadResponse("the FHIR server sent JSON that is not a FHIR resource")
        return data

    def _read_capped(self, response: requests.Response) -> bytes:
        cap = self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > cap:
                    raise FhirBadResponse(f"the FHIR response exceeded {cap} bytes")
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
                result.value = self.follow_pages(first, result.notes)
            else:
                result.value = first
        except FhirError as exc:
            result.error = exc
        result.elapsed_s = time.perf_counter() - started
        return result

    def follow_pages(self, bundle: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        """Collect every page's entries into one searchset Bundle (bounded by the settings)."""
        from cds_service.protocol.prefetch import next_link

        entries = list(bundle.get("entry") or [])
        seen: set[str] = {u for u in (_self_link(bundle),) if u}  # a `next` back to here is a loop
        page = bundle
        pages = 1
        while (url := next_link(page)) is not None:
            if url in seen:
                notes.append("the FHIR server's paging looped; stopped")
                break
            if pages >= self.settings.max_pages:
                notes.append(f"stopped after {self.settings.max_pages} pages; more data exists")
                break
            if len(entries) >= self.settings.max_entries:
                break
            seen.add(url)
            page = self._get_json(url)
            if page.get("resourceType") != "Bundle":
                raise FhirBadResponse("a paging link did not return a Bundle")
            if self_url := _self_link(page):
                seen.add(self_url)
            entries.extend(page.get("entry") or [])
            pages += 1
        if len(entries) > self.settings.max_entries:
            notes.append(f"kept the first {self.settings.max_entries} of {len(entries)} entries")
            entries = entries[: self.settings.max_entries]
        merged = {k: v for k, v in bundle.items() if k not in ("entry", "link")}
        merged["entry"] = entries
        merged["total"] = len(entries)
        return merged

    def fetch_many(self, queries: Mapping[str, str], deadline: float,
                   threads: FhirThreads | None = None) -> dict[str, QueryResult]:
        """Run the queries concurrently — on the process's shared threads when enough are free
        (`FhirThreads`), else on threads of this call's own; anything unfinished at `deadline`
        is an error, and a query not started by then is not run."""
        if not queries:
            return {}
        workers = min(self.settings.max_workers, len(queries))
        own: ThreadPoolExecutor | None = None
        # the shared threads run all of a call's queries at once, so only up to max_workers
        if (threads is not None and len(queries) <= self.settings.max_workers
                and threads.try_reserve(len(queries))):
            submit = threads.submit
        else:
            own = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fhir")
            submit = own.submit

        def run(query: str) -> QueryResult:
            if time.monotonic() >= deadline:  # queued past the budget: the answer has gone
                return QueryResult(error=FhirUnavailable(
                    "the FHIR query did not start within the time budget"))
            return self.query(query)

        futures = {key: submit(run, q) for key, q in queries.items()}
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


def _self_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, Mapping) and link.get("relation") == "self":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None
