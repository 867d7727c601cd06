"""The trusted-clients file, and the fhirServer guard: per-client allowlists, https, no redirects,
the access token sent only to the allowlisted server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cds_service.fhir.allowlist import FhirAllowlist, ServerNotAllowed
from cds_service.security.clients import (
    ClientConfigError,
    ClientFhirAllowlist,
    ClientRegistry,
    allowlist_for,
)
from cds_service.web.app import create_app
from tests.security.conftest import BASE
from tests.support.hook_requests import hook_request
from tests.support.jwt_helpers import ISS, bearer, ec_key, jwks, token_for, write_clients_file
from tests.support.synthetic_patients import patient_id

SERVICE_PATH = "/cds-services/bcbm-salvage"
PATIENT = "progressive-after-srs-in-field"


# --- the clients file ----------------------------------------------------------------------------
def test_clients_file_format(tmp_path: Path) -> None:
    key = ec_key("k1")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "a.jwks.json").write_text(json.dumps(jwks(key)))
    path = write_clients_file(tmp_path, [
        {"name": "A", "iss": "https://a.example", "jwks_file": "keys/a.jwks.json",
         "tenant": "t-1", "algorithms": ["ES384"],
         "fhir_allowlist": ["https://fhir.a.example/r4", "http://127.0.0.1:*"]},
        {"iss": "https://b.example", "jku_allowlist": ["https://b.example/jwks.json"],
         "tenant": ["t-2", "t-3"]},
        {"iss": "https://c.example", "jwks": jwks(key)},
    ], clock_skew_seconds=30)
    registry = ClientRegistry.load(path)
    assert len(registry) == 3 and registry.clock_skew_s == 30
    a = registry.get("https://a.example")
    assert a.label == "A" and a.tenants == ("t-1",) and a.algorithms == {"ES384"}
    assert a.jwks["keys"][0]["kid"] == "k1"
    assert registry.get("https://b.example").tenants == ("t-2", "t-3")
    assert registry.get("https://b.example").fhir_allowlist is None
    assert registry.get("https://nobody.example") is None
    assert len(ClientRegistry.load(None)) == 0


@pytest.mark.parametrize("clients, problem", [
    ([{"jwks": {"keys": []}}], "iss"),
    ([{"iss": "x"}], "needs"),
    ([{"iss": "x", "jwks_file": "missing.json"}], "cannot read"),
    ([{"iss": "x", "jku_allowlist": ["http://ehr.example/jwks"]}], "https"),
    ([{"iss": "x", "jku_allowlist": ["https://u:p@ehr.example/jwks"]}], "credentials"),
    ([{"iss": "x", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}], "symmetric"),
    ([{"iss": "x", "jwks": {"keys": [{"kty": "EC", "d": "private"}]}}], "private"),
    ([{"iss": "x", "jwks": {"keys": []}, "algorithms": ["HS256"]}], "algorithms"),
    ([{"iss": "x", "jwks": {"keys": []}, "algorithms": ["none"]}], "algorithms"),
    ([{"iss": "x", "jwks": {"keys": []}, "fhir_allowlist": ["ftp://x"]}], "fhir_allowlist"),
    ([{"iss": "x", "jwks": {"keys": []}, "colour": "red"}], "unknown keys"),
    ([{"iss": "x", "jwks": {"keys": []}}, {"iss": "x", "jwks": {"keys": []}}], "duplicate"),
])
def test_bad_clients_files_stop_the_service(tmp_path: Path, clients: Any, problem: str) -> None:
    path = write_clients_file(tmp_path, clients)
    with pytest.raises(ClientConfigError, match=problem):
        ClientRegistry.load(path)


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ClientConfigError, match="cannot read"):
        ClientRegistry.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ClientConfigError, match="not valid JSON"):
        ClientRegistry.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ClientConfigError, match="clients"):
        ClientRegistry.load(tmp_path / "list.json")


# --- per-client fhirServer allowlist -------------------------------------------------------------
def test_client_allowlist_intersects_the_service_allowlist(tmp_path: Path) -> None:
    service = FhirAllowlist.from_config(("https://fhir.a.example", "https://fhir.b.example",
                                         "http://127.0.0.1:*"), True)
    path = write_clients_file(tmp_path, [
        {"iss": "a", "jwks": {"keys": []}, "fhir_allowlist": ["https://fhir.a.example/r4",
                                                            "https://fhir.c.example"]},
        {"iss": "b", "jwks": {"keys": []}},
    ])
    registry = ClientRegistry.load(path)
    a = allowlist_for(service, registry.get("a"))
    assert isinstance(a, ClientFhirAllowlist)
    a.check("https://fhir.a.example/r4/Patient")
    for refused in ("https://fhir.a.example/r5",  # on the service list, not on the client's
                    "https://fhir.b.example",     # idem
                    "https://fhir.c.example",     # on the client's list, not on the service's
                    "https://fhir.a.example.evil.com/r4",
                    "http://fhir.a.example/r4"):
        with pytest.raises(ServerNotAllowed):
            a.check(refused)
    assert allowlist_for(service, registry.get("b")) is service  # no client list: service list
    assert allowlist_for(service, None) is service


class _Recorder:
    """A loopback HTTP endpoint that records what it receives (headers included)."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None,
                 body: bytes = b"{}") -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.requests.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def recorders():
    made: list[_Recorder] = []

    def make(**kw: Any) -> _Recorder:
        made.append(_Recorder(**kw))
        return made[-1]

    yield make
    for recorder in made:
        recorder.close()


