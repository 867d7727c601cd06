"""SMART App Launch 2.x (EHR and standalone launch) for the salvage plan app.

    GET /smart/launch?iss=…&launch=…   EHR launch (standalone when `launch` is absent)
        1. `iss` must be on the FHIR allowlist (the same guard as the hooks' fhirServer).
        2. `{iss}/.well-known/smart-configuration` gives the authorize and token endpoints.
        3. A fresh `state` and PKCE verifier are stored server-side (10 min, one-time); the browser
           gets only a signed cookie with the state; it is redirected to the authorize endpoint
           with `code_challenge` (S256), `aud=iss` and the configured scopes.
    GET /smart/callback?code=…&state=…
        4. `state` must match the browser's cookie and a stored, unexpired, unused launch.
        5. The code is exchanged (with the PKCE verifier) at the token endpoint.
        6. The access token is stored server-side (encrypted, see `session_store`); the browser gets
           a signed session-id cookie and a 303 to /smart/plan. The token is never put in a URL, a
           page or a log.
    GET /smart/plan
        7. Reads the patient's data with the hooks' FHIR access layer, runs the salvage model and
           renders the plan (server-side HTML with inline SVG; no script, no external asset).
    POST /smart/logout   forgets the session.

Every failure — unknown server, consent denied, bad or reused state, expired session, unreachable
server, refused token — renders a page that says what happened and what to do; never a stack trace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Blueprint, current_app, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from cds_service.config import ServiceConfig
from cds_service.fhir.allowlist import FhirAllowlist, Origin, ServerNotAllowed
from cds_service.services import AppServices
from cds_service.smart.session_store import LAUNCH_TTL_S, PendingLaunch, SmartSession, SmartStore

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


# -- app wiring ------------------------------------------------------------------------------------
@bp.record_once
def _setup(state: Any) -> None:
    app = state.app
    services: AppServices = app.extensions["salvage_cds"]
    app.extensions[EXTENSION_KEY] = SmartStore.open(services.feedback.engine,
                                                    services.config.secret_key)


def _services() -> AppServices:
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
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'"
    )
    return response


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


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


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


def _check_endpoint(url: Any, name: str, allowlist: FhirAllowlist) -> str:
    """An endpoint named by the discovery document: absolute http(s), TLS unless loopback."""
    problem = SmartError(502, "Unusable SMART configuration",
                         f"The FHIR server's SMART configuration has no usable {name}.",
                         advice="Tell the EHR's administrators: the SMART configuration of this "
                                "FHIR server must list https authorize and token endpoints.",
                         code="bad-configuration")
    if not isinstance(url, str) or len(url) > 2048:
        raise problem
    try:
        origin = Origin.parse(url)
    except ServerNotAllowed:
        raise problem from None
    if origin.scheme != "https" and not (origin.is_loopback and allowlist.allow_insecure_loopback):
        raise problem
    return url


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    capabilities: tuple[str, ...]
    code_challenge_methods: tuple[str, ...] | None


def fetch_smart_configuration(iss: str, config: ServiceConfig,
                              allowlist: FhirAllowlist) -> SmartConfiguration:
    url = iss.rstrip("/") + "/.well-known/smart-configuration"
    unreachable = SmartError(
        502, "The EHR's FHIR server cannot be reached",
        "The SMART configuration of the FHIR server could not be read.",
        advice="Check the network connection and try again; if it persists, tell the EHR's "
               "administrators.", code="discovery-unreachable")
    try:
        allowlist.check(url)
        response = requests.get(url, headers={"Accept": "application/json"},
                                timeout=(config.fhir_connect_timeout_s, config.fhir_read_timeout_s),
                                allow_redirects=False, stream=True)
    except ServerNotAllowed:
        raise unreachable from None
    except requests.RequestException:
        raise unreachable from None
    with response:
        if response.status_code != 200:
            raise SmartError(502, "The FHIR server does not support SMART launch",
                             f"Reading its SMART configuration failed ({response.status_code}).",
                             advice="Tell the EHR's administrators.", code="discovery-failed")
        try:
            document = _read_json(response, "SMART configuration")
        except requests.RequestException:
            raise unreachable from None
    if not isinstance(document, dict):
        raise SmartError(502, "Invalid SMART configuration",
                         "The SMART configuration is not a JSON object.", code="bad-configuration")
    methods = document.get("code_challenge_methods_supported")
    if methods is not None:
        if not isinstance(methods, list) or "S256" not in methods:
            raise SmartError(502, "The FHIR server's authorization is not secure enough",
                             "Its authorization server does not support PKCE with S256, which "
                             "this app requires.", advice="Tell the EHR's administrators.",
                             code="no-pkce")
        methods = tuple(str(m) for m in methods)
    capabilities = document.get("capabilities")
    return SmartConfiguration(
        authorization_endpoint=_check_endpoint(document.get("authorization_endpoint"),
                                               "authorization endpoint", allowlist),
        token_endpoint=_check_endpoint(document.get("token_endpoint"), "token endpoint",
                                       allowlist),
        capabilities=tuple(str(c) for c in capabilities) if isinstance(capabilities, list) else (),
        code_challenge_methods=methods,
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
@bp.get("/")
def start() -> Any:
    return render_template("smart_start.html")


@bp.get("/launch")
def launch() -> Any:
    services = _services()
    config = services.config
    iss = _param("iss")
    launch_token = _param("launch")
    if iss is None:
        if launch_token is not None:
            raise SmartError(400, "Incomplete launch request",
                             "The EHR launch carries no 'iss' (FHIR server) parameter.",
                             code="missing-parameter")
        return render_template("smart_start.html")
    try:
        if "?" in iss or "#" in iss:
            raise ServerNotAllowed("a FHIR base URL has no query or fragment")
        services.allowlist.check(iss)
    except ServerNotAllowed as exc:
        raise SmartError(403, "This FHIR server is not allowed",
                         f"The launch names a FHIR server this service may not contact: {exc}.",
                         advice="Ask the service's operators to add the EHR's FHIR server to "
                                "SALVAGE_CDS_FHIR_ALLOWLIST.", code="server-not-allowed") from None
    iss = iss.rstrip("/")
    smart = fetch_smart_configuration(iss, config, services.allowlist)
    mode = "ehr" if launch_token is not None else "standalone"
    scope = requested_scope(config.smart_scopes, mode, smart.capabilities)
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    callback = redirect_uri(config)
    _store().save_launch(state, PendingLaunch(
        fhir_base=iss, token_endpoint=smart.token_endpoint, code_verifier=verifier,
        redirect_uri=callback, scope=scope, mode=mode))
    params = {
        "response_type": "code",
        "client_id": config.smart_client_id,
        "redirect_uri": callback,
        "scope": scope,
        "state": state,
        "aud": iss,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if launch_token is not None:
        params["launch"] = launch_token
    endpoint = smart.authorization_endpoint
    target = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
    log.info("smart launch: redirecting to the authorization server", extra={"mode": mode})
    response = redirect(target, 302)
    response.set_cookie(LAUNCH_COOKIE, _store().sign_state(state), max_age=LAUNCH_TTL_S,
                        path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=_cookie_secure(config))
    return response


@bp.get("/callback")
def callback() -> Any:
    services = _services()
    config = services.config
    store = _store()
    state = _param("state")
    error = _param("error")
    cookie_state = store.unsign_state(request.cookies.get(LAUNCH_COOKIE))
    state_ok = (state is not None and cookie_state is not None
                and hmac.compare_digest(cookie_state.encode(), state.encode()))
    pending = store.take_launch(state) if state_ok and state else None

    if error is not None:
        code = error if ERROR_CODE.match(error) else "error"
        description = (request.args.get("error_description") or "")[:300]
        if code == "access_denied":
            raise SmartError(403, "Access was not granted",
                             "The EHR's authorization server reports that access to the "
                             "patient's record was declined, so no plan can be shown."
                             + (f" ({description})" if description else ""),
                             advice="Launch the app again and approve access, or ask the EHR's "
                                    "administrators for the permission.", code="access-denied")
        raise SmartError(400, "Sign-in failed",
                         f"The authorization server returned the error '{code}'."
                         + (f" ({description})" if description else ""), code="authorize-error")
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
    previous = store.unsign_session_id(request.cookies.get(SESSION_COOKIE))
    if previous:
        store.delete_session(previous)  # a new sign-in replaces the browser's old session
    session_id = store.create_session(**session_values)
    log.info("smart launch: signed in", extra={"mode": pending.mode})
    response = redirect("/smart/plan", 303)
    response.delete_cookie(LAUNCH_COOKIE, path=COOKIE_PATH)
    max_age = int(max(60, min(token_ttl(token), 12 * 3600)))
    response.set_cookie(SESSION_COOKIE, store.sign_session_id(session_id), max_age=max_age,
                        path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=_cookie_secure(config))
    return response


def token_ttl(token: dict[str, Any]) -> int:
    value = token.get("expires_in")
    try:
        ttl = int(value) if value is not None and not isinstance(value, bool) else 3600
    except (TypeError, ValueError):
        ttl = 3600
    return ttl if ttl > 0 else 3600


def exchange_code(pending: PendingLaunch, code: str, config: ServiceConfig) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "client_id": config.smart_client_id,
        "code_verifier": pending.code_verifier,
    }
    try:
        response = requests.post(
            pending.token_endpoint, data=form, headers={"Accept": "application/json"},
            timeout=(config.fhir_connect_timeout_s, config.fhir_read_timeout_s),
            allow_redirects=False, stream=True)
    except requests.RequestException:
        raise SmartError(502, "The authorization server cannot be reached",
                         "The sign-in could not be completed: the token endpoint did not answer.",
                         code="token-unreachable") from None
    with response:
        try:
            body = _read_json(response, "token response")
        except requests.RequestException:
            raise SmartError(502, "The authorization server cannot be reached",
                             "The connection to the token endpoint broke.",
                             code="token-unreachable") from None
        status = response.status_code
    if status != 200 or not isinstance(body, dict):
        reason = body.get("error") if isinstance(body, dict) else None
        reason = reason if isinstance(reason, str) and ERROR_CODE.match(reason) else str(status)
        raise SmartError(400 if 400 <= status < 500 else 502, "Sign-in failed",
                         f"The authorization server refused to issue an access token ({reason}).",
                         code="token-refused")
    return body


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


def current_session() -> tuple[str, SmartSession]:
    store = _store()
    session_id = store.unsign_session_id(request.cookies.get(SESSION_COOKIE))
    session = store.load_session(session_id) if session_id else None
    if session_id is None or session is None:
        raise SmartError(401, "Your session has expired",
                         "There is no signed-in session in this browser, or it has expired.",
                         advice="Open the plan again from the patient's chart in the EHR.",
                         code="no-session")
    return session_id, session


@bp.get("/plan")
def plan() -> Any:
    from cds_service.smart.data import PatientDataError, fetch_patient_data
    from cds_service.smart.plan import build_plan_page

    services = _services()
    session_id, session = current_session()
    try:
        data = fetch_patient_data(services.config, services.allowlist, session.fhir_base,
                                  session.access_token, session.patient_id)
    except ServerNotAllowed as exc:
        raise SmartError(403, "This FHIR server is no longer allowed", str(exc),
                         code="server-not-allowed") from None
    except PatientDataError as exc:
        if exc.kind == "auth":
            _store().delete_session(session_id)
            raise SmartError(401, "Your session has expired",
                             f"The FHIR server no longer accepts this app's access ({exc}).",
                             code="token-rejected") from None
        if exc.kind == "not-found":
            raise SmartError(404, "Patient not found", f"{str(exc).capitalize()}.",
                             code="patient-not-found") from None
        raise SmartError(502, "The EHR's FHIR server cannot be reached",
                         f"The patient's data could not be read ({exc}).",
                         advice="Try again in a moment; if it persists, tell the EHR's "
                                "administrators.", code="fhir-unavailable") from None
    on = date.fromisoformat(session.assessment_date) if session.assessment_date else date.today()
    page = build_plan_page(data, patient_id=session.patient_id, on=on,
                           fhir_base=session.fhir_base, config=services.config,
                           need_patient_banner=session.need_patient_banner)
    return render_template("smart_plan.html", page=page)


@bp.post("/logout")
def logout() -> Any:
    store = _store()
    session_id = store.unsign_session_id(request.cookies.get(SESSION_COOKIE))
    if session_id:
        store.delete_session(session_id)
    body, status = _message_page(200, "Signed out",
                                 "The app's session and its access token were deleted.",
                                 "Open the plan again from the patient's chart when needed.")
    response = current_app.make_response((body, status))
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
