"""SMART App Launch 2.x (EHR and standalone launch) for the salvage plan app.

    GET /smart/launch?iss=…&launch=…   EHR launch (standalone when `launch` is absent)
        1. `iss` must be on the SMART issuer allowlist (`smart_issuer_allowlist`, empty by default)
           and on the FHIR allowlist (the guard of every FHIR read).
        2. `{iss}/.well-known/smart-configuration` gives the authorize and token endpoints.
        3. A fresh `state` and PKCE verifier are stored server-side (10 min, one-time); the browser
           gets only a signed cookie with the state; it is redirected to the authorize endpoint
           with `code_challenge` (S256), `aud=iss` and the configured scopes.
    GET /smart/callback?code=…&state=…
        4. `state` must match the browser's cookie and a stored, unexpired, unused launch.
        5. The code is exchanged (with the PKCE verifier) at the token endpoint, which must be on
           the SMART allowlist. Authlib's OAuth 2.0 client builds the authorization URL and makes
           the exchange; the app checks the token response before Authlib parses it.
        6. An `id_token`, when returned, is verified (signature from the issuer's JWKS, `iss`, `aud`,
           expiry, nonce). The access token is stored server-side (encrypted, see `session_store`);
           the browser's signed cookie lists its sessions, and a 303 goes to /smart/plan/<handle>,
           the plan of this one launch (a hash of its session id: the URL alone opens nothing).
           The token is never put in a URL, a page or a log.
    GET /smart/plan/<handle>
        7. Reads the patient's data with the hooks' FHIR access layer, assesses it on the one path
           every caller shares (`cds_service.assessment`) and renders the plan (server-side HTML
           with inline SVG; no script, no external asset).
    POST /smart/logout   forgets the session.

Every failure — unknown server, consent denied, bad or reused state, expired session, unreachable
server, refused token — renders a page that says what happened and what to do; never a stack trace.
What the app found at an issuer's address (closed port, HTTP status, not JSON) is logged, never
shown: the launch URL is open to anyone and must not become a port scanner (issue 16, item 5).
Every request of the app (discovery, token, JWKS) ignores the environment (`trust_env` off: no
~/.netrc credentials, no proxy variables).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import jwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from flask import Blueprint, current_app, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from cards.markdown import strip_controls
from cds_service.config import ServiceConfig
from cds_service.fhir.allowlist import FhirAllowlist, ServerNotAllowed
from cds_service.model.assessment import assessment_date_at
from cds_service.smart.data import PatientDataError, fetch_patient_data
from cds_service.smart.plan import build_plan_page
from cds_service.smart.session_store import (
    LAUNCH_TTL_S,
    PendingLaunch,
    SmartSession,
    SmartStore,
    session_handle,
)
from cds_service.web.app_parts import AppParts

log = logging.getLogger("salvage_cds.smart")

bp = Blueprint("smart", __name__, url_prefix="/smart", template_folder="templates")

LAUNCH_COOKIE = "salvage_smart_launch"
SESSION_COOKIE = "salvage_smart_session"
COOKIE_PATH = "/smart"
MAX_JSON_BYTES = 256 * 1024
MAX_PARAM_CHARS = 4096
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
PATIENT_READ_SCOPE = re.compile(
    r"^patient/(\*|[A-Za-z]+)\.(read|\*|c?r[u]?[d]?[s]?)(\?.*)?$"
)
EXTENSION_KEY = "salvage_cds_smart"
MAX_SESSION_COOKIE_S = 12 * 3600  # each session row expires with its token (session_store)
MAX_BROWSER_SESSIONS = 8  # launches one browser keeps open at once (one per tab)
HANDLE = re.compile(r"^[0-9a-f]{32}$")
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
ID_TOKEN_LEEWAY_S = 60


class SmartError(Exception):
    """A failure the user must see as a clear page. Title and message are safe to show."""

    def __init__(self, status: int, title: str, message: str, *, advice: str | None = None,
                 code: str = "error") -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.advice = advice or "Open the plan again from the patient's chart in the EHR."
        self.code = code


def without_controls(value: Any) -> Any:
    """A rendered value without control or format characters (strings only)."""
    return strip_controls(value) if isinstance(value, str) else value


# -- app wiring ------------------------------------------------------------------------------------
@bp.record_once
def _setup(state: Any) -> None:
    app = state.app
    parts: AppParts = app.extensions["salvage_cds"]
    app.extensions[EXTENSION_KEY] = SmartStore.open(parts.feedback.engine,
                                                    parts.config.secret_key)
    # Every value a page shows passes here: invisible format controls (zero-width, bidi
    # overrides: Unicode Cf) and other controls are removed before autoescaping, as on the cards
    # (issue 16, item 11).
    app.jinja_env.finalize = without_controls


def _parts() -> AppParts:
    return current_app.extensions["salvage_cds"]


def _store() -> SmartStore:
    return current_app.extensions[EXTENSION_KEY]


@bp.before_request
def _nonce() -> None:
    g.smart_csp_nonce = secrets.token_urlsafe(16)


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {"csp_nonce": g.get("smart_csp_nonce", "")}


@bp.after_request
def _security_headers(response: Response) -> Response:
    # Patient data: never cached, never sent on as a Referer, no script, no external resource.
    nonce = g.get("smart_csp_nonce", "")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    form_action = " ".join(("'self'", *g.get("smart_form_targets", ())))
    # Only the EHRs on the SMART issuer allowlist may frame the plan (their iframe launch mode);
    # no other page can (clickjacking, issue 16 item 14).
    frame_ancestors = " ".join(("'self'", *form_targets(_parts().config)))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
        f"form-action {form_action}; base-uri 'none'; frame-ancestors {frame_ancestors}"
    )
    return response


def form_targets(config: ServiceConfig) -> tuple[str, ...]:
    """CSP sources of the SMART allowlist's origins. Chromium applies `form-action` to the
    redirects that follow a form's submission, so the start form's page must allow the
    authorization servers it redirects to (all of them are on the allowlist)."""
    sources = []
    for origin in smart_allowlist(config).entries:
        port = "*" if origin.port is None else str(origin.port)
        sources.append(f"{origin.scheme}://{origin.host}:{port}")
    return tuple(dict.fromkeys(sources))


def smart_allowlist(config: ServiceConfig) -> FhirAllowlist:
    return FhirAllowlist.from_config(config.smart_issuer_allowlist,
                                     config.fhir_allow_insecure_loopback)


def http_session() -> requests.Session:
    """Discovery, token and JWKS requests: no credentials or proxies from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


