"""Explicit configuration of the service.

One frozen dataclass holds every setting, with embedded defaults that let `salvage-cds serve --dev`
run on a fresh machine. Operators override any field through environment variables named
``SALVAGE_CDS_<FIELD NAME IN UPPER CASE>`` (e.g. ``SALVAGE_CDS_DATABASE_URL``); lists are
comma-separated, booleans are ``1/true/yes`` or ``0/false/no``. Nothing is read at import time:
`ServiceConfig.from_env()` is called by the app factory.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from cds_service.model.constants import OUTDATED_IMAGING_DAYS

ENV_PREFIX = "SALVAGE_CDS_"

# The embedded FHIR allowlist accepts loopback servers only: a fresh install never sends a
# patient's bearer token anywhere but this machine until an operator lists the EHR's server.
# Entries are URL prefixes; ":*" stands for any port.
LOOPBACK_FHIR_ALLOWLIST = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")


@dataclass(frozen=True)
class ServiceConfig:
    # Persistence: SQLite file by default, any SQLAlchemy URL (postgresql+psycopg://...) otherwise.
    database_url: str = "sqlite:///instance/salvage-cds.sqlite3"
    # Public base URL of this service (links on cards, SMART launch URLs, JWT `aud`).
    public_base_url: str = "http://127.0.0.1:8080"

    # FHIR access -----------------------------------------------------------------------------
    # URL prefixes (scheme://host[:port][/path]) a request's fhirServer must start with.
    fhir_allowlist: tuple[str, ...] = LOOPBACK_FHIR_ALLOWLIST
    # Plain http is accepted only for loopback hosts, and only while this is true.
    fhir_allow_insecure_loopback: bool = True
    fhir_connect_timeout_s: float = 3.05
    fhir_read_timeout_s: float = 10.0
    fhir_retries: int = 2  # bounded retries of idempotent GETs on connection errors / 502-504
    fhir_max_pages: int = 10  # `next` links followed per query before we stop and say so
    # concurrent FHIR queries per hook call: at least one per prefetch key (9), so no query of a
    # call waits behind another (cds_service/assessment/queries.py)
    fhir_max_workers: int = 12
    # Threads of a worker process shared by the FHIR queries of all its hook calls (started once,
    # not per call: docs/performance.md); a call that finds too few free starts its own
    # (cds_service/fhir/threads.py).
    fhir_pool_threads: int = 32
    fhir_max_response_bytes: int = 20 * 1024 * 1024
    fhir_max_entries: int = 5000  # resources kept per query; the rest is reported as truncated
    # Totals across all queries and pages of one hook call (or SMART page load): what is cut is
    # named on the cards (cds_service/fhir/truncation.py). A hostile server once drove one worker
    # to 1.57 GB with per-response caps alone.
    fhir_max_call_bytes: int = 64 * 1024 * 1024
    fhir_max_call_entries: int = 20000

    # HTTP -------------------------------------------------------------------------------------
    cors_origins: tuple[str, ...] = ("*",)
    # The largest legitimate chart: as many resources as the service reads through its own FHIR
    # queries in one call (fhir_max_call_entries, 20,000), at the size of a lab Observation
    # (~1.3 kB in a search Bundle: 20,000 are 25 MiB in bench/scaling.py), with headroom for
    # larger resources. docs/performance.md gives the cost of a call at that size.
    max_request_bytes: int = 32 * 1024 * 1024
    max_json_depth: int = 64
    # Refused by gunicorn before the app, answered as JSON (cds_service/security/gunicorn_errors.py):
    max_request_line: int = 4094  # bytes of the request line (method, URL, version): else 414
    max_request_field_bytes: int = 8190  # bytes of one header field (the JWT goes in one): 431
    max_request_fields: int = 100  # header fields: else 431
    request_budget_s: float = 20.0  # whole hook call, FHIR fallback included
    # Large request bodies (>= 1 MiB, cds_service/web/http_json.py) one worker process reads,
    # parses and answers at once; 0: no bound. The work is CPU-bound Python under one GIL, so more
    # at once gain no throughput and only hold more parsed bodies in memory; the others wait,
    # their bodies unread, within their time budget (request_budget_s), then get a 503.
    large_bodies_per_worker: int = 1

    # Security ---------------------------------------------------------------------------------
    auth_required: bool = True  # JWT on every CDS call; only `serve --dev` turns it off
    jwt_clients_file: str | None = None  # JSON file: issuers -> JWKS file / allowed jku / tenant
    jti_cache_seconds: int = 3600

    # SMART app --------------------------------------------------------------------------------
    # FHIR base URLs (prefixes, as in fhir_allowlist) the SMART app may be launched with, and the
    # only places its discovery, authorize, token and JWKS endpoints may be. Empty by default: the
    # SMART app contacts nothing until an operator lists the EHR's servers (issue 16, item 5). An
    # issuer must also be on fhir_allowlist, which guards the FHIR reads.
    smart_issuer_allowlist: tuple[str, ...] = ()
    smart_client_id: str = "salvage-cds"
    smart_scopes: str = "launch openid fhirUser patient/*.rs"
    # Signs the SMART app's session cookies. Unset: one random key is made once and kept in the
    # database (smart_keys), shared by every worker and instance on that database.
    secret_key: str | None = None

    # Model ------------------------------------------------------------------------------------
    limited_lesion_max: int = 4  # clinical-model §3 LIMITED_LESION_MAX
    countable_lesion_max: int = 10  # clinical-model §4 COUNTABLE_LESION_MAX
    outdated_imaging_days: int = OUTDATED_IMAGING_DAYS  # clinical-model §10, constants.py

    # Extra Flask settings (tests) — not read from the environment.
    flask: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServiceConfig:
        """Defaults, then ``SALVAGE_CDS_*`` variables, then keyword overrides."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "flask":
                continue
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(raw, hints[f.name], f.name)
        if values.get("auth_required") is False:
            # One switch turns authentication off, and it is loud (issue 16, item 7): the
            # environment can only keep it on.
            raise ValueError(f"{ENV_PREFIX}AUTH_REQUIRED=false: client authentication is turned "
                             "off only by `salvage-cds serve --dev` (which says so at start-up "
                             "and on every request)")
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        if self.large_bodies_per_worker < 0:
            raise ValueError(f"{ENV_PREFIX}LARGE_BODIES_PER_WORKER: {self.large_bodies_per_worker} "
                             "is negative; give a count of bodies, or 0 for no bound")
        if self.secret_key is not None and (problem := weak_secret_key(self.secret_key)):
            raise ValueError(f"{ENV_PREFIX}SECRET_KEY: {problem}; make one with "
                             "`python3 -c 'import secrets; print(secrets.token_hex(32))'` or leave "
                             "it unset (a random key is then kept in the database)")

    def replace(self, **changes: Any) -> ServiceConfig:
        return dataclasses.replace(self, **changes)


