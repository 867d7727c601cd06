"""The CDS clients this service trusts, read from the JSON file named by
``SALVAGE_CDS_JWT_CLIENTS_FILE`` (`ServiceConfig.jwt_clients_file`).

File format (every key other than ``clients`` / ``iss`` is optional)::

    {
      "clock_skew_seconds": 60,
      "clients": [
        {
          "name": "Test EHR",
          "iss": "https://ehr.example.org",
          "jwks_file": "keys/ehr.jwks.json",
          "jwks": {"keys": [ ... ]},
          "jku_allowlist": ["https://ehr.example.org/.well-known/jwks.json"],
          "tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2",
          "algorithms": ["ES384", "RS384"],
          "fhir_allowlist": ["https://ehr.example.org/fhir"]
        }
      ]
    }

* ``iss`` — the exact ``iss`` claim of this client's JWTs (unique in the file).
* Keys: ``jwks_file`` (a JWK Set file; a relative path is read from the clients file's
  directory), inline ``jwks``, and/or ``jku_allowlist`` — the exact ``jku`` URLs this client may
  name (https, or http on a loopback host). A client needs at least one of the three. A JWT with a
  ``jku`` header (which must be on this list) is verified with the configured key set when its
  ``kid`` is there — no fetch, so a configured client works offline — else with the key set
  fetched from that URL; a JWT without one is verified with the configured key set, then with the
  client's allowlisted ``jku`` URLs (keys "communicated out of band", CDS Hooks 2.0).
* ``tenant`` — a string or a list of strings: when set, the JWT's ``tenant`` claim must be one of
  them.
* ``algorithms`` — restricts the accepted ``alg`` values for this client (default: every
  RS/PS/ES variant; ``none`` and HMAC are never accepted).
* ``fhir_allowlist`` — URL prefixes as in ``SALVAGE_CDS_FHIR_ALLOWLIST``: a call by this client may
  only use a ``fhirServer`` that is on both the service-wide list and this one.
* ``clock_skew_seconds`` (top level) — leeway for ``exp``/``iat``/``nbf`` (default 60, max 300).

The file is read once when the app is built; any error in it stops the service from starting
(better than running with a trust configuration nobody intended).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import g

from cds_service.fhir.allowlist import FhirAllowlist, Origin, ServerNotAllowed

# Asymmetric JWS algorithms only (CDS Hooks 2.0: never `none`, never a symmetric algorithm).
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
})
DEFAULT_CLOCK_SKEW_S = 60
MAX_CLOCK_SKEW_S = 300
_CLIENT_KEYS = frozenset({"name", "iss", "jwks_file", "jwks", "jku_allowlist", "tenant",
                          "algorithms", "fhir_allowlist"})


class ClientConfigError(ValueError):
    """The clients file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class TrustedClient:
    iss: str
    name: str
    jwks: Mapping[str, Any] | None = None  # the configured JWK Set (file or inline)
    jku_allowlist: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()  # empty: no tenant check
    algorithms: frozenset[str] = ASYMMETRIC_ALGORITHMS
    fhir_allowlist: tuple[Origin, ...] | None = None  # None: the service-wide list alone

    @property
    def label(self) -> str:
        """For logs: the operator's name for the client, else its issuer."""
        return self.name or self.iss


@dataclass(frozen=True)
class ClientRegistry:
    clients: Mapping[str, TrustedClient] = field(default_factory=dict)
    clock_skew_s: int = DEFAULT_CLOCK_SKEW_S

    def get(self, iss: str) -> TrustedClient | None:
        return self.clients.get(iss)

    def __len__(self) -> int:
        return len(self.clients)

    @classmethod
    def load(cls, path: str | Path | None) -> ClientRegistry:
        """Read the clients file; no file configured → an empty registry (nobody is trusted)."""
        if not path:
            return cls()
        file = Path(path)
        try:
            data = json.loads(file.read_text("utf-8"))
        except OSError as exc:
            raise ClientConfigError(f"JWT clients file {file}: cannot read it ({exc.strerror})") from None
        except ValueError as exc:
            raise ClientConfigError(f"JWT clients file {file}: not valid JSON ({exc})") from None
        return cls.from_dict(data, base_dir=file.parent, source=str(file))

    @classmethod
    def from_dict(cls, data: Any, *, base_dir: Path | None = None,
                  source: str = "JWT clients") -> ClientRegistry:
        if not isinstance(data, dict) or not isinstance(data.get("clients"), list):
            raise ClientConfigError(f"{source}: expected an object with a \"clients\" list")
        skew = data.get("clock_skew_seconds", DEFAULT_CLOCK_SKEW_S)
        if isinstance(skew, bool) or not isinstance(skew, int) or not 0 <= skew <= MAX_CLOCK_SKEW_S:
            raise ClientConfigError(f"{source}: clock_skew_seconds must be an integer 0..{MAX_CLOCK_SKEW_S}")
        clients: dict[str, TrustedClient] = {}
        for index, entry in enumerate(data["clients"]):
            where = f"{source}: clients[{index}]"
            client = _client(entry, where, base_dir or Path("."))
            if client.iss in clients:
                raise ClientConfigError(f"{where}: duplicate iss {client.iss!r}")
            clients[client.iss] = client
        return cls(clients=clients, clock_skew_s=skew)