@bp.errorhandler(SmartError)
def _smart_error(error: SmartError) -> Any:
    log.info("smart app: %s (%s)", error.code, error.status)
    return _message_page(error.status, error.title, error.message, error.advice)


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Any:
    if isinstance(error, HTTPException):
        return _message_page(error.code or 500, error.name, error.description or error.name,
                             "Open the plan again from the patient's chart in the EHR.")
    log.error("smart app: unexpected error %s", type(error).__name__, exc_info=error)
    return _message_page(500, "The plan could not be shown",
                         "The salvage plan app failed unexpectedly while preparing this page.",
                         "Try again from the EHR. If it keeps failing, tell the service's "
                         "operators; the error was logged (without patient data).")


def _message_page(status: int, title: str, message: str, advice: str) -> tuple[str, int]:
    return render_template("smart_message.html", title=title, message=message, advice=advice,
                           status=status), status


# -- helpers ---------------------------------------------------------------------------------------
def _cookie_secure(config: ServiceConfig) -> bool:
    return config.public_base_url.lower().startswith("https://")


def redirect_uri(config: ServiceConfig) -> str:
    return config.public_base_url.rstrip("/") + "/smart/callback"


def pkce_verifier() -> str:
    """A PKCE code_verifier (RFC 7636: 43-128 characters); Authlib's client derives the S256
    challenge from it."""
    return generate_token(86)  # 86 characters of [A-Za-z0-9]


def oauth_client(config: ServiceConfig) -> OAuth2Session:
    """Authlib's OAuth 2.0 client for the authorization-code flow with PKCE (S256): a public
    client (`token_endpoint_auth_method=none`), and — like every request of the app — no
    credentials or proxies from the environment."""
    client = OAuth2Session(client_id=config.smart_client_id, token_endpoint_auth_method="none",
                           redirect_uri=redirect_uri(config), code_challenge_method="S256")
    client.trust_env = False
    return client


