"""The SMART app's safety and security findings (issue 18, issue 16 items 5 and 10, issue 20 item 3).

- Missing data is never a negative finding: search tokens are percent-encoded (a proxy that
  collapses `//` changes nothing), and unread essential data is said at the top of the plan.
- SMART issuers have their own allowlist, empty by default; what was found at a refused or failing
  address is not shown.
- The token endpoint and the JWKS are held to that allowlist; no request uses ~/.netrc.
- An id_token is verified (signature, iss, aud, exp, nonce); a forged one ends the sign-in.
- Caller-supplied error text is shown only with a valid state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cds_service.config import ServiceConfig
from cds_service.smart import data as data_module
from cds_service.smart.data import encode_query, queries_for
from tests.smart.conftest import Browser
from tests.smart.test_launch_flow import (
    PID,
    assert_page,
    closed_port,
    set_issuers,
    sign_in,
    start,
)
from tests.support.proxies import CannedServer, CollapsingProxy
from tests.support.smart_auth_server import SmartAuthServer, launch_url, query_of

NO_PROGRESSION = "no progression on record"


@pytest.fixture
def system_tokens(monkeypatch: Any) -> None:
    """Observation codes searched as `http://loinc.org|code` tokens (the shape of issue 18)."""
    templates = dict(data_module.PATIENT_DATA_PREFETCH)
    head, codes_and_rest = templates["observations"].split("code=", 1)
    codes, rest = codes_and_rest.split("&", 1)
    qualified = ",".join(f"http://loinc.org|{c}" for c in codes.split(","))
    templates["observations"] = f"{head}code={qualified}&{rest}"
    monkeypatch.setattr(data_module, "PATIENT_DATA_PREFETCH", templates)


@pytest.fixture
def proxy(auth_server: SmartAuthServer, app: Any, monkeypatch: Any) -> Iterator[CollapsingProxy]:
    server = CollapsingProxy(auth_server.base_url).start()
    auth_server.other_audiences.add(server.base_url + "/fhir")
    set_issuers(app, monkeypatch, auth_server.base_url, server.base_url)
    yield server
    server.stop()


def plan_via(browser: Browser, auth: SmartAuthServer, fhir_base: str) -> str:
    launch = auth.register_launch(PID, app_context='{"assessmentDate":"2024-02-10"}')
    hop = browser.follow(launch_url("", fhir_base, launch))
    assert_page(hop, 200)
    return hop.body


def main_text(html: str) -> str:
    """The page's visible plan, without what differs per request (generated time, nonces, URLs)."""
    body = html.split("<main", 1)[1]
    body = re.sub(r"generated [0-9-]+ [0-9:]+ UTC", "", body)
    body = re.sub(r'name="plan" value="[0-9a-f]+"', "", body)
    return re.sub(r"http://127\.0\.0\.1:\d+", "", body)


# -- 1. missing data is not a finding ------------------------------------------------------------
def test_search_tokens_are_percent_encoded():
    assert encode_query("Observation?patient=p1&code=http://loinc.org|21889-1,a|b&_count=5") == \
        "Observation?patient=p1&code=http%3A%2F%2Floinc.org%7C21889-1,a%7Cb&_count=5"
    queries = queries_for("p1")
    assert queries["patient"] == "Patient/p1"
    assert all("//" not in q and "|" not in q for q in queries.values())


def test_a_proxy_collapsing_slashes_shows_the_same_plan_as_direct(browser, auth_server, proxy,
                                                                   system_tokens):
    direct = plan_via(browser, auth_server, auth_server.fhir_base)
    proxied = plan_via(browser, auth_server, proxy.base_url + "/fhir")
    assert any("loinc.org%7C" in t for t in proxy.targets)  # the searches went through it
    assert 'data-situation="local-progression-after-srs-in-field"' in proxied
    assert main_text(proxied) == main_text(direct)


def test_unread_searches_are_said_at_the_top_and_no_negative_finding_is_made(
        browser, auth_server, proxy, system_tokens, monkeypatch):
    # Unencoded tokens through the proxy: every code search comes back empty (issue 18's bug).
    monkeypatch.setattr(data_module, "encode_query", lambda query: query)
    html = plan_via(browser, auth_server, proxy.base_url + "/fhir")
    assert any("http:/loinc.org" in t for t in proxy.targets)
    assert "data-unread" in html
    top = html.split('<nav class="toc"')[0]
    assert "The data this plan needs could not be read" in top
    assert "imaging measurements and disease status (Observation): the search returned nothing" \
        in top
    assert NO_PROGRESSION not in html.lower()
    assert "never treated locally" not in html
    assert "<p>No warning.</p>" not in html
    assert "Progression cannot be assessed" in html


