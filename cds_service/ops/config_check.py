"""`salvage-cds check-config`: every problem of the settings, one line each, before a start.

Reads the `SALVAGE_CDS_*` environment as the service would, variable by variable (so one bad
value does not hide the next), then checks what the values point at: the clients file and its key
sets, the FHIR allowlist, the public base URL, the database URL. Unknown `SALVAGE_CDS_*` names —
usually a misspelling, silently ignored by the service — are reported with the nearest real name.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError

from cds_service.config import ENV_PREFIX, ServiceConfig
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.security.clients import ClientConfigError, ClientRegistry

NOT_FROM_ENV = {"flask"}
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}
# Read by the project's test tooling, not ServiceConfig fields.
OTHER_KNOWN = {ENV_PREFIX + "CHROMIUM", ENV_PREFIX + "UPDATE_SCREENSHOT"}


def setting_names() -> list[str]:
    return [ENV_PREFIX + f.name.upper() for f in dataclasses.fields(ServiceConfig)
            if f.name not in NOT_FROM_ENV]


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One warning per SALVAGE_CDS_* variable that no setting reads."""
    known = set(setting_names()) | OTHER_KNOWN
    warnings = []
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            warnings.append(f"{name} is not a setting and is ignored{hint}")
    return warnings


def value_problems(environ: Mapping[str, str]) -> list[str]:
    problems = []
    for name in setting_names():
        if name in environ:
            try:
                ServiceConfig.from_env({name: environ[name]})
            except ValueError as exc:
                problems.append(str(exc))
    return problems


def _public_url_problems(url: str) -> list[str]:
    parts = urlsplit(url)
    name = ENV_PREFIX + "PUBLIC_BASE_URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{name}: {url!r} is not an http(s) URL"]
    if parts.hostname in WILDCARD_HOSTS:
        return [f"{name}: {url!r} names a wildcard address clients cannot call (JWT aud, SMART "
                "links)"]
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not loopback:
        return [f"{name}: {url!r} is plain http on a non-loopback host: put TLS in front and "
                "give the https URL"]
    if parts.query or parts.fragment:
        return [f"{name}: {url!r} must not have a query or fragment"]
    return []


def _clients_problems(config: ServiceConfig) -> list[str]:
    if not config.jwt_clients_file:
        return [f"{ENV_PREFIX}JWT_CLIENTS_FILE is unset: no CDS client is trusted, every CDS call "
                "will be refused (only `serve --dev` runs without)"]
    try:
        registry = ClientRegistry.load(config.jwt_clients_file)
    except ClientConfigError as exc:
        return [str(exc)]
    if len(registry) == 0:
        return [f"{config.jwt_clients_file}: the \"clients\" list is empty: every CDS call will "
                "be refused"]
    return []


def _allowlist_problems(config: ServiceConfig) -> list[str]:
    try:
        FhirAllowlist.from_config(config.fhir_allowlist, config.fhir_allow_insecure_loopback)
    except ValueError as exc:
        return [f"{ENV_PREFIX}FHIR_ALLOWLIST: {exc}"]
    return []


def _database_problems(config: ServiceConfig) -> list[str]:
    try:
        make_url(config.database_url)
    except ArgumentError:
        return [f"{ENV_PREFIX}DATABASE_URL: not a SQLAlchemy URL"]
    return []


def config_problems(environ: Mapping[str, str]) -> list[str]:
    """Every problem found, one line each; an empty list means the settings are usable."""
    problems = value_problems(environ)
    if problems:
        return problems  # the checks below need readable values
    config = ServiceConfig.from_env(environ)
    for check in (_clients_problems, _allowlist_problems, _database_problems):
        problems += check(config)
    problems += _public_url_problems(config.public_base_url)
    return problems