def _param(name: str, *, required: bool = False) -> str | None:
    value = request.args.get(name)
    if value is not None and (len(value) > MAX_PARAM_CHARS or not value.strip()):
        raise SmartError(400, "Invalid launch request", f"The '{name}' parameter is not valid.",
                         code="bad-parameter")
    if required and value is None:
        raise SmartError(400, "Incomplete launch request",
                         f"The request has no '{name}' parameter.", code="missing-parameter")
    return value


def _read_json(response: requests.Response, what: str) -> Any:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise SmartError(502, f"Invalid {what}", f"The {what} is too large.",
                             code="bad-response")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise SmartError(502, f"Invalid {what}", f"The {what} is not valid JSON.",
                         code="bad-response") from None


def discovery_failed(cause: str) -> SmartError:
    """One page for every failure at an issuer's address: what was found there (closed port,
    HTTP status, not JSON, wrong document) is logged for the operators, never shown."""
    log.info("smart discovery failed: %s", cause)
    return SmartError(502, "The SMART launch could not start",
                      "The FHIR server's SMART configuration could not be read or used.",
                      advice="Try again in a moment; if it persists, tell the service's operators "
                             "(the cause is in the service's log).", code="discovery-failed")


def _check_endpoint(url: Any, name: str, allowlist: FhirAllowlist) -> str:
    """An endpoint named by the discovery document: on the SMART allowlist (https unless
    loopback with insecure loopback allowed)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise discovery_failed(f"no usable {name}")
    try:
        allowlist.check(url)
    except ServerNotAllowed as exc:
        raise discovery_failed(f"{name} refused: {exc}") from None
    return url


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    capabilities: tuple[str, ...]
    code_challenge_methods: tuple[str, ...] | None
    issuer: str | None = None
    jwks_uri: str | None = None


def get_json(url: str, config: ServiceConfig, what: str) -> Any:
    """GET a JSON document from an allowlisted SMART server; one uniform page on any failure."""
    try:
        with http_session() as session:
            response = session.get(url, headers={"Accept": "application/json"},
                                   timeout=(config.fhir_connect_timeout_s,
                                            config.fhir_read_timeout_s),
                                   allow_redirects=False, stream=True)
            with response:
                if response.status_code != 200:
                    raise discovery_failed(f"{what}: HTTP {response.status_code}")
                return _read_json(response, what)
    except requests.RequestException as exc:
        raise discovery_failed(f"{what}: {type(exc).__name__}") from None
    except SmartError as exc:
        if exc.code == "discovery-failed":
            raise
        raise discovery_failed(f"{what}: {exc.message}") from None


def fetch_smart_configuration(iss: str, config: ServiceConfig,
                              allowlist: FhirAllowlist) -> SmartConfiguration:
    url = iss.rstrip("/") + "/.well-known/smart-configuration"
    try:
        allowlist.check(url)
    except ServerNotAllowed as exc:
        raise discovery_failed(f"discovery URL refused: {exc}") from None
    document = get_json(url, config, "SMART configuration")
    if not isinstance(document, dict):
        raise discovery_failed("the SMART configuration is not a JSON object")
    methods = document.get("code_challenge_methods_supported")
    if methods is not None:
        if not isinstance(methods, list) or "S256" not in methods:
            raise discovery_failed("no PKCE S256 in code_challenge_methods_supported")
        methods = tuple(str(m) for m in methods)
    capabilities = document.get("capabilities")
    issuer = document.get("issuer")
    jwks_uri = document.get("jwks_uri")
    return SmartConfiguration(
        authorization_endpoint=_check_endpoint(document.get("authorization_endpoint"),
                                               "authorization endpoint", allowlist),
        token_endpoint=_check_endpoint(document.get("token_endpoint"), "token endpoint",
                                       allowlist),
        capabilities=tuple(str(c) for c in capabilities) if isinstance(capabilities, list) else (),
        code_challenge_methods=methods,
        issuer=issuer if isinstance(issuer, str) and 0 < len(issuer) <= 2048 else None,
        jwks_uri=(_check_endpoint(jwks_uri, "jwks_uri", allowlist)
                  if jwks_uri is not None else None),
    )


def requested_scope(configured: str, mode: str, capabilities: tuple[str, ...]) -> str:
    """The configured scopes, with `launch` or `launch/patient` as the launch mode needs, and
    SMART v1 `.read` scopes for a server that declares only permission-v1."""
    scopes = [s for s in configured.split() if s]
    scopes = [s for s in scopes if s not in ("launch", "launch/patient")]
    scopes.insert(0, "launch" if mode == "ehr" else "launch/patient")
    if "permission-v1" in capabilities and "permission-v2" not in capabilities:
        scopes = [_v1(s) for s in scopes]
    return " ".join(dict.fromkeys(scopes))


def _v1(scope: str) -> str:
    match = re.match(r"^(patient|user|system)/([^.]+)\.([cruds]+)$", scope)
    if not match:
        return scope
    context, resource, perms = match.groups()
    if set(perms) <= {"r", "s"}:
        return f"{context}/{resource}.read"
    return f"{context}/{resource}.*"


def grants_patient_read(scope: str) -> bool:
    return any(PATIENT_READ_SCOPE.match(s) for s in scope.split())


def assessment_date_from(app_context: Any) -> str | None:
    """The card's appContext: a JSON string (or object) with `assessmentDate`; ignored otherwise."""
    if isinstance(app_context, str):
        try:
            app_context = json.loads(app_context)
        except (ValueError, RecursionError):
            return None
    if not isinstance(app_context, dict):
        return None
    view = app_context.get("view")
    if view is not None and view != "salvage-plan":
        return None
    value = app_context.get("assessmentDate")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value).isoformat() if len(value) == 10 else None
    except ValueError:
        return None


