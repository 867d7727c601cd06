"""Gather the FHIR data of one hook call: prefetch first, the FHIR server for the rest.

The CDS Hooks 2.0 rules (see `cds_service.protocol.prefetch`) decide per key whether the client's
value stands or must be fetched. Missing keys are fetched from `fhirServer` concurrently. If a
*required* key can be neither read from prefetch nor fetched, the call fails with 412 — per the
CDS Hooks specification ("the service SHALL respond with an HTTP 412 Precondition Failed").
Optional keys that cannot be had are named in `GatheredData.missing` and the service proceeds.
Keys read only in part — a cap reached, a further page that failed or could not be fetched — are
kept with what was read and named in `GatheredData.truncated`, never passed off as complete.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cds_service import metrics
from cds_service.config import ServiceConfig
from cds_service.errors import PreconditionFailed
from cds_service.fhir.allowlist import FhirAllowlist, Origin, ServerNotAllowed
from cds_service.fhir.client import (
    FhirAuthError,
    FhirClient,
    FhirSettings,
    QueryResult,
    short_of_total,
)
from cds_service.fhir.connections import FhirConnections
from cds_service.fhir.foreign import about_another_patient, foreign_prefetch_note
from cds_service.fhir.threads import FhirThreads
from cds_service.fhir.truncation import CutCause, Truncation
from cds_service.protocol.prefetch import (
    PlannedKey,
    PrefetchState,
    TemplateError,
    next_link,
    prefetch_state,
    render_template,
)


class PrefetchSpec(Protocol):
    """What gathering reads of a hook service (`cds_service.protocol.registry.HookService`): its
    prefetch templates and the keys it cannot answer without. A protocol, not the class, so that
    the registry (whose `HookCall` carries `GatheredData`) and this module do not import each
    other."""

    @property
    def prefetch(self) -> Mapping[str, str]: ...

    @property
    def required_prefetch(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class GatheredData:
    values: Mapping[str, Any]  # key -> resource / Bundle / None (no data)
    missing: tuple[str, ...] = ()  # "observations: the FHIR server timed out"
    notes: tuple[str, ...] = ()  # partial data
    truncated: tuple[Truncation, ...] = ()  # keys read only in part (caps, failed pages)
    fetched: tuple[str, ...] = ()  # keys that came from the FHIR server
    fetch_seconds: float = 0.0

    def resources(self) -> list[Any]:
        """Every value, for the mapping to flatten."""
        return [v for v in self.values.values() if v is not None]


def fhir_settings(config: ServiceConfig) -> FhirSettings:
    return FhirSettings(
        connect_timeout_s=config.fhir_connect_timeout_s,
        read_timeout_s=config.fhir_read_timeout_s,
        retries=config.fhir_retries,
        max_pages=config.fhir_max_pages,
        max_workers=config.fhir_max_workers,
        max_response_bytes=config.fhir_max_response_bytes,
        max_entries=config.fhir_max_entries,
        max_call_bytes=config.fhir_max_call_bytes,
        max_call_entries=config.fhir_max_call_entries,
    )


def plan(service: PrefetchSpec, request: Mapping[str, Any]) -> list[PlannedKey]:
    prefetch = request.get("prefetch")
    planned = []
    for key, template in service.prefetch.items():
        try:
            query = render_template(template, request["context"])
        except TemplateError as exc:
            # The context was validated, so this is a template the context cannot fill.
            raise PreconditionFailed(f"prefetch {key!r}: {exc}") from None
        planned.append(PlannedKey(key, prefetch_state(prefetch, key), query,
                                  key in service.required_prefetch))
    return planned


def gather(service: PrefetchSpec, request: Mapping[str, Any], config: ServiceConfig,
           allowlist: FhirAllowlist, deadline: float, threads: FhirThreads | None = None,
           connections: FhirConnections | None = None) -> GatheredData:
    """The data of every prefetch key: prefetched, or fetched from the request's fhirServer
    (on the process's shared FHIR `threads` when free, else on threads of the call's own; over
    the process's kept-alive `connections` to that server, else a session of the call's own)."""
    keys = sort_keys(service, request)
    if not keys.to_fetch and not keys.pages_to_follow:
        return GatheredData(values=keys.values, notes=tuple(keys.notes), truncated=tuple(keys.cuts))
    base, refusal = check_server(request, allowlist, keys)
    if base is None:
        return without_server(keys, refusal)
    results, elapsed = fetch(keys, base, request, config, allowlist, deadline, threads, connections)
    return with_fetched(keys, results, elapsed)


@dataclass
class SortedKeys:
    """The prefetch keys of one call after the CDS Hooks rules: the values that stand, the
    queries to run, the paginated prefetch whose further pages are to be read."""

    values: dict[str, Any] = field(default_factory=dict)
    to_fetch: dict[str, str] = field(default_factory=dict)
    pages_to_follow: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    cuts: list[Truncation] = field(default_factory=list)  # prefetched searchsets short of `total`

    def fetch_or_none(self, item: PlannedKey) -> None:
        if item.query is None:
            self.values[item.key] = None  # a user token that does not apply to this user
        else:
            self.to_fetch[item.key] = item.query

    def take_prefetched(self, key: str, value: Any) -> None:
        self.values[key] = value
        if next_link(value) is not None:
            self.pages_to_follow[key] = value
        elif (cut := short_of_total(value)) is not None:
            self.cuts.append(cut.for_key(key))


def sort_keys(service: PrefetchSpec, request: Mapping[str, Any]) -> SortedKeys:
    """Step 1: per key, the client's prefetch stands, says "no data", or must be fetched."""
    prefetch = request.get("prefetch") or {}
    keys = SortedKeys()
    for item in plan(service, request):
        if item.required:
            keys.required.add(item.key)
        if item.state is PrefetchState.NO_DATA:
            keys.values[item.key] = None
        elif item.state is PrefetchState.PROVIDED and _discard_foreign(
                item.key, prefetch[item.key], request, keys.notes):
            keys.fetch_or_none(item)
        elif item.state is PrefetchState.PROVIDED:
            keys.take_prefetched(item.key, prefetch[item.key])
        else:
            keys.fetch_or_none(item)
    return keys


