"""SMART App Launch: EHR and standalone launch, callback checks, server-side session, error pages.

The service runs in-process (Flask test client); the authorization server is the Authlib fixture
on a loopback port, so discovery, the token exchange and the FHIR reads are real HTTP.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from cds_service.smart import launch as launch_module
from cds_service.smart import session_store
from cds_service.smart.launch import LAUNCH_COOKIE, SESSION_COOKIE
from tests.smart.conftest import Browser
from tests.support.smart_auth_server import SmartAuthServer, launch_url, query_of
from tests.support.synthetic_patients import patient_id

PID = patient_id("progressive-after-srs-in-field")


def start(browser: Browser, auth: SmartAuthServer, launch: str | None = "auto", **kw: Any):
    if launch == "auto":
        launch = auth.register_launch(PID, **kw)
    return browser.get(launch_url("", auth.fhir_base, launch))


def cookie(client: Any, name: str) -> Any:
    return client.get_cookie(name, domain="localhost", path="/smart")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def set_issuers(app: Any, monkeypatch: Any, *prefixes: str) -> None:
    """Run the app with another SMART issuer allowlist."""
    services = app.extensions["salvage_cds"]
    config = services.config.replace(smart_issuer_allowlist=prefixes)
    monkeypatch.setitem(app.extensions, "salvage_cds", dataclasses.replace(services, config=config))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sign_in(browser: Browser, auth: SmartAuthServer, **kw: Any):
    """Launch, approve, call back; return the callback's response (a 303 to the plan)."""
    first = start(browser, auth, **kw)
    assert first.status == 302, first.body
    approved = browser.get(first.location)
    assert approved.status == 302, approved.body
    return browser.get(approved.location)


def assert_page(hop: Any, status: int, *phrases: str) -> None:
    assert hop.status == status, hop.body[:500]
    assert hop.headers["Content-Type"].startswith("text/html")
    assert "Traceback" not in hop.body and 'File "' not in hop.body
    for phrase in phrases:
        assert phrase in hop.body, phrase


# -- launch ---------------------------------------------------------------------------------------
def test_ehr_launch_redirects_to_authorize_with_pkce_state_aud_and_scopes(browser, auth_server):
    launch = auth_server.register_launch(PID)
    hop = browser.get(launch_url("", auth_server.fhir_base, launch))
    assert hop.status == 302
    assert hop.location.startswith(auth_server.base_url + "/authorize?")
    params = query_of(hop.location)
    assert params["response_type"] == "code"
    assert params["client_id"] == "salvage-cds"
    assert params["redirect_uri"] == "http://localhost/smart/callback"
    assert params["aud"] == auth_server.fhir_base
    assert params["launch"] == launch
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert params["scope"].split() == ["launch", "openid", "fhirUser", "patient/*.rs"]
    launch_cookie = cookie(browser.client, LAUNCH_COOKIE)
    assert launch_cookie is not None and launch_cookie.http_only
    assert launch_cookie.same_site == "Lax"
    assert launch_cookie.value != params["state"]  # signed
    assert "Set-Cookie" in hop.headers and "HttpOnly" in hop.headers["Set-Cookie"]


def test_full_ehr_flow_keeps_the_token_server_side(browser, auth_server, app):
    callback = sign_in(browser, auth_server)
    assert callback.status == 303
    assert re.fullmatch(r"/smart/plan/[0-9a-f]{32}", callback.location)
    assert urlsplit(callback.location).query == ""

    # PKCE: the verifier sent to the token endpoint matches the challenge sent to authorize.
    authorize = auth_server.authorize_requests[-1]
    token_request = auth_server.token_requests[-1]
    assert s256(token_request["code_verifier"]) == authorize["code_challenge"]
    assert token_request["redirect_uri"] == "http://localhost/smart/callback"
    assert token_request["grant_type"] == "authorization_code"

    access_token = next(iter(auth_server.tokens))
    session_cookie = cookie(browser.client, SESSION_COOKIE)
    assert session_cookie is not None and session_cookie.http_only
    assert session_cookie.same_site == "Lax" and session_cookie.path == "/smart"
    assert cookie(browser.client, LAUNCH_COOKIE) is None  # the launch cookie is spent
    for hop in browser.hops:
        assert access_token not in hop.body
        assert access_token not in (hop.location or "")
        assert all(access_token not in value for value in hop.headers.values())
    assert access_token not in session_cookie.value

    # At rest: one session row, the token only as ciphertext, the launch row deleted.
    store = app.extensions["salvage_cds_smart"]
    assert store.count() == {"launches": 0, "sessions": 1}
    with store.engine.connect() as conn:
        row = conn.execute(select(session_store.sessions_table)).one()
    assert access_token not in row.token_ciphertext
    assert row.patient_id == PID
    assert session_cookie.value not in row.id_hash