# -- routes ----------------------------------------------------------------------------------------
def _start_page() -> Any:
    config = _parts().config
    g.smart_form_targets = form_targets(config)
    return render_template("smart_start.html", configured=bool(config.smart_issuer_allowlist))


@bp.get("/")
def start() -> Any:
    return _start_page()


def checked_issuer(iss: str, parts: AppParts) -> str:
    """The launch's `iss`, refused before any request unless it is on both allowlists."""
    try:
        if "?" in iss or "#" in iss:
            raise ServerNotAllowed("a FHIR base URL has no query or fragment")
        smart_allowlist(parts.config).check(iss)
        parts.allowlist.check(iss)
    except ServerNotAllowed as exc:
        raise SmartError(403, "This FHIR server is not allowed",
                         f"The launch names a FHIR server this app may not contact: {exc}.",
                         advice="Ask the service's operators to add the EHR's FHIR server to "
                                "SALVAGE_CDS_SMART_ISSUER_ALLOWLIST (and "
                                "SALVAGE_CDS_FHIR_ALLOWLIST).", code="server-not-allowed") from None
    return iss.rstrip("/")


@bp.get("/launch")
def launch() -> Any:
    parts = _parts()
    config = parts.config
    iss = _param("iss")
    launch_token = _param("launch")
    if iss is None:
        if launch_token is not None:
            raise SmartError(400, "Incomplete launch request",
                             "The EHR launch carries no 'iss' (FHIR server) parameter.",
                             code="missing-parameter")
        return _start_page()
    iss = checked_issuer(iss, parts)
    smart = fetch_smart_configuration(iss, config, smart_allowlist(config))
    mode = "ehr" if launch_token is not None else "standalone"
    scope = requested_scope(config.smart_scopes, mode, smart.capabilities)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(24) if "openid" in scope.split() else None
    verifier = pkce_verifier()
    callback = redirect_uri(config)
    _store().save_launch(state, PendingLaunch(
        fhir_base=iss, token_endpoint=smart.token_endpoint, code_verifier=verifier,
        redirect_uri=callback, scope=scope, mode=mode, nonce=nonce, issuer=smart.issuer,
        jwks_uri=smart.jwks_uri))
    extra = {"aud": iss}
    if nonce is not None:
        extra["nonce"] = nonce
    if launch_token is not None:
        extra["launch"] = launch_token
    with oauth_client(config) as client:
        target, _ = client.create_authorization_url(
            smart.authorization_endpoint, state=state, code_verifier=verifier, scope=scope,
            **extra)
    log.info("smart launch: redirecting to the authorization server", extra={"mode": mode})
    response = redirect(target, 302)
    response.set_cookie(LAUNCH_COOKIE, _store().sign_state(state), max_age=LAUNCH_TTL_S,
                        path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=_cookie_secure(config))
    return response


