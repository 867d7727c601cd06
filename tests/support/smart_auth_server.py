"""A SMART on FHIR authorization server for the tests, built on Authlib, with a FHIR front.

`iss` is a FHIR base URL and SMART discovery lives at ``{iss}/.well-known/smart-configuration``, so
this fixture owns the FHIR origin the app is launched with:

* ``{base}/fhir/.well-known/smart-configuration`` — SMART 2.x discovery (S256 PKCE, public client,
  EHR and standalone launch, permission-v2);
* ``{base}/authorize`` — Authlib's authorization-code grant with `CodeChallenge(required=True)`;
  approval is automatic (no login page), except for launches registered with ``deny=True``;
* ``{base}/token`` — Authlib's token endpoint; the response carries the SMART launch context
  (``patient``, ``need_patient_banner``, ``appContext`` when the launch had one) and, when `openid`
  was granted, an RS256 ``id_token`` (with the authorize request's ``nonce``) whose key is at
  ``{base}/jwks``; ``id_token_claims`` / ``id_token_key`` forge one for the tests;
* ``{base}/fhir/*`` — the FHIR API, behind bearer-token checks (401 without a live token, 403 for
  another patient's data). By default it is a reverse proxy to a real FHIR server (the Medplum test
  server), so the data stay real; unit tests may pass `resources` instead, served by a tiny
  in-memory read/search (which matches ``code``/``component-code`` tokens ``system|code`` as a
  FHIR server does, so a mangled token finds nothing).

Everything it sees is recorded (`authorize_requests`, `token_requests`, `fhir_requests`) so tests
can assert on what the app sent. Faults are switched on through attributes (`token_error`,
`omit_patient`, `granted_scope`, `fhir_status`).

    server = SmartAuthServer(fhir_upstream="http://127.0.0.1:4321/fhir").start()
    launch = server.register_launch("syn-srs-in-field", app_context='{"view":"salvage-plan"}')
    ...  # GET {service}/smart/launch?iss={server.fhir_base}&launch={launch}
    server.stop()
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7636 import CodeChallenge
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length", "content-encoding"}


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log on stderr
        pass


# -- Authlib models ---------------------------------------------------------------------------------
@dataclass
class Client(ClientMixin):
    client_id: str
    redirect_uris: tuple[str, ...] = ()  # exact URIs; empty = any loopback .../smart/callback

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.redirect_uris:
            return redirect_uri in self.redirect_uris
        parts = urlsplit(redirect_uri)
        return (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
                and parts.path == "/smart/callback")

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # a public client: PKCE instead of a secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class LaunchContext:
    patient: str
    app_context: str | None = None
    need_patient_banner: bool = False
    deny: bool = False
    nonce: str | None = None  # of the authorize request (OpenID Connect)


@dataclass
class User:
    """The resource owner Authlib hands around: the clinician, with the launch's context."""

    id: str
    context: LaunchContext


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() - self.issued_at > 300


@dataclass
class IssuedToken:
    access_token: str
    patient: str
    scope: str
    expires_at: float
    revoked: bool = False


