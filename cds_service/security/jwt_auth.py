"""JWT authentication of CDS clients (CDS Hooks 2.0, "Trusting CDS Clients").

Every discovery, service and feedback call must carry ``Authorization: Bearer <jwt>``:

* header: ``typ`` = ``JWT``, ``alg`` one of the asymmetric RS/PS/ES algorithms (never ``none``,
  never HMAC — and the list is ours, never taken from the token), ``kid`` required, ``jku``
  optional and, when present, on the issuing client's allowlist (exact URL match);
* signature: checked by PyJWT (with `cryptography`) against the JWK named by ``kid`` — from the
  client's configured JWK Set (also when the token names an allowlisted ``jku``: no fetch), or
  fetched from the allowlisted ``jku`` (a total deadline, size cap, no redirects, cached,
  re-fetched when an unknown ``kid`` appears, at most every 30 s per URL);
* claims: ``iss`` (a configured client), ``aud`` (this endpoint's URL: ``public_base_url`` +
  request path; a string or an array), ``exp``, ``iat``, ``jti`` required, ``nbf`` honoured when
  present, ``tenant`` checked when the client has tenants configured, extra claims (``sub``…)
  tolerated; a token may not live longer than ``jti_cache_seconds``;
* replay: ``iss`` + ``jti`` are recorded in the database (`ReplayCache`) until the token expires;
  a second use is refused, whichever worker process sees it.

Any failure raises `Unauthorized` with one generic message (the app answers a bare 401 with
``WWW-Authenticate: Bearer``); the reason goes to the log — never the token itself.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from flask import Request, g
from jwt.utils import base64url_decode

from cds_service.config import ServiceConfig
from cds_service.errors import Unauthorized
from cds_service.fhir.deadline import DeadlineExceeded, ResponseTooLarge, bounded_get
from cds_service.security.clients import ASYMMETRIC_ALGORITHMS, ClientRegistry, TrustedClient
from cds_service.security.replay import ReplayCache

log = logging.getLogger("salvage_cds.security.auth")

GENERIC_MESSAGE = "authentication required"
MAX_TOKEN_CHARS = 8192
MAX_KID_CHARS = 256
MAX_JTI_CHARS = 256
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


class AuthFailure(Exception):
    """Why a token was refused — for the log only, never for the caller."""


# --- JWK Sets ------------------------------------------------------------------------------------
def public_jwks_by_kid(jwks: Any) -> dict[str, dict[str, Any]]:
    """The usable public RSA/EC keys of a JWK Set, by kid (private members dropped)."""
    keys: dict[str, dict[str, Any]] = {}
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        return keys
    for jwk_data in jwks["keys"]:
        if not isinstance(jwk_data, Mapping):
            continue
        kid = jwk_data.get("kid")
        if not isinstance(kid, str) or not kid or jwk_data.get("kty") not in ("RSA", "EC"):
            continue
        keys.setdefault(kid, {k: v for k, v in jwk_data.items() if k not in _PRIVATE_JWK_MEMBERS})
    return keys


@dataclass
class _CachedSet:
    keys: dict[str, dict[str, Any]]
    fetched_at: float  # 0: never fetched successfully
    attempted_at: float
    unknown_kid_refresh_at: float = float("-inf")


class JwksFetcher:
    """Fetches and caches the JWK Sets of allowlisted ``jku`` URLs (callers check the allowlist)."""

    def __init__(self, *, connect_timeout_s: float = 3.05, read_timeout_s: float = 5.0,
                 total_timeout_s: float = 8.0, max_bytes: int = 256 * 1024, ttl_s: float = 600.0,
                 min_refetch_interval_s: float = 30.0) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.min_refetch_interval_s = min_refetch_interval_s
        self._cache: dict[str, _CachedSet] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get_key(self, url: str, kid: str) -> dict[str, Any] | None:
        with self._guard:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            now = time.monotonic()
            entry = self._cache.get(url)
            if entry is None:
                entry = self._refresh(url, None, now)
            elif now - entry.fetched_at > self.ttl_s:
                # Expired: re-fetch (after a failure, not more often than the interval).
                if now - entry.attempted_at >= self.min_refetch_interval_s:
                    entry = self._refresh(url, entry, now)
            elif kid not in entry.keys:
                # Key rotation: one re-fetch per interval, however many unknown kids arrive.
                if now - entry.unknown_kid_refresh_at >= self.min_refetch_interval_s:
                    entry.unknown_kid_refresh_at = now
                    entry = self._refresh(url, entry, now)
            return entry.keys.get(kid)

    def _refresh(self, url: str, entry: _CachedSet | None, now: float) -> _CachedSet:
        try:
            keys = public_jwks_by_kid(self.fetch(url))
        except (requests.RequestException, ValueError, AuthFailure) as exc:
            log.warning("jku key set could not be fetched; keeping the cached keys",
                        extra={"jku": url, "error_type": type(exc).__name__})
            if entry is None:
                entry = _CachedSet(keys={}, fetched_at=0.0, attempted_at=now)
            else:
                entry.attempted_at = now
            self._cache[url] = entry
            return entry
        entry = _CachedSet(keys=keys, fetched_at=now, attempted_at=now,
                           unknown_kid_refresh_at=entry.unknown_kid_refresh_at if entry else float("-inf"))
        self._cache[url] = entry
        log.info("jku key set fetched", extra={"jku": url, "keys": len(keys)})
        return entry

    def fetch(self, url: str) -> Any:
        """The JWK Set at `url`, ended — socket shut — by `total_timeout_s` (issue 16, item 3)."""
        try:
            response = bounded_get(
                url,
                deadline=time.monotonic() + self.total_timeout_s,
                max_bytes=self.max_bytes,
                connect_timeout_s=self.connect_timeout_s,
                read_timeout_s=self.read_timeout_s,
                headers={"Accept": "application/jwk-set+json, application/json"},
            )
        except ResponseTooLarge:
            raise AuthFailure("jku key set too large") from None
        except DeadlineExceeded:
            raise AuthFailure("jku key set took too long") from None
        if response.status_code != 200:
            raise AuthFailure(f"jku answered HTTP {response.status_code}")
        data = json.loads(response.body)
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise AuthFailure("jku did not return a JWK Set")
        return data


# --- the authenticator ---------------------------------------------------------------------------
class JwtAuthenticator:
    def __init__(self, config: ServiceConfig, clients: ClientRegistry, *,
                 replay: ReplayCache | None = None, fetcher: JwksFetcher | None = None) -> None:
        self.public_base_url = config.public_base_url.rstrip("/")
        self.max_lifetime_s = config.jti_cache_seconds
        self.clients = clients
        self.fetcher = fetcher or JwksFetcher()
        self._database_url = config.database_url
        self._replay = replay
        self._replay_lock = threading.Lock()
        self._static_keys = {iss: public_jwks_by_kid(c.jwks) for iss, c in clients.clients.items()
                             if c.jwks is not None}

    @property
    def replay(self) -> ReplayCache:
        with self._replay_lock:
            if self._replay is None:
                self._replay = ReplayCache.open(self._database_url)
            return self._replay

    def close(self) -> None:
        if self._replay is not None:
            self._replay.close()

    def audience(self, request: Request) -> str:
        return self.public_base_url + request.path

    def authenticate(self, request: Request) -> None:
        context: dict[str, Any] = {}
        try:
            client, _claims = self.verify(request.headers.get("Authorization"),
                                          self.audience(request), context)
        except AuthFailure as failure:
            log.warning("CDS client authentication failed",
                        extra={"auth_failure": str(failure)[:200], **context})
            raise Unauthorized(GENERIC_MESSAGE) from None
        except Exception as exc:  # noqa: BLE001 - whatever breaks, the answer is a bare 401
            log.warning("CDS client authentication failed",
                        extra={"auth_failure": f"unexpected {type(exc).__name__}", **context})
            raise Unauthorized(GENERIC_MESSAGE) from None
        g.cds_client = client
        log.debug("CDS client authenticated", extra=context)

    # -- the checks, in order -----------------------------------------------------------------
    def verify(self, authorization: str | None, audience: str,
               context: dict[str, Any]) -> tuple[TrustedClient, dict[str, Any]]:
        token = _bearer_token(authorization)
        header = _header(token)
        alg, kid = header["alg"], header["kid"]
        context["kid"] = kid[:64]
        claims = _unverified_claims(token)
        iss = claims.get("iss")
        if not isinstance(iss, str):
            raise AuthFailure("iss missing or not a string")
        context["client_iss"] = iss[:200]
        client = self.clients.get(iss)
        if client is None:
            raise AuthFailure("iss is not a trusted CDS client")
        if alg not in client.algorithms:
            raise AuthFailure(f"alg {alg} not accepted for this client")

        jwk_data = self._find_key(client, kid, header.get("jku"))
        key = _key_for(jwk_data, alg)
        try:
            verified = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=client.iss,
                leeway=self.clients.clock_skew_s,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailure("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthFailure("token not yet valid (iat/nbf in the future)") from None
        except jwt.InvalidAudienceError:
            raise AuthFailure("aud is not this endpoint") from None
        except jwt.InvalidIssuerError:
            raise AuthFailure("iss mismatch") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthFailure(f"required claim missing: {exc.claim}") from None
        except jwt.InvalidSignatureError:
            raise AuthFailure("signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AuthFailure(f"invalid token ({type(exc).__name__})") from None

        exp = _numeric_claim(verified, "exp")
        _numeric_claim(verified, "iat")
        if "nbf" in verified:
            _numeric_claim(verified, "nbf")
        now = time.time()
        if exp - now > self.max_lifetime_s + self.clients.clock_skew_s:
            raise AuthFailure("token lifetime exceeds the replay window (jti_cache_seconds)")
        jti = verified.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise AuthFailure("jti must be a non-empty string")
        if client.tenants:
            tenant = verified.get("tenant")
            if not isinstance(tenant, str) or tenant not in client.tenants:
                raise AuthFailure("tenant is not configured for this client")
        try:
            fresh = self.replay.first_use(client.iss, jti, exp + self.clients.clock_skew_s, now=now)
        except Exception as exc:  # noqa: BLE001 - fail closed when the cache is unavailable
            raise AuthFailure(f"replay cache unavailable ({type(exc).__name__})") from None
        if not fresh:
            raise AuthFailure("jti replayed")
        return client, verified

    def _find_key(self, client: TrustedClient, kid: str, jku: Any) -> dict[str, Any]:
        configured = self._static_keys.get(client.iss, {}).get(kid)
        if jku is not None:
            if not isinstance(jku, str) or jku not in client.jku_allowlist:
                raise AuthFailure("jku is not on the client's allowlist")
            # a kid of the client's configured key set is verified with that key, without
            # reaching the (allowlisted) jku: the CDS Hooks sandbox always sends one, and a
            # service with its key set on file must work offline (issue 16, item 15)
            jwk_data = configured or self.fetcher.get_key(jku, kid)
        else:
            jwk_data = configured
            for url in client.jku_allowlist:
                if jwk_data is not None:
                    break
                jwk_data = self.fetcher.get_key(url, kid)
        if jwk_data is None:
            raise AuthFailure("unknown kid")
        return jwk_data


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthFailure("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthFailure("Authorization scheme is not Bearer")
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or not _TOKEN_SHAPE.match(token):
        raise AuthFailure("bearer token is not a compact JWS")
    return token


def _segment(token: str, index: int) -> dict[str, Any]:
    try:
        value = json.loads(base64url_decode(token.split(".")[index]))
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise AuthFailure("token segment is not base64url JSON") from None
    if not isinstance(value, dict):
        raise AuthFailure("token segment is not a JSON object")
    return value


def _header(token: str) -> dict[str, Any]:
    header = _segment(token, 0)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
        shown = alg[:20] if isinstance(alg, str) else type(alg).__name__
        raise AuthFailure(f"alg {shown!r} is not an accepted asymmetric algorithm")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise AuthFailure("typ is not JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_CHARS:
        raise AuthFailure("kid missing")
    if "crit" in header:
        raise AuthFailure("crit header extensions are not supported")
    if header.get("b64", True) is not True:
        raise AuthFailure("unencoded payloads are not accepted")
    return header


def _unverified_claims(token: str) -> dict[str, Any]:
    """Read the claims to find the issuer; nothing here is trusted before the signature check."""
    return _segment(token, 1)


def _key_for(jwk_data: Mapping[str, Any], alg: str) -> Any:
    if jwk_data.get("kty") != _KEY_TYPES[alg[:2]]:
        raise AuthFailure("the kid's key type does not fit alg")
    if "alg" in jwk_data and jwk_data["alg"] != alg:
        raise AuthFailure("the kid's key is published for another alg")
    if jwk_data.get("use", "sig") != "sig":
        raise AuthFailure("the kid's key is not a signing key")
    try:
        return jwt.PyJWK(dict(jwk_data), algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError):
        raise AuthFailure("the kid's key is unusable") from None


def _numeric_claim(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AuthFailure(f"{name} is not a NumericDate")
    return float(value)