def authorization_error(error: str, state_ok: bool) -> SmartError:
    """The authorization server's `error` on the callback. Its code and description are shown
    only when the state is valid: otherwise anyone could put text on this page."""
    if not state_ok:
        return SmartError(400, "Sign-in failed",
                          "The sign-in response reports an error, but it does not belong to a "
                          "launch started in this browser, so its text is not shown.",
                          code="authorize-error-bad-state")
    code = error if ERROR_CODE.match(error) else "error"
    raw = request.args.get("error_description") or ""
    description = re.sub(r"[^\w .,;:()'/-]", "", raw)[:300].strip()
    detail = f" ({description})" if description else ""
    if code == "access_denied":
        return SmartError(403, "Access was not granted",
                          "The EHR's authorization server reports that access to the patient's "
                          "record was declined, so no plan can be shown." + detail,
                          advice="Launch the app again and approve access, or ask the EHR's "
                                 "administrators for the permission.", code="access-denied")
    return SmartError(400, "Sign-in failed",
                      f"The authorization server returned the error '{code}'.{detail}",
                      code="authorize-error")


@bp.get("/callback")
def callback() -> Any:
    parts = _parts()
    config = parts.config
    store = _store()
    state = _param("state")
    error = _param("error")
    cookie_state = store.unsign_state(request.cookies.get(LAUNCH_COOKIE))
    state_ok = (state is not None and cookie_state is not None
                and hmac.compare_digest(cookie_state.encode(), state.encode()))
    pending = store.take_launch(state) if state_ok and state else None

    if error is not None:
        raise authorization_error(error, state_ok and pending is not None)
    if state is None:
        raise SmartError(400, "Invalid sign-in response",
                         "The response from the authorization server has no 'state'.",
                         code="missing-state")
    if not state_ok:
        raise SmartError(400, "This sign-in does not belong to this browser",
                         "The sign-in response does not match a launch started in this browser "
                         "(the 'state' is unknown or the launch cookie is missing). This can "
                         "happen when the launch was started in another window or took too long.",
                         code="bad-state")
    if pending is None:
        raise SmartError(400, "This launch has expired",
                         "The launch is older than 10 minutes or its sign-in response was already "
                         "used.", code="launch-expired")
    code_value = _param("code", required=True)
    assert code_value is not None
    token = exchange_code(pending, code_value, config)
    session_values = validate_token_response(token, pending)
    if token.get("id_token") is not None:
        verify_id_token(token["id_token"], pending, config)
    session_id = store.create_session(**session_values)
    log.info("smart launch: signed in", extra={"mode": pending.mode})
    response = redirect(f"/smart/plan/{session_handle(session_id)}", 303)
    response.delete_cookie(LAUNCH_COOKIE, path=COOKIE_PATH)
    kept = [session_id, *browser_sessions()]
    for dropped in kept[MAX_BROWSER_SESSIONS:]:
        store.delete_session(dropped)  # the oldest launches of this browser are forgotten
    _set_session_cookie(response, kept[:MAX_BROWSER_SESSIONS], config)
    return response


def browser_sessions() -> list[str]:
    """The session ids of this browser's launches, newest first (from its signed cookie)."""
    return _store().unsign_session_ids(request.cookies.get(SESSION_COOKIE))


def _set_session_cookie(response: Response, session_ids: list[str], config: ServiceConfig) -> None:
    if not session_ids:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return
    response.set_cookie(SESSION_COOKIE, _store().sign_session_ids(session_ids),
                        max_age=MAX_SESSION_COOKIE_S, path=COOKIE_PATH, httponly=True,
                        samesite="Lax", secure=_cookie_secure(config))


def token_ttl(token: dict[str, Any]) -> int:
    value = token.get("expires_in")
    try:
        ttl = int(value) if value is not None and not isinstance(value, bool) else 3600
    except (TypeError, ValueError):
        ttl = 3600
    return ttl if ttl > 0 else 3600