class SmartAuthServer:
    def __init__(self, *, fhir_upstream: str | None = None,
                 resources: list[dict[str, Any]] | None = None, client_id: str = "salvage-cds",
                 token_lifetime_s: int = 3600, host: str = "127.0.0.1") -> None:
        if (fhir_upstream is None) == (resources is None):
            raise ValueError("give exactly one of fhir_upstream and resources")
        self.fhir_upstream = fhir_upstream.rstrip("/") if fhir_upstream else None
        self.resources = list(resources or [])
        self.client = Client(client_id)
        self.token_lifetime_s = token_lifetime_s
        self.host = host
        self.lock = threading.Lock()
        self.launches: dict[str, LaunchContext] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.fhir_requests: list[dict[str, Any]] = []
        # Standalone launch: the patient the (automatic) patient picker chooses.
        self.standalone_patient: str | None = None
        # Faults.
        self.token_error: str | None = None  # e.g. "invalid_grant": the token endpoint refuses
        self.omit_patient = False  # token response without `patient`
        self.granted_scope: str | None = None  # override the scope granted
        self.fhir_status: int | None = None  # every FHIR call answers this status
        self.failing_types: set[str] = set()  # searches of these resource types answer 500
        self.discovery_overrides: dict[str, Any] = {}
        self.id_token_claims: dict[str, Any] = {}  # merged into the id_token (forgeries)
        self.id_token_key: Any = None  # sign with this key instead (a forger's key)
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_audiences: set[str] = set()  # `aud` values accepted besides fhir_base
        # path and headers of every request but the FHIR API's (discovery, authorize, token, JWKS)
        self.request_headers: list[dict[str, str]] = []
        self.app = self._build_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> SmartAuthServer:
        self._server = make_server(self.host, 0, self.app, threaded=True,
                                   request_handler=QuietHandler)
        self.base_url = f"http://{self.host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="smart-auth",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SmartAuthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def fhir_base(self) -> str:
        return self.base_url + "/fhir"

    # -- test controls ------------------------------------------------------------------------
    def register_launch(self, patient: str, *, app_context: str | None = None,
                        deny: bool = False, need_patient_banner: bool = False) -> str:
        """An EHR launch: the opaque `launch` value the EHR would pass to the app."""
        launch = secrets.token_urlsafe(12)
        with self.lock:
            self.launches[launch] = LaunchContext(patient, app_context, need_patient_banner, deny)
        return launch

    def revoke_all(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.revoked = True

    def reset(self) -> None:
        with self.lock:
            self.launches.clear()
            self.codes.clear()
            self.tokens.clear()
            self.authorize_requests.clear()
            self.token_requests.clear()
            self.fhir_requests.clear()
            self.request_headers.clear()
        self.standalone_patient = None
        self.id_token_claims = {}
        self.id_token_key = None
        self.other_audiences = set()
        self.token_error = None
        self.omit_patient = False
        self.granted_scope = None
        self.fhir_status = None
        self.failing_types = set()
        self.discovery_overrides = {}

    def smart_configuration(self) -> dict[str, Any]:
        document = {
            "issuer": self.base_url,
            "authorization_endpoint": self.base_url + "/authorize",
            "token_endpoint": self.base_url + "/token",
            "token_endpoint_auth_methods_supported": ["none"],
            "grant_types_supported": ["authorization_code"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "fhirUser", "launch", "launch/patient", "patient/*.rs",
                                 "patient/*.read"],
            "jwks_uri": self.base_url + "/jwks",
            "capabilities": ["launch-ehr", "launch-standalone", "client-public",
                             "context-ehr-patient", "context-standalone-patient",
                             "context-banner", "permission-v1", "permission-v2",
                             "permission-patient", "sso-openid-connect"],
        }
        document.update(self.discovery_overrides)
        return document

    # -- the Flask app ------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("smart_auth_server")
        server_ref = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                with server_ref.lock:
                    server_ref.codes[code] = AuthorizationCode(
                        code=code, client_id=req.client.client_id,
                        redirect_uri=req.payload.redirect_uri, scope=req.payload.scope or "",
                        user=req.user, code_challenge=req.payload.data.get("code_challenge"),
                        code_challenge_method=req.payload.data.get("code_challenge_method"))

            def query_authorization_code(self, code: str, client: Client) -> Any:
                with server_ref.lock:
                    item = server_ref.codes.get(code)
                if item and item.client_id == client.client_id and not item.is_expired():
                    return item
                return None

            def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
                with server_ref.lock:
                    server_ref.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
                return authorization_code.user

        def query_client(client_id: str) -> Client | None:
            return self.client if client_id == self.client.client_id else None

        def save_token(token: dict[str, Any], req: Any) -> None:
            # Authlib returns this same dict as the token response: add the SMART context here.
            context: LaunchContext = req.user.context
            scope = self.granted_scope if self.granted_scope is not None else token.get("scope", "")
            token["scope"] = scope
            if not self.omit_patient:
                token["patient"] = context.patient
            token["need_patient_banner"] = context.need_patient_banner
            if context.app_context is not None:
                token["appContext"] = context.app_context
            if "openid" in scope.split():
                token["id_token"] = self.id_token(req.user.id, context.nonce)
            with self.lock:
                self.tokens[token["access_token"]] = IssuedToken(
                    token["access_token"], context.patient, scope,
                    time.time() + int(token.get("expires_in") or self.token_lifetime_s))

        app.config.update(OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": self.token_lifetime_s})
        authorization = AuthorizationServer(app, query_client=query_client, save_token=save_token)
        authorization.register_grant(CodeGrant, [CodeChallenge(required=True)])

        @app.before_request
        def record_headers() -> None:
            if not request.path.startswith("/fhir/") or request.path.endswith("configuration"):
                with self.lock:
                    self.request_headers.append({"path": request.path, **request.headers})

        @app.get("/jwks")
        def jwks() -> Any:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.signing_key.public_key(),
                                                        as_dict=True)
            return jsonify({"keys": [{**public, "kid": "test-key", "use": "sig",
                                      "alg": "RS256"}]})

        @app.get("/fhir/.well-known/smart-configuration")
        def discovery() -> Any:
            return jsonify(self.smart_configuration())

        @app.get("/authorize")
        def authorize() -> Any:
            args = dict(request.args)
            with self.lock:
                self.authorize_requests.append(args)
            if args.get("aud", "").rstrip("/") not in {self.fhir_base, *self.other_audiences}:
                return Response("aud does not name this FHIR server", status=400)
            if args.get("code_challenge_method") != "S256":
                return Response("PKCE with S256 is required", status=400)
            scopes = (args.get("scope") or "").split()
            launch = args.get("launch")
            if launch is not None:
                with self.lock:
                    context = self.launches.get(launch)
                if context is None or "launch" not in scopes:
                    return Response("unknown launch", status=400)
            elif "launch/patient" in scopes and self.standalone_patient:
                context = LaunchContext(self.standalone_patient)
            else:
                return Response("no launch context", status=400)
            context = LaunchContext(context.patient, context.app_context,
                                    context.need_patient_banner, context.deny, args.get("nonce"))
            user = None if context.deny else User("Practitioner/dr-test", context)
            try:
                grant = authorization.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return authorization.handle_error_response(None, error)
            return authorization.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token() -> Any:
            with self.lock:
                self.token_requests.append(dict(request.form))
            if self.token_error:
                return jsonify({"error": self.token_error}), 400
            return authorization.create_token_response()

        @app.route("/fhir/<path:rest>", methods=["GET"])
        def fhir(rest: str) -> Any:
            return self._fhir(rest)

        @app.get("/fhir/")
        def fhir_root() -> Any:
            return self._fhir("")

        return app

    def id_token(self, subject: str, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.base_url, "aud": self.client.client_id, "sub": subject,
                  "fhirUser": f"{self.base_url}/fhir/{subject}", "iat": now, "exp": now + 300}
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(self.id_token_claims)
        key = self.id_token_key or self.signing_key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})

    # -- the FHIR front ------------------------------------------------------------------------
    def _fhir(self, rest: str) -> Any:
        header = request.headers.get("Authorization", "")
        record = {"path": rest, "query": request.query_string.decode(),
                  "bearer": header.startswith("Bearer ")}
        with self.lock:
            self.fhir_requests.append(record)
            issued = self.tokens.get(header.removeprefix("Bearer ").strip())
        if issued is None or issued.revoked or issued.expires_at < time.time():
            record["status"] = 401
            return _outcome(401, "login", "a valid bearer token is required")
        if self.fhir_status is not None:
            record["status"] = self.fhir_status
            return _outcome(self.fhir_status, "transient", "injected fault")
        if rest.strip("/") in self.failing_types:
            record["status"] = 500
            return _outcome(500, "exception", "injected fault")
        if not _in_compartment(rest, request.args, issued.patient):
            record["status"] = 403
            return _outcome(403, "forbidden", "outside the patient in context")
        if self.fhir_upstream is None:
            response = self._memory_fhir(rest)
        else:
            response = self._proxy(rest)
        record["status"] = response.status_code
        return response

    def _proxy(self, rest: str) -> Response:
        url = f"{self.fhir_upstream}/{rest}"
        try:
            upstream = requests.get(url, params=list(request.args.items(multi=True)),
                                    headers={"Accept": request.headers.get("Accept",
                                                                           "application/fhir+json")},
                                    timeout=30, allow_redirects=False)
        except requests.RequestException:
            return _outcome(502, "transient", "the upstream FHIR server is unreachable")
        # Links in bundles name the upstream base; rewrite them to this FHIR front.
        body = upstream.content.replace(self.fhir_upstream.encode(), self.fhir_base.encode())
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(body, status=upstream.status_code, headers=headers)

    def _memory_fhir(self, rest: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        if len(parts) == 2:
            for resource in self.resources:
                if resource.get("resourceType") == parts[0] and resource.get("id") == parts[1]:
                    return _json(200, resource)
            return _outcome(404, "not-found", f"{parts[0]}/{parts[1]} not found")
        if len(parts) != 1:
            return _outcome(400, "not-supported", "only read and search")
        patient = request.args.get("patient") or request.args.get("subject", "")
        patient = patient.removeprefix("Patient/")
        matches = [r for r in self.resources
                   if r.get("resourceType") == parts[0] and _patient_of(r) == patient
                   and _matches_tokens(r, request.args)]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                  "link": [{"relation": "self",
                            "url": f"{self.fhir_base}/{parts[0]}?{urlencode(request.args)}"}],
                  "entry": [{"fullUrl": f"{self.fhir_base}/{r['resourceType']}/{r['id']}",
                             "resource": r, "search": {"mode": "match"}} for r in matches]}
        return _json(200, bundle)