def test_the_access_token_and_code_never_reach_the_logs(browser, auth_server, caplog):
    caplog.set_level(logging.DEBUG)
    sign_in(browser, auth_server)
    code = query_of(browser.hops[1].location)["code"]
    access_token = next(iter(auth_server.tokens))
    # The service's records (the fixture's own Authlib/werkzeug logs are the EHR side's business).
    records = [r for r in caplog.records if not r.name.startswith(("authlib", "werkzeug"))]
    assert any(r.name == "salvage_cds.smart" for r in records)
    text = "\n".join(r.getMessage() + repr(r.__dict__) for r in records)
    assert access_token not in text
    assert code not in text


def test_standalone_launch_asks_for_a_patient_and_works(browser, auth_server):
    auth_server.standalone_patient = PID
    first = start(browser, auth_server, launch=None)
    assert first.status == 302
    params = query_of(first.location)
    assert "launch" not in params
    assert params["scope"].split()[0] == "launch/patient"
    assert "launch" not in params["scope"].split()
    approved = browser.get(first.location)
    callback = browser.get(approved.location)
    assert callback.status == 303 and callback.location.startswith("/smart/plan/")


def test_start_page_without_parameters(browser):
    hop = browser.get("/smart/launch")
    assert_page(hop, 200, "Standalone launch", 'name="iss"')
    assert_page(browser.get("/smart/"), 200, "Standalone launch")


def test_smart_v1_server_gets_v1_scopes(browser, auth_server):
    auth_server.discovery_overrides = {"capabilities": ["launch-ehr", "client-public",
                                                        "permission-v1"]}
    auth_server.granted_scope = "launch openid fhirUser patient/*.read"
    first = start(browser, auth_server)
    assert "patient/*.read" in query_of(first.location)["scope"].split()
    callback = browser.get(browser.get(first.location).location)
    assert callback.status == 303


def test_configured_scopes_are_used(tmp_path, auth_server):
    from cds_service.config import ServiceConfig
    from cds_service.web.app import create_app

    config = ServiceConfig(database_url=f"sqlite:///{tmp_path / 's.sqlite3'}",
                           auth_required=False, public_base_url="http://localhost",
                           smart_scopes="launch openid patient/Patient.rs patient/Observation.rs",
                           smart_client_id="other-client",
                           smart_issuer_allowlist=(auth_server.base_url,))
    app = create_app(config)
    try:
        hop = Browser(app.test_client()).get(
            launch_url("", auth_server.fhir_base, auth_server.register_launch(PID)))
        params = query_of(hop.location)
        assert params["scope"] == "launch openid patient/Patient.rs patient/Observation.rs"
        assert params["client_id"] == "other-client"
    finally:
        app.extensions["salvage_cds"].feedback.close()


# -- launch errors ----------------------------------------------------------------------------------
def test_iss_not_on_the_allowlist_is_refused_before_any_request(browser, auth_server):
    hop = browser.get(launch_url("", "https://ehr.example.org/fhir", "abc"))
    assert_page(hop, 403, "This FHIR server is not allowed", "allowlist")
    assert cookie(browser.client, LAUNCH_COOKIE) is None


def test_iss_with_a_query_is_refused(browser, auth_server):
    hop = browser.get(launch_url("", auth_server.fhir_base + "?x=1", "abc"))
    assert_page(hop, 403, "no query or fragment")


def test_ehr_launch_without_iss(browser):
    assert_page(browser.get("/smart/launch?launch=abc"), 400, "no &#39;iss&#39;")


def test_unreachable_fhir_server_gives_a_clear_page(browser, app, monkeypatch):
    port = closed_port()
    set_issuers(app, monkeypatch, f"http://127.0.0.1:{port}")
    hop = browser.get(launch_url("", f"http://127.0.0.1:{port}/fhir", "abc"))
    assert_page(hop, 502, "The SMART launch could not start")


def test_server_without_s256_is_refused(browser, auth_server, caplog):
    auth_server.discovery_overrides = {"code_challenge_methods_supported": ["plain"]}
    assert_page(start(browser, auth_server), 502, "could not be read or used")
    assert "PKCE" in caplog.text  # the cause is for the operators' log