def exchange_code(pending: PendingLaunch, code: str, config: ServiceConfig) -> dict[str, Any]:
    """The code and the PKCE verifier for a token, through Authlib's client. The response is read
    here first (size cap, JSON object, status), as before Authlib parses it."""
    unreachable = SmartError(502, "The authorization server cannot be reached",
                             "The sign-in could not be completed: the token endpoint did not "
                             "answer.", code="token-unreachable")
    try:
        # Re-checked here: the code and the PKCE verifier go only to an allowlisted endpoint.
        smart_allowlist(config).check(pending.token_endpoint)
    except ServerNotAllowed as exc:
        log.info("smart token endpoint refused: %s", exc)
        raise SmartError(502, "Sign-in failed", "The authorization server's token endpoint is not "
                         "on this app's allowlist.", code="token-endpoint-refused") from None
    try:
        with oauth_client(config) as client:
            client.register_compliance_hook("access_token_response", _checked_token_response)
            token = client.fetch_token(
                pending.token_endpoint, grant_type="authorization_code", code=code,
                code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri,
                timeout=(config.fhir_connect_timeout_s, config.fhir_read_timeout_s),
                allow_redirects=False, stream=True)
    except requests.RequestException:
        raise unreachable from None
    except OAuthError as exc:  # not reached: _checked_token_response refuses errors first
        raise SmartError(400, "Sign-in failed", "The authorization server refused to issue an "
                         "access token.", code="token-refused") from exc
    return dict(token)


def _checked_token_response(response: requests.Response) -> requests.Response:
    with response:
        body = _read_json(response, "token response")
        status = response.status_code
    if status != 200 or not isinstance(body, dict):
        reason = body.get("error") if isinstance(body, dict) else None
        reason = reason if isinstance(reason, str) and ERROR_CODE.match(reason) else str(status)
        raise SmartError(400 if 400 <= status < 500 else 502, "Sign-in failed",
                         f"The authorization server refused to issue an access token ({reason}).",
                         code="token-refused")
    response._content = json.dumps(body).encode()  # what Authlib parses: the checked body
    return response


def verify_id_token(id_token: Any, pending: PendingLaunch, config: ServiceConfig) -> dict[str, Any]:
    """OpenID Connect: the signature (a key of the issuer's JWKS), `iss` (the discovery document's
    issuer), `aud` (this client), `exp`/`iat`, and the launch's `nonce`. Any failure ends the
    sign-in: a token response carrying a forged identity is not trusted for anything else."""
    forged = SmartError(502, "Sign-in failed",
                        "The identity token returned by the authorization server could not be "
                        "verified, so the sign-in was refused.",
                        advice="Try again; if it persists, tell the EHR's administrators.",
                        code="bad-id-token")
    if not isinstance(id_token, str) or len(id_token) > 16384:
        raise forged
    if not pending.issuer or not pending.jwks_uri:
        log.info("smart id_token: the SMART configuration names no issuer or jwks_uri")
        raise forged
    try:
        smart_allowlist(config).check(pending.jwks_uri)
        header = jwt.get_unverified_header(id_token)
        key_set = jwt.PyJWKSet.from_dict(get_json(pending.jwks_uri, config, "JWKS"))
        key = next(k for k in key_set.keys
                   if header.get("kid") is None or k.key_id == header.get("kid"))
        claims = jwt.decode(id_token, key=key, algorithms=ID_TOKEN_ALGORITHMS,
                            audience=config.smart_client_id, issuer=pending.issuer,
                            leeway=ID_TOKEN_LEEWAY_S,
                            options={"require": ["iss", "aud", "exp", "iat", "sub"]})
    except (ServerNotAllowed, jwt.PyJWTError, StopIteration, SmartError) as exc:
        log.info("smart id_token refused: %s", type(exc).__name__)
        raise forged from None
    if pending.nonce is not None and not hmac.compare_digest(
            str(claims.get("nonce", "")).encode(), pending.nonce.encode()):
        log.info("smart id_token refused: nonce mismatch")
        raise forged
    return claims