def check_server(request: Mapping[str, Any], allowlist: FhirAllowlist, keys: SortedKeys
                 ) -> tuple[Origin | None, str]:
    """Step 2: the request's fhirServer checked against the allowlist — its base, or why none."""
    server = request.get("fhirServer")
    if not server:
        return None, "the request has no fhirServer"
    try:
        return allowlist.check(server), ""
    except ServerNotAllowed as exc:
        for _key in (*keys.to_fetch, *keys.pages_to_follow):
            metrics.count_fhir_query("refused", 0.0)
        return None, f"fhirServer refused: {exc}"


def without_server(keys: SortedKeys, refusal: str) -> GatheredData:
    """Step 3, no server to read from: 412 when a required key was not prefetched; otherwise the
    keys not prefetched are named missing and the paginated prefetch is said to be cut."""
    absent_required = sorted(keys.required & set(keys.to_fetch))
    if absent_required:
        raise PreconditionFailed(
            f"required data {', '.join(absent_required)} not prefetched and {refusal}",
            missing=absent_required,
        )
    missing = tuple(f"{key}: not prefetched and {refusal}" for key in sorted(keys.to_fetch))
    truncated = (*keys.cuts, *(
        _first_page_only(keys.pages_to_follow[key], CutCause.NOT_FETCHABLE, refusal).for_key(key)
        for key in sorted(keys.pages_to_follow)))
    for key in keys.to_fetch:
        keys.values.setdefault(key, None)
    return GatheredData(values=keys.values, missing=missing, notes=tuple(keys.notes),
                        truncated=truncated)