def test_discovery_with_an_insecure_remote_endpoint_is_refused(browser, auth_server):
    auth_server.discovery_overrides = {"token_endpoint": "http://auth.example.org/token"}
    assert_page(start(browser, auth_server), 502, "could not be read or used")


# -- callback errors -------------------------------------------------------------------------------
def test_denied_consent(browser, auth_server, app):
    first = start(browser, auth_server, deny=True)
    denied = browser.get(first.location)
    assert denied.status == 302 and "error=access_denied" in denied.location
    page = browser.get(denied.location)
    assert_page(page, 403, "Access was not granted")
    assert app.extensions["salvage_cds_smart"].count()["launches"] == 0  # consumed
    assert cookie(browser.client, SESSION_COOKIE) is None


def test_bad_state_is_refused(browser, auth_server):
    first = start(browser, auth_server)
    approved = browser.get(first.location)
    tampered = approved.location.replace("state=", "state=x")
    assert_page(browser.get(tampered), 400, "does not belong to this browser")
    assert auth_server.token_requests == []


def test_callback_without_the_launch_cookie_is_refused(browser, auth_server):
    first = start(browser, auth_server)
    approved = browser.get(first.location)
    browser.client.delete_cookie(LAUNCH_COOKIE, domain="localhost", path="/smart")
    assert_page(browser.get(approved.location), 400, "does not belong to this browser")
    assert auth_server.token_requests == []


def test_callback_is_one_time(browser, auth_server):
    first = start(browser, auth_server)
    approved = browser.get(first.location)
    launch_cookie = cookie(browser.client, LAUNCH_COOKIE).value
    assert browser.get(approved.location).status == 303
    browser.client.set_cookie(LAUNCH_COOKIE, launch_cookie, domain="localhost", path="/smart")
    assert_page(browser.get(approved.location), 400, "expired")
    assert len(auth_server.token_requests) == 1


def test_expired_launch(browser, auth_server, monkeypatch):
    first = start(browser, auth_server)
    approved = browser.get(first.location)
    real_time = session_store.time.time
    monkeypatch.setattr(session_store.time, "time", lambda: real_time() + 601)
    assert_page(browser.get(approved.location), 400, "This launch has expired")


def test_missing_state_and_code(browser, auth_server):
    assert_page(browser.get("/smart/callback?code=abc"), 400, "no &#39;state&#39;")
    first = start(browser, auth_server)
    state = query_of(first.location)["state"]
    assert_page(browser.get(f"/smart/callback?state={state}"), 400, "no &#39;code&#39;")


def test_token_endpoint_refusal(browser, auth_server):
    auth_server.token_error = "invalid_grant"
    first = start(browser, auth_server)
    page = browser.get(browser.get(first.location).location)
    assert_page(page, 400, "Sign-in failed", "invalid_grant")


def test_token_without_patient(browser, auth_server):
    auth_server.omit_patient = True
    page = browser.get(browser.get(start(browser, auth_server).location).location)
    assert_page(page, 400, "No patient selected")


def test_token_without_patient_read_scope(browser, auth_server):
    auth_server.granted_scope = "launch openid fhirUser"
    page = browser.get(browser.get(start(browser, auth_server).location).location)
    assert_page(page, 403, "was not granted")


def test_token_endpoint_unreachable(browser, auth_server, app, monkeypatch):
    port = closed_port()
    set_issuers(app, monkeypatch, auth_server.base_url, f"http://127.0.0.1:{port}")
    auth_server.discovery_overrides = {"token_endpoint": f"http://127.0.0.1:{port}/token"}
    page = browser.get(browser.get(start(browser, auth_server).location).location)
    assert_page(page, 502, "The authorization server cannot be reached")


# -- sessions ---------------------------------------------------------------------------------------
def test_plan_without_a_session(browser):
    assert_page(browser.get("/smart/plan/" + "0" * 32), 401, "Your session has expired")
    assert_page(browser.get("/smart/plan"), 404, "This address names no launch")


def test_plan_with_a_forged_cookie(browser):
    browser.client.set_cookie(SESSION_COOKIE, "forged.value", domain="localhost", path="/smart")
    assert_page(browser.get("/smart/plan/" + "0" * 32), 401, "Your session has expired")