def _client(entry: Any, where: str, base_dir: Path) -> TrustedClient:
    if not isinstance(entry, dict):
        raise ClientConfigError(f"{where}: expected an object")
    unknown = set(entry) - _CLIENT_KEYS
    if unknown:
        raise ClientConfigError(f"{where}: unknown keys {sorted(unknown)}")
    iss = entry.get("iss")
    if not isinstance(iss, str) or not iss.strip():
        raise ClientConfigError(f"{where}: \"iss\" must be a non-empty string")
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise ClientConfigError(f"{where}: \"name\" must be a string")

    jwks: Mapping[str, Any] | None = None
    if "jwks_file" in entry:
        if "jwks" in entry:
            raise ClientConfigError(f"{where}: give \"jwks_file\" or \"jwks\", not both")
        if not isinstance(entry["jwks_file"], str):
            raise ClientConfigError(f"{where}: \"jwks_file\" must be a path")
        jwks_path = Path(entry["jwks_file"])
        if not jwks_path.is_absolute():
            jwks_path = base_dir / jwks_path
        try:
            jwks = json.loads(jwks_path.read_text("utf-8"))
        except OSError as exc:
            raise ClientConfigError(f"{where}: cannot read {jwks_path} ({exc.strerror})") from None
        except ValueError as exc:
            raise ClientConfigError(f"{where}: {jwks_path} is not valid JSON ({exc})") from None
    elif "jwks" in entry:
        jwks = entry["jwks"]
    if jwks is not None:
        _check_jwks(jwks, where)

    jku_allowlist = _strings(entry.get("jku_allowlist", []), where, "jku_allowlist")
    for url in jku_allowlist:
        problem = jku_url_problem(url)
        if problem:
            raise ClientConfigError(f"{where}: jku_allowlist entry {url!r}: {problem}")
    if jwks is None and not jku_allowlist:
        raise ClientConfigError(f"{where}: needs \"jwks_file\", \"jwks\" or \"jku_allowlist\"")

    tenant = entry.get("tenant")
    tenants = (tenant,) if isinstance(tenant, str) else _strings(tenant or [], where, "tenant")

    algorithms = ASYMMETRIC_ALGORITHMS
    if "algorithms" in entry:
        chosen = set(_strings(entry["algorithms"], where, "algorithms"))
        bad = chosen - ASYMMETRIC_ALGORITHMS
        if bad or not chosen:
            raise ClientConfigError(
                f"{where}: algorithms must be a non-empty subset of {sorted(ASYMMETRIC_ALGORITHMS)}"
                f" (refused: {sorted(bad)})")
        algorithms = frozenset(chosen)

    fhir_allowlist: tuple[Origin, ...] | None = None
    if "fhir_allowlist" in entry:
        prefixes = _strings(entry["fhir_allowlist"], where, "fhir_allowlist")
        try:
            fhir_allowlist = tuple(Origin.parse(p, allow_any_port=True) for p in prefixes)
        except ServerNotAllowed as exc:
            raise ClientConfigError(f"{where}: fhir_allowlist: {exc}") from None

    return TrustedClient(iss=iss, name=name, jwks=jwks, jku_allowlist=jku_allowlist,
                         tenants=tenants, algorithms=algorithms, fhir_allowlist=fhir_allowlist)


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ClientConfigError(f"{where}: \"{key}\" must be a list of non-empty strings")
    return tuple(value)


def _check_jwks(jwks: Any, where: str) -> None:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ClientConfigError(f"{where}: a JWK Set must be an object with a \"keys\" list")
    for key in jwks["keys"]:
        if isinstance(key, dict) and ("d" in key or key.get("kty") == "oct"):
            raise ClientConfigError(f"{where}: the JWK Set holds a private or symmetric key; "
                                    "configure public keys only")


def jku_url_problem(url: str) -> str | None:
    """Why `url` cannot be a jku (None when it can): https, or http on a loopback host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        return "not a valid URL"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL has no host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback(host):
        return None
    return "must be https (http only on a loopback host)"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- the per-client fhirServer allowlist --------------------------------------------------------
@dataclass(frozen=True)
class ClientFhirAllowlist(FhirAllowlist):
    """The service-wide allowlist narrowed to one client's FHIR servers: a URL must be on both."""

    client_entries: tuple[Origin, ...] = ()

    def check(self, url: str) -> Origin:
        origin = super().check(url)
        if not any(entry.contains(origin) for entry in self.client_entries):
            raise ServerNotAllowed("the FHIR server is not on the allowlist of this CDS client")
        return origin


def allowlist_for(base: FhirAllowlist, client: TrustedClient | None) -> FhirAllowlist:
    """The allowlist that applies to a call by `client` (None: unauthenticated dev mode)."""
    if client is None or client.fhir_allowlist is None:
        return base
    return ClientFhirAllowlist(entries=base.entries,
                               allow_insecure_loopback=base.allow_insecure_loopback,
                               client_entries=client.fhir_allowlist)


def current_client() -> TrustedClient | None:
    """The CDS client authenticated for the current request (stored by the JWT authenticator)."""
    return g.get("cds_client")


def effective_allowlist(base: FhirAllowlist) -> FhirAllowlist:
    """`allowlist_for(base, current_client())` — what the hook call's gather step uses."""
    return allowlist_for(base, current_client())