def validate_token_response(token: dict[str, Any], pending: PendingLaunch) -> dict[str, Any]:
    access_token = token.get("access_token")
    token_type = token.get("token_type")
    if not isinstance(access_token, str) or not access_token or len(access_token) > 8192:
        raise SmartError(502, "Sign-in failed", "The token response has no access token.",
                         code="bad-token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise SmartError(502, "Sign-in failed", "The token response is not a Bearer token.",
                         code="bad-token")
    scope = token.get("scope")
    granted = scope if isinstance(scope, str) and scope.strip() else pending.scope
    if not grants_patient_read(granted):
        raise SmartError(403, "Access to the patient's data was not granted",
                         f"The granted scopes ({granted[:300]}) do not allow reading the patient's "
                         "record.", advice="Launch again and approve read access to the patient's "
                                           "record.", code="insufficient-scope")
    patient = token.get("patient")
    if not isinstance(patient, str) or not FHIR_ID.match(patient):
        raise SmartError(400, "No patient selected",
                         "The EHR did not give this app a patient in context.",
                         advice="Open the app from a patient's chart.", code="no-patient")
    banner = token.get("need_patient_banner")
    return {
        "fhir_base": pending.fhir_base,
        "patient_id": patient,
        "scope": granted,
        "access_token": access_token,
        "expires_in": token_ttl(token),
        "assessment_date": assessment_date_from(token.get("appContext")),
        "need_patient_banner": banner if isinstance(banner, bool) else True,
    }


def current_session(handle: str) -> tuple[str, SmartSession]:
    """The session of the launch `handle` names, among this browser's sessions."""
    store = _store()
    expired = SmartError(401, "Your session has expired",
                         "This plan's launch has no signed-in session in this browser, or it has "
                         "expired.", advice="Open the plan again from the patient's chart in the "
                                            "EHR.", code="no-session")
    if not HANDLE.match(handle):
        raise expired
    for session_id in browser_sessions():
        if hmac.compare_digest(session_handle(session_id), handle):
            session = store.load_session(session_id)
            if session is None:
                raise expired
            return session_id, session
    raise expired


@bp.get("/plan")
def plan_without_launch() -> Any:
    raise SmartError(404, "This address names no launch",
                     "Each launch of the app has its own plan address (/smart/plan/…), so that "
                     "two tabs never show each other's patient. This address names none.",
                     code="no-launch")


@bp.get("/plan/<handle>")
def plan(handle: str) -> Any:
    parts = _parts()
    session_id, session = current_session(handle)
    try:
        data = fetch_patient_data(parts.config, parts.allowlist, session.fhir_base,
                                  session.access_token, session.patient_id)
    except ServerNotAllowed as exc:
        raise SmartError(403, "This FHIR server is no longer allowed", str(exc),
                         code="server-not-allowed") from None
    except PatientDataError as exc:
        raise patient_data_error(exc, session_id) from None
    on = date.fromisoformat(session.assessment_date) if session.assessment_date \
        else assessment_date_at(datetime.now(UTC))
    page = build_plan_page(data, patient_id=session.patient_id, on=on,
                           fhir_base=session.fhir_base, config=parts.config,
                           need_patient_banner=session.need_patient_banner)
    return render_template("smart_plan.html", page=page, handle=handle)


def patient_data_error(exc: Any, session_id: str) -> SmartError:
    """The page for a failed read of the patient's data, naming the actual cause."""
    if exc.kind == "auth":
        _store().delete_session(session_id)
        return SmartError(401, "Your session has expired",
                          f"The FHIR server no longer accepts this app's access ({exc}).",
                          code="token-rejected")
    if exc.kind == "not-found":
        return SmartError(404, "Patient not found", f"{str(exc).capitalize()}.",
                          code="patient-not-found")
    if exc.kind == "unreachable":
        return SmartError(502, "The EHR's FHIR server cannot be reached",
                          f"The patient's data could not be read ({exc}).",
                          advice="Try again in a moment; if it persists, tell the EHR's "
                                 "administrators.", code="fhir-unreachable")
    return SmartError(502, "The EHR's FHIR server could not give the patient's data",
                      f"The FHIR server answered, but the patient's data could not be read "
                      f"({exc}).", advice="Try again in a moment; if it persists, tell the EHR's "
                                          "administrators.", code="fhir-failed")


@bp.post("/logout")
def logout() -> Any:
    """Forget one launch (the form names its plan) or, without one, every launch of the browser."""
    store = _store()
    handle = request.form.get("plan", "")
    sessions = browser_sessions()
    ended = [s for s in sessions if not handle or hmac.compare_digest(session_handle(s), handle)]
    for session_id in ended:
        store.delete_session(session_id)
    body, status = _message_page(200, "Signed out",
                                 "The app's session and its access token were deleted.",
                                 "Open the plan again from the patient's chart when needed.")
    response = current_app.make_response((body, status))
    _set_session_cookie(response, [s for s in sessions if s not in ended], _parts().config)
    return response