def test_expired_session(browser, auth_server, monkeypatch):
    plan_url = sign_in(browser, auth_server).location
    real_time = session_store.time.time
    monkeypatch.setattr(session_store.time, "time", lambda: real_time() + 3601)
    assert_page(browser.get(plan_url), 401, "Your session has expired")


def test_each_sign_in_has_its_own_session_and_plan_url(browser, auth_server, app):
    first = sign_in(browser, auth_server).location
    second = sign_in(browser, auth_server).location
    assert first != second
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 2
    assert browser.get(first).status == 200 and browser.get(second).status == 200


def test_the_plan_url_alone_opens_nothing(browser, auth_server, app):
    plan_url = sign_in(browser, auth_server).location
    other = Browser(app.test_client())  # another browser: no session cookie
    assert_page(other.get(plan_url), 401, "Your session has expired")


def test_a_browser_keeps_at_most_eight_launches(browser, auth_server, app):
    urls = [sign_in(browser, auth_server).location for _ in range(9)]
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 8
    assert_page(browser.get(urls[0]), 401)
    assert browser.get(urls[-1]).status == 200


def test_logout_deletes_the_session(browser, auth_server, app):
    kept = sign_in(browser, auth_server).location
    plan_url = sign_in(browser, auth_server).location
    response = browser.client.post("/smart/logout", data={"plan": plan_url.rsplit("/", 1)[1]})
    assert response.status_code == 200
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 1
    assert_page(browser.get(plan_url), 401)
    assert browser.get(kept).status == 200
    browser.client.post("/smart/logout")
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 0


def test_security_headers(browser):
    hop = browser.get("/smart/")
    assert hop.headers["Cache-Control"] == "no-store"
    assert hop.headers["Referrer-Policy"] == "no-referrer"
    csp = hop.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in hop.body


def test_unexpected_error_renders_a_page_without_details(browser, auth_server, monkeypatch):
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals /srv/app.py line 12")

    monkeypatch.setattr(launch_module, "build_plan_page", boom)
    page = browser.get(sign_in(browser, auth_server).location)
    assert_page(page, 500, "The plan could not be shown")
    assert "secret internals" not in page.body


# -- pure helpers ----------------------------------------------------------------------------------
def test_pkce_verifier():
    verifier = launch_module.pkce_verifier()
    assert 43 <= len(verifier) <= 128 and verifier.isalnum()
    assert launch_module.pkce_verifier() != verifier


@pytest.mark.parametrize(("scope", "ok"), [
    ("launch openid patient/*.rs", True),
    ("patient/*.read", True),
    ("patient/Observation.rs patient/Patient.r", True),
    ("patient/*.cruds", True),
    ("patient/*.*", True),
    ("patient/*.s", False),
    ("user/*.rs openid", False),
    ("launch openid fhirUser", False),
])
def test_grants_patient_read(scope, ok):
    assert launch_module.grants_patient_read(scope) is ok


def test_requested_scope():
    assert launch_module.requested_scope("launch openid fhirUser patient/*.rs", "ehr", ()) == \
        "launch openid fhirUser patient/*.rs"
    assert launch_module.requested_scope("launch openid fhirUser patient/*.rs", "standalone",
                                         ()) == "launch/patient openid fhirUser patient/*.rs"
    assert launch_module.requested_scope("openid patient/*.rs", "ehr", ("permission-v1",)) == \
        "launch openid patient/*.read"


@pytest.mark.parametrize(("value", "expected"), [
    ('{"view":"salvage-plan","assessmentDate":"2024-02-10","hookInstance":"x"}', "2024-02-10"),
    ({"view": "salvage-plan", "assessmentDate": "2024-02-10"}, "2024-02-10"),
    ('{"assessmentDate":"2024-02-10"}', "2024-02-10"),
    ('{"view":"other","assessmentDate":"2024-02-10"}', None),
    ('{"view":"salvage-plan","assessmentDate":"2024-13-40"}', None),
    ('{"view":"salvage-plan","assessmentDate":"2024-02-10T10:00:00Z"}', None),
    ("not json", None),
    (None, None),
    ("[1, 2]", None),
])
def test_assessment_date_from_app_context(value, expected):
    assert launch_module.assessment_date_from(value) == expected


def test_redirect_uri_query_is_not_used_for_tokens(browser, auth_server):
    """The authorize redirect carries code and state only — never a token."""
    first = start(browser, auth_server)
    approved = browser.get(first.location)
    assert set(parse_qs(urlsplit(approved.location).query)) == {"code", "state"}