def test_a_failed_search_is_named_at_the_top(browser, auth_server):
    auth_server.failing_types = {"Observation"}
    html = plan_via(browser, auth_server, auth_server.fhir_base)
    top = html.split('<nav class="toc"')[0]
    assert "(Observation): the search failed" in top
    assert NO_PROGRESSION not in html.lower()


def test_a_complete_record_has_no_unread_banner(browser, auth_server):
    html = plan_via(browser, auth_server, auth_server.fhir_base)
    assert "data-unread" not in html


# -- 16.5: SMART issuers have their own allowlist ------------------------------------------------
def test_the_smart_issuer_allowlist_is_empty_by_default():
    assert ServiceConfig().smart_issuer_allowlist == ()
    assert ServiceConfig.from_env({}).smart_issuer_allowlist == ()
    parsed = ServiceConfig.from_env({"SALVAGE_CDS_SMART_ISSUER_ALLOWLIST": "https://a/fhir,"
                                                                           "https://b"})
    assert parsed.smart_issuer_allowlist == ("https://a/fhir", "https://b")


def test_by_default_no_loopback_port_is_contacted(browser, auth_server, app, monkeypatch):
    set_issuers(app, monkeypatch)  # the default: empty
    hop = browser.get(launch_url("", auth_server.fhir_base, "abc"))
    assert_page(hop, 403, "This FHIR server is not allowed", "SALVAGE_CDS_SMART_ISSUER_ALLOWLIST")
    assert auth_server.request_headers == []  # not even discovery was asked


def test_start_page_says_when_no_server_is_set_up(browser, app, monkeypatch):
    set_issuers(app, monkeypatch)
    assert_page(browser.get("/smart/"), 200, "No FHIR server is set up")


def test_error_pages_do_not_tell_closed_open_and_failing_ports_apart(browser, app, monkeypatch):
    servers = [CannedServer(500, "oops").start(), CannedServer(200, "<html>admin</html>").start(),
               CannedServer(404, '{"error":"x"}', "application/json").start()]
    bases = [s.base_url for s in servers] + [f"http://127.0.0.1:{closed_port()}"]
    set_issuers(app, monkeypatch, *bases)
    try:
        pages = [browser.get(launch_url("", base + "/fhir", "abc")) for base in bases]
    finally:
        for server in servers:
            server.stop()
    assert all(s.hits == 1 for s in servers)
    assert {p.status for p in pages} == {502}
    texts = {re.sub(r"nonce=\"[^\"]+\"", "", main_text(p.body)) for p in pages}
    assert len(texts) == 1, texts
    assert not re.search(r"\b(500|404|admin|JSON|refused|connect)\b", texts.pop())


# -- 16.10: token endpoint and JWKS on the allowlist; no ~/.netrc ----------------------------------
def test_a_token_endpoint_off_the_allowlist_is_refused_at_discovery(browser, auth_server):
    port = closed_port()
    auth_server.discovery_overrides = {"token_endpoint": f"http://127.0.0.1:{port}/token"}
    assert_page(start(browser, auth_server), 502, "The SMART launch could not start")


def test_the_code_goes_only_to_an_allowlisted_token_endpoint(browser, auth_server, app,
                                                              monkeypatch):
    first = start(browser, auth_server)
    approved = browser.get(first.location)
    set_issuers(app, monkeypatch, auth_server.fhir_base)  # /token is no longer covered
    page = browser.get(approved.location)
    assert_page(page, 502, "not on this app&#39;s allowlist")
    assert auth_server.token_requests == []