# A key anyone can read or guess would let them forge SMART session cookies (beyond the review:
# security practice, e.g. OWASP ASVS 6.4 / Flask's SECRET_KEY guidance: long and random).
SECRET_KEY_MIN_CHARS = 32
SECRET_KEY_MIN_DISTINCT_CHARS = 8
SECRET_KEY_PLACEHOLDERS = ("change-me", "changeme", "secret", "example")


def weak_secret_key(key: str) -> str | None:
    """Why `key` is not fit to sign sessions, or None: too short, a placeholder copied from an
    example, or too few distinct characters (e.g. "0" * 64)."""
    if len(key) < SECRET_KEY_MIN_CHARS:
        return f"{len(key)} characters; at least {SECRET_KEY_MIN_CHARS} random ones are needed"
    if any(word in key.lower() for word in SECRET_KEY_PLACEHOLDERS):
        return "a placeholder (copied from an example?), not a random key"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT_CHARS:
        return "too few distinct characters to be a random key"
    return None


def _parse(raw: str, hint: Any, name: str) -> Any:
    text = str(hint)
    try:
        if hint is bool:
            return _parse_bool(raw)
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        if "tuple" in text:
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        if "None" in text and raw == "":
            return None
        return raw
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}: cannot read {raw!r} ({exc})") from None


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected a boolean (true/false)")
