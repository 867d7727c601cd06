"""Prometheus metrics with the official client, in gunicorn multi-process mode.

`salvage-cds serve --metrics-port P` sets `PROMETHEUS_MULTIPROC_DIR` before gunicorn forks its
workers: every worker writes its samples to files there, and the gunicorn master serves them, added
up over the workers, on `--metrics-host` (loopback by default) port P — never on the public port.
Without `--metrics-port` the metrics are counted in-process and not served.

Labels are bounded sets the service defines (route templates, service ids, card topic codes,
outcome and reason words) — never patient ids, names, URLs, tokens or free text.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
    start_http_server,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter("salvage_cds_http_requests", "HTTP requests answered",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("salvage_cds_http_request_duration_seconds",
                         "time to answer an HTTP request", ["route", "method"])
HOOK_CALLS = Counter("salvage_cds_hook_calls", "CDS Hooks service calls answered", ["service"])
CARDS = Counter("salvage_cds_cards", "cards returned", ["service", "topic"])
FHIR_QUERIES = Counter("salvage_cds_fhir_queries", "FHIR queries made for hook calls",
                       ["outcome"])
FHIR_LATENCY = Histogram("salvage_cds_fhir_query_duration_seconds",
                         "time of one FHIR query (all its pages)", ["outcome"])
AUTH_FAILURES = Counter("salvage_cds_auth_failures", "CDS client authentications refused",
                        ["reason"])
FEEDBACK = Counter("salvage_cds_feedback", "feedback entries received", ["outcome"])
# outcome: free (a slot at once), waited (then a slot), refused (none within the budget: 503)
LARGE_BODIES = Counter("salvage_cds_large_bodies",
                       "large request bodies (>= 1 MiB) by how they got a worker's slot",
                       ["outcome"])

UNMATCHED_ROUTE = "unmatched"

# AuthFailure messages (cds_service/security/jwt_auth.py) by their first words -> reason label.
AUTH_REASONS: tuple[tuple[str, str], ...] = (
    ("no Authorization header", "missing"),
    ("Authorization scheme", "malformed"),
    ("bearer token is not", "malformed"),
    ("token segment", "malformed"),
    ("typ ", "malformed"),
    ("crit ", "malformed"),
    ("unencoded", "malformed"),
    ("alg ", "algorithm"),
    ("kid missing", "key"),
    ("unknown kid", "key"),
    ("the kid's key", "key"),
    ("jku", "jku"),
    ("iss missing", "issuer"),
    ("iss is not", "issuer"),
    ("iss mismatch", "issuer"),
    ("token expired", "expired"),
    ("token not yet valid", "not-yet-valid"),
    ("token lifetime", "lifetime"),
    ("aud ", "audience"),
    ("signature", "signature"),
    ("jti replayed", "replay"),
    ("jti ", "claims"),
    ("replay cache", "replay-cache-unavailable"),
    ("required claim", "claims"),
    ("tenant", "tenant"),
    ("invalid token", "invalid"),
)


def auth_reason(message: str) -> str:
    for prefix, reason in AUTH_REASONS:
        if message.startswith(prefix):
            return reason
    if message.startswith("unexpected"):
        return "unexpected"
    if message.endswith("is not a NumericDate"):
        return "claims"
    return "other"


class AuthFailureCounter(logging.Handler):
    """Counts the refusals the authenticator logs (its `auth_failure` field), by reason."""

    def emit(self, record: logging.LogRecord) -> None:
        failure = getattr(record, "auth_failure", None)
        if isinstance(failure, str):
            AUTH_FAILURES.labels(auth_reason(failure)).inc()


def install(app: Flask) -> None:
    """Count every request by route template and status, with its latency."""
    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
        HTTP_REQUESTS.labels(rule, request.method, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(rule, request.method).observe(time.perf_counter() - started)
        return response

    auth_log = logging.getLogger("salvage_cds.security.auth")
    if not any(isinstance(h, AuthFailureCounter) for h in auth_log.handlers):
        auth_log.addHandler(AuthFailureCounter(logging.WARNING))


def count_hook_call(service_id: str, cards: Iterable[Mapping[str, Any]]) -> None:
    HOOK_CALLS.labels(service_id).inc()
    for card in cards:
        topic = ((card.get("source") or {}).get("topic") or {}).get("code") or "none"
        CARDS.labels(service_id, str(topic)).inc()


def count_fhir_query(outcome: str, seconds: float) -> None:
    FHIR_QUERIES.labels(outcome).inc()
    FHIR_LATENCY.labels(outcome).observe(seconds)


def count_feedback(outcome: str, entries: int = 1) -> None:
    FEEDBACK.labels(outcome).inc(entries)


def count_large_body(outcome: str) -> None:
    LARGE_BODIES.labels(outcome).inc()


# --- gunicorn multi-process mode --------------------------------------------------------------

def start_exporter(host: str, port: int) -> None:
    """In the gunicorn master: serve the workers' metrics, added up, on host:port."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)


def worker_gone(pid: int) -> None:
    """gunicorn `child_exit`: drop the live-gauge files of a dead worker (counters stay)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