def _codings(resource: dict[str, Any], param: str) -> list[dict[str, Any]]:
    if param == "code":
        concepts = [resource.get("code")]
    else:  # component-code
        concepts = [c.get("code") for c in resource.get("component") or [] if isinstance(c, dict)]
    return [coding for concept in concepts if isinstance(concept, dict)
            for coding in concept.get("coding") or [] if isinstance(coding, dict)]


def _matches_tokens(resource: dict[str, Any], args: Any) -> bool:
    """FHIR token search on `code` / `component-code`: any of the comma-separated `system|code`
    (or bare `code`) values matches a coding."""
    for param in ("code", "component-code"):
        value = args.get(param)
        if value is None:
            continue
        wanted = [v.split("|", 1) if "|" in v else [None, v] for v in value.split(",")]
        codings = _codings(resource, param)
        if not any(c.get("code") == code and (system is None or c.get("system") == system)
                   for system, code in wanted for c in codings):
            return False
    return True


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for key in ("subject", "patient"):
        ref = (resource.get(key) or {}).get("reference") if isinstance(resource.get(key), dict) \
            else None
        if isinstance(ref, str) and ref.startswith("Patient/"):
            return ref.split("/", 1)[1]
    return None


def _in_compartment(rest: str, args: Any, patient: str) -> bool:
    parts = [p for p in rest.split("/") if p]
    if len(parts) == 2 and parts[0] == "Patient":
        return parts[1] == patient
    if len(parts) == 1:
        if parts[0] == "metadata":
            return True
        value = args.get("patient") or args.get("subject") or ""
        return value.removeprefix("Patient/") == patient
    if not parts:
        return True
    return False


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/fhir+json")


def _outcome(status: int, code: str, text: str) -> Response:
    return _json(status, {"resourceType": "OperationOutcome",
                          "issue": [{"severity": "error", "code": code, "diagnostics": text}]})


def launch_url(service_base: str, iss: str, launch: str | None = None) -> str:
    params = {"iss": iss}
    if launch is not None:
        params["launch"] = launch
    return f"{service_base.rstrip('/')}/smart/launch?{urlencode(params)}"


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))