def _app_with_client_allowlist(tmp_path: Path, secure_config, key, allowlist: list[str]):
    (tmp_path / "k.jwks.json").write_text(json.dumps(jwks(key)))
    path = write_clients_file(tmp_path, [{"iss": ISS, "jwks_file": "k.jwks.json",
                                          "fhir_allowlist": allowlist}])
    return create_app(secure_config.replace(jwt_clients_file=str(path)))


def test_token_never_reaches_a_server_off_the_clients_allowlist(tmp_path, secure_config,
                                                                recorders) -> None:
    key = ec_key("guard")
    allowed, other = recorders(status=404), recorders(status=404)
    app = _app_with_client_allowlist(tmp_path, secure_config, key, [allowed.base_url])
    try:
        client = app.test_client()
        body = hook_request(patient_id(PATIENT), fhir_server=other.base_url,
                            access_token="secret-access-token")
        response = client.post(SERVICE_PATH, json=body,
                               headers=bearer(token_for(key, BASE + SERVICE_PATH)))
        assert response.status_code == 412  # required data cannot be fetched from there
        assert "allowlist" in response.get_json()["message"]
        assert other.requests == []  # not a single request, so no token either

        body = hook_request(patient_id(PATIENT), fhir_server=allowed.base_url,
                            access_token="secret-access-token")
        response = client.post(SERVICE_PATH, json=body,
                               headers=bearer(token_for(key, BASE + SERVICE_PATH)))
        assert response.status_code == 412  # the recorder answers 404 to everything
        assert allowed.requests
        assert all(r["headers"].get("Authorization") == "Bearer secret-access-token"
                   for r in allowed.requests)
    finally:
        app.extensions["salvage_cds"].feedback.close()
        app.extensions["salvage_cds"].authenticator.close()


def test_redirects_are_not_followed_so_the_token_stays_home(app_config, recorders) -> None:
    elsewhere = recorders()
    redirecting = recorders(status=302, headers={"Location": elsewhere.base_url + "/Patient/x"})
    app = create_app(app_config)
    try:
        body = hook_request(patient_id(PATIENT), fhir_server=redirecting.base_url,
                            access_token="secret-access-token")
        response = app.test_client().post(SERVICE_PATH, json=body)
        assert response.status_code == 412
        assert redirecting.requests and elsewhere.requests == []
    finally:
        app.extensions["salvage_cds"].feedback.close()


@pytest.mark.parametrize("server", [
    "https://evil.example/fhir",
    "http://example.org/fhir",              # plain http off loopback
    "file:///etc/passwd",
    "http://user:pass@127.0.0.1:1/fhir",
    "http://169.254.169.254/latest/meta-data",
    "gopher://127.0.0.1:70/",
])
def test_fhir_servers_off_the_allowlist_are_never_contacted(app_config, server) -> None:
    app = create_app(app_config)
    try:
        body = hook_request(patient_id(PATIENT), fhir_server=server, access_token="t")
        response = app.test_client().post(SERVICE_PATH, json=body)
        assert response.status_code in (400, 412)
    finally:
        app.extensions["salvage_cds"].feedback.close()


def test_insecure_loopback_needs_the_config_switch(app_config, recorders) -> None:
    target = recorders()
    app = create_app(app_config.replace(fhir_allow_insecure_loopback=False))
    try:
        body = hook_request(patient_id(PATIENT), fhir_server=target.base_url, access_token="t")
        response = app.test_client().post(SERVICE_PATH, json=body)
        assert response.status_code == 412 and "https" in response.get_json()["message"]
        assert target.requests == []
    finally:
        app.extensions["salvage_cds"].feedback.close()