def fetch(keys: SortedKeys, base: Origin, request: Mapping[str, Any], config: ServiceConfig,
          allowlist: FhirAllowlist, deadline: float, threads: FhirThreads | None,
          connections: FhirConnections | None) -> tuple[dict[str, QueryResult], float]:
    """Step 3: the fresh queries and the further pages of paginated prefetch, all at once; the
    results, and the seconds they took."""
    server = request["fhirServer"]
    token = (request.get("fhirAuthorization") or {}).get("access_token")
    started = time.perf_counter()
    session = connections.session_for(base, server) if connections is not None else None
    with FhirClient(base, server, token, fhir_settings(config), allowlist, session) as client:
        # the required keys are outside the call's total caps: whether the call can answer at all
        # must not depend on which queries happen to finish first
        results = client.fetch_many({**keys.to_fetch, **keys.pages_to_follow}, deadline, threads,
                                    outside_call_budget=keys.required)
    elapsed = time.perf_counter() - started
    for result in results.values():
        metrics.count_fhir_query(query_outcome(result), result.elapsed_s)
    return results, elapsed


def with_fetched(keys: SortedKeys, results: dict[str, QueryResult], elapsed: float
                 ) -> GatheredData:
    """Step 4: the fetched values joined to the prefetched ones; what failed is named missing
    (412 when a required key failed), what was read in part is said to be cut."""
    truncated = list(keys.cuts)
    for key, first_page in keys.pages_to_follow.items():
        truncated.extend(_join_further_pages(keys, key, first_page, results.pop(key)))
    missing: list[str] = []
    failed_required = []
    for key, result in results.items():
        truncated.extend(_join_result(keys, key, result))
        if result.error is None:
            continue
        if key in keys.required:
            failed_required.append(f"{key} ({result.error})")
        else:
            missing.append(f"{key}: {result.error}")
    if failed_required:
        raise PreconditionFailed(
            "required data could not be obtained from the FHIR server: " + "; ".join(failed_required),
            missing=sorted(k.split(" ", 1)[0] for k in failed_required),
        )
    return GatheredData(values=keys.values, missing=tuple(missing), notes=tuple(keys.notes),
                        truncated=tuple(truncated), fetched=tuple(sorted(keys.to_fetch)),
                        fetch_seconds=elapsed)


def _join_further_pages(keys: SortedKeys, key: str, first_page: dict[str, Any],
                        continued: QueryResult) -> list[Truncation]:
    """A paginated prefetch with its further pages (or its first page, said to be cut)."""
    keys.notes.extend(f"{key}: {n}" for n in continued.notes)
    keys.values[key], cut = _completed_prefetch(first_page, continued)
    return [] if cut is None else [cut.for_key(key)]


def _join_result(keys: SortedKeys, key: str, result: QueryResult) -> list[Truncation]:
    """A fetched key's value (None when its query failed) and notes; its cut, if any."""
    keys.notes.extend(f"{key}: {n}" for n in result.notes)
    keys.values[key] = result.value if result.error is None else None
    return [] if result.truncation is None else [result.truncation.for_key(key)]


def query_outcome(result: QueryResult) -> str:
    """One word for the metrics: ok, cut (read in part), timeout, refused (401/403), error."""
    if result.error is None:
        return "ok" if result.truncation is None else "cut"
    if isinstance(result.error, FhirAuthError):
        return "refused"
    if "time" in str(result.error):  # "timed out", "within the time budget"
        return "timeout"
    return "cut" if result.truncation is not None else "error"


def _discard_foreign(key: str, value: Any, request: Mapping[str, Any], notes: list[str]) -> bool:
    """True when a prefetched value holds data about another patient than the context's: the
    key is then fetched as if it had not been prefetched (CM §10), and the note names why."""
    foreign = about_another_patient(value, (request.get("context") or {}).get("patientId"))
    if foreign:
        notes.append(foreign_prefetch_note(key, foreign))
    return bool(foreign)



def _completed_prefetch(first_page: dict[str, Any], result: QueryResult
                        ) -> tuple[dict[str, Any], Truncation | None]:
    """A paginated prefetch with its further pages, or — when they could not be read in time —
    its first page, said to be cut."""
    if result.error is None and result.value is not None:
        return result.value, result.truncation
    return first_page, _first_page_only(first_page, CutCause.TIME_BUDGET)


def _first_page_only(first_page: dict[str, Any], cause: CutCause, reason: str = "") -> Truncation:
    total = first_page.get("total")
    entries = first_page.get("entry")
    return Truncation(cause, len(entries) if isinstance(entries, list) else 0,
                      server_total=total if isinstance(total, int) else None, reason=reason)