def test_no_request_sends_netrc_credentials(browser, auth_server, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login leaked password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert sign_in(browser, auth_server).status == 303
    # The app's own requests (the test's browser, which reads ~/.netrc, also calls /authorize).
    apps = [h for h in auth_server.request_headers if h["path"] != "/authorize"]
    assert {h["path"] for h in apps} == {"/fhir/.well-known/smart-configuration", "/token",
                                         "/jwks"}
    assert all("Authorization" not in h for h in apps)
    assert any("Authorization" in h for h in auth_server.request_headers)  # netrc was there


# -- 20.3: the id_token is verified ----------------------------------------------------------------
def test_the_id_token_is_verified_with_the_nonce_sent(browser, auth_server, app):
    callback = sign_in(browser, auth_server)
    assert callback.status == 303
    assert query_of(browser.hops[0].location)["nonce"]
    assert "/jwks" in {h["path"] for h in auth_server.request_headers}


@pytest.mark.parametrize("forgery", [
    {"key": "other"},
    {"claims": {"aud": "someone-else"}},
    {"claims": {"iss": "https://evil.example.org"}},
    {"claims": {"exp": 1_000_000_000, "iat": 999_999_000}},
    {"claims": {"nonce": "replayed"}},
])
def test_a_forged_id_token_ends_the_sign_in(browser, auth_server, app, forgery):
    if forgery.get("key") == "other":
        auth_server.id_token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    auth_server.id_token_claims = forgery.get("claims", {})
    page = sign_in(browser, auth_server)
    assert_page(page, 502, "could not be verified")
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 0


def test_an_id_token_without_a_jwks_uri_is_refused(browser, auth_server, app):
    auth_server.discovery_overrides = {"jwks_uri": None}
    page = sign_in(browser, auth_server)
    assert_page(page, 502, "could not be verified")
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 0


# -- 8: error pages --------------------------------------------------------------------------------
def test_caller_supplied_error_text_needs_a_valid_state(browser):
    hop = browser.get("/smart/callback?error=access_denied&error_description=Call+0800+SCAM"
                      "&state=made-up")
    assert_page(hop, 400, "Sign-in failed", "its text is not shown")
    assert "SCAM" not in hop.body and "access_denied" not in hop.body


def test_error_text_with_a_valid_state_is_shown(browser, auth_server):
    first = start(browser, auth_server)
    state = query_of(first.location)["state"]
    hop = browser.get(f"/smart/callback?error=access_denied&error_description=Clinician+declined"
                      f"&state={state}")
    assert_page(hop, 403, "Access was not granted", "(Clinician declined)")


# -- 9: the token exchange through Authlib keeps the app's checks -----------------------------------
@pytest.mark.parametrize(("status", "body", "phrase"), [
    (200, "x" * (300 * 1024), "too large"),
    (500, "<html>oops</html>", "not valid JSON"),
    (400, '{"error":"invalid_grant","error_description":"<b>no</b>"}', "(invalid_grant)"),
    (200, '{"token_type":"Bearer"}', "no access token"),
    (200, '["not", "an", "object"]', "refused to issue an access token (200)"),
])
def test_token_responses_are_checked(browser, auth_server, app, monkeypatch, status, body,
                                     phrase):
    token_server = CannedServer(status, body, "application/json").start()
    try:
        set_issuers(app, monkeypatch, auth_server.base_url, token_server.base_url)
        auth_server.discovery_overrides = {"token_endpoint": token_server.base_url + "/token"}
        page = browser.get(browser.get(start(browser, auth_server).location).location)
    finally:
        token_server.stop()
    assert page.status in (400, 502)
    assert_page(page, page.status, phrase)  # the message is the page's only <p> before advice
    assert "<b>no</b>" not in page.body
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 0


# -- 16.14: only allowlisted EHRs may frame the app -------------------------------------------------
def test_only_allowlisted_ehrs_may_frame_the_app(app, monkeypatch):
    """Clickjacking (issue 16, item 14): `frame-ancestors` names the app itself and the origins of
    the SMART issuer allowlist (the EHRs that launch it in an iframe), nothing else."""
    set_issuers(app, monkeypatch, "https://ehr.example.org/fhir", "http://127.0.0.1:*")
    response = app.test_client().get("/smart/launch")
    policy = response.headers["Content-Security-Policy"]
    ancestors = re.search(r"frame-ancestors ([^;]+)", policy).group(1).split()
    assert ancestors == ["'self'", "https://ehr.example.org:443", "http://127.0.0.1:*"]
    set_issuers(app, monkeypatch)  # the default: no EHR may frame it
    policy = app.test_client().get("/smart/launch").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "frame-ancestors 'self' " not in policy
