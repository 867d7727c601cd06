"""JWT authentication of CDS clients: what is accepted, what is refused, and how a refusal looks."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest

from cds_service.config import ServiceConfig
from cds_service.security import DevModeAuthenticator, NoClientsAuthenticator, build_authenticator
from cds_service.security.jwt_auth import JwtAuthenticator
from cds_service.web.app import create_app
from tests.security.conftest import BASE, DISCOVERY_AUD, JKU_ISS, TENANT_ISS
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.jwt_helpers import (
    ISS,
    TENANT,
    bearer,
    claims_for,
    jwks,
    sign,
    sign_raw,
    token_for,
    write_clients_file,
)
from tests.support.synthetic_patients import PATIENTS, patient_id

SERVICE_PATH = "/cds-services/bcbm-salvage"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_refused(response) -> None:
    """A bare 401: WWW-Authenticate: Bearer, one generic message, nothing about why."""
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json() == {"error": "unauthorized", "message": "authentication required"}


def discovery(client, token: str | None):
    return client.get("/cds-services", headers=bearer(token) if token else {})


# --- secure by default -------------------------------------------------------------------------
def test_auth_is_required_by_default_and_no_client_means_nobody(tmp_path) -> None:
    config = ServiceConfig(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert config.auth_required is True
    assert isinstance(build_authenticator(config), NoClientsAuthenticator)
    app = create_app(config)
    try:
        assert_refused(app.test_client().get("/cds-services"))
    finally:
        app.extensions["salvage_cds"].feedback.close()


def test_dev_mode_turns_auth_off_and_warns_on_every_request(app, client, caplog) -> None:
    assert isinstance(app.extensions["salvage_cds"].authenticator, DevModeAuthenticator)
    with caplog.at_level(logging.WARNING, logger="salvage_cds.security"):
        for _ in range(3):
            assert client.get("/cds-services").status_code == 200
    warnings = [r for r in caplog.records if "DISABLED" in r.getMessage()]
    assert len(warnings) == 3


def test_configured_clients_give_the_jwt_authenticator(secure_app) -> None:
    assert isinstance(secure_app.extensions["salvage_cds"].authenticator, JwtAuthenticator)


def test_cli_dev_flag_is_the_only_switch(monkeypatch) -> None:
    from cds_service.ops import cli

    captured = {}

    class Stop(Exception):
        pass

    def fake_create_app(config):
        captured["config"] = config
        raise Stop

    monkeypatch.setattr("cds_service.web.app.create_app", fake_create_app)
    monkeypatch.setattr("gunicorn.app.base.BaseApplication.run",
                        lambda self: self.load())
    for argv, expected in ((["serve"], True), (["serve", "--dev"], False)):
        with pytest.raises(Stop):
            cli.main(argv)
        assert captured["config"].auth_required is expected


# --- accepted tokens ---------------------------------------------------------------------------
@pytest.mark.parametrize("key_name", ["es384", "rs384", "ps256", "es256"])
def test_valid_token_with_each_asymmetric_algorithm(secure_client, keys, key_name) -> None:
    assert discovery(secure_client, token_for(keys[key_name], DISCOVERY_AUD)).status_code == 200


def test_aud_may_be_an_array_and_extra_claims_are_tolerated(secure_client, keys) -> None:
    now = int(time.time())
    token = token_for(keys["rs384"], [DISCOVERY_AUD, "https://other.example"],
                      sub="epic-client-id", nbf=now - 5, foo={"bar": 1})
    assert discovery(secure_client, token).status_code == 200


def test_service_and_feedback_calls_need_their_own_aud(secure_client, keys) -> None:
    name = "progressive-after-srs-in-field"
    body = hook_request(patient_id(name), prefetch=full_prefetch(PATIENTS[name]()))
    ok = secure_client.post(SERVICE_PATH, json=body,
                            headers=bearer(token_for(keys["es384"], BASE + SERVICE_PATH)))
    assert ok.status_code == 200
    wrong = secure_client.post(SERVICE_PATH, json=body,
                               headers=bearer(token_for(keys["es384"], DISCOVERY_AUD)))
    assert_refused(wrong)
    feedback = {"feedback": [{"card": "9c2f2b8e-4f0e-4a53-9d1a-0c7b9a6f2a11", "outcome": "overridden",
                              "outcomeTimestamp": "2024-03-01T10:00:00Z"}]}
    assert_refused(secure_client.post(FEEDBACK_PATH, json=feedback,
                                      headers=bearer(token_for(keys["es384"], BASE + SERVICE_PATH))))
    answered = secure_client.post(FEEDBACK_PATH, json=feedback,
                                  headers=bearer(token_for(keys["es384"], BASE + FEEDBACK_PATH)))
    assert answered.status_code != 401


def test_jku_on_the_allowlist_is_fetched_cached_and_refreshed_on_unknown_kid(
        secure_client, keys, jwks_server) -> None:
    jku = jwks_server.url("/jwks.json")
    token = token_for(keys["jku_es384"], DISCOVERY_AUD, iss=JKU_ISS, headers={"jku": jku})
    assert discovery(secure_client, token).status_code == 200
    token = token_for(keys["jku_es384"], DISCOVERY_AUD, iss=JKU_ISS, headers={"jku": jku})
    assert discovery(secure_client, token).status_code == 200
    assert jwks_server.hits["/jwks.json"] == 1  # cached

    # Key rotation: the client publishes a new key; its unknown kid triggers one re-fetch.
    from tests.support.jwt_helpers import ec_key

    rotated = ec_key("jku-rotated")
    jwks_server.serve_json("/jwks.json", jwks(keys["jku_es384"], rotated))
    token = token_for(rotated, DISCOVERY_AUD, iss=JKU_ISS, headers={"jku": jku})
    assert discovery(secure_client, token).status_code == 200
    assert jwks_server.hits["/jwks.json"] == 2
    # A flood of unknown kids does not hammer the key server (re-fetch at most every 30 s).
    for i in range(5):
        stranger = ec_key(f"unknown-{i}")
        assert_refused(discovery(secure_client, token_for(stranger, DISCOVERY_AUD, iss=JKU_ISS,
                                                          headers={"jku": jku})))
    assert jwks_server.hits["/jwks.json"] == 2


def test_allowlisted_jku_is_used_when_the_header_has_none(secure_client, keys, jwks_server) -> None:
    token = token_for(keys["jku_es384"], DISCOVERY_AUD, iss=JKU_ISS)
    assert discovery(secure_client, token).status_code == 200


def test_tenant_is_checked_when_configured(secure_client, keys) -> None:
    ok = token_for(keys["es384"], DISCOVERY_AUD, iss=TENANT_ISS, tenant=TENANT)
    assert discovery(secure_client, ok).status_code == 200
    assert_refused(discovery(secure_client, token_for(keys["es384"], DISCOVERY_AUD,
                                                      iss=TENANT_ISS, tenant="other")))
    assert_refused(discovery(secure_client, token_for(keys["es384"], DISCOVERY_AUD,
                                                      iss=TENANT_ISS)))


# --- refused tokens ----------------------------------------------------------------------------
def test_missing_or_malformed_authorization(secure_client) -> None:
    assert_refused(secure_client.get("/cds-services"))
    for value in ("Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer " + "a" * 9000 + ".b.c",
                  "Bearer not a token", "bearer ..", "Bearer \u00e9.\u00e9.\u00e9"):
        assert_refused(secure_client.get("/cds-services", headers={"Authorization": value}))


def test_alg_none_is_refused(secure_client, keys) -> None:
    claims = claims_for(DISCOVERY_AUD)
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'client-es384'})}.{b64(claims)}."
    assert_refused(discovery(secure_client, unsigned))
    assert_refused(discovery(secure_client, unsigned + "c2ln"))


def test_hs256_signed_with_the_public_key_is_refused(secure_client, keys) -> None:
    public_pem = keys["rs384"].private.public_key().public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization",
                            fromlist=["Encoding"]).Encoding.PEM,
        format=__import__("cryptography.hazmat.primitives.serialization",
                          fromlist=["PublicFormat"]).PublicFormat.SubjectPublicKeyInfo)
    claims = claims_for(DISCOVERY_AUD)
    header = {"alg": "HS256", "typ": "JWT", "kid": "client-rs384"}
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=").decode()
    assert_refused(discovery(secure_client, f"{signing_input.decode()}.{signature}"))


@pytest.mark.parametrize("change", [
    {"lifetime": -120},                       # expired (beyond the 60 s leeway)
    {"iat_offset": 600},                      # issued in the future
    {"nbf": int(time.time()) + 600},          # not yet valid
    {"aud": "https://cds.test/cds-services"}, # other scheme
    {"aud": BASE + "/cds-services/bcbm-salvage"},
    {"iss": "https://evil.example"},          # unknown issuer
    {"jti": None},                            # required claims missing
    {"exp": None},
    {"iat": None},
    {"aud": None},
    {"lifetime": 7200},                       # outlives the replay window (jti_cache_seconds)
    {"exp": "9999999999"},                    # NumericDate as a string
    {"jti": 12345},
    {"jti": ""},
])
def test_claim_problems_are_refused(secure_client, keys, change) -> None:
    claim_kw = dict(change)
    aud = claim_kw.pop("aud", DISCOVERY_AUD)
    claims = claims_for(aud if aud is not None else DISCOVERY_AUD, **{
        k: v for k, v in claim_kw.items() if k in ("iss", "lifetime", "iat_offset")})
    for name in ("jti", "exp", "iat", "nbf"):
        if name in claim_kw:
            if claim_kw[name] is None:
                claims.pop(name, None)
            else:
                claims[name] = claim_kw[name]
    if "aud" in change and change["aud"] is None:
        claims.pop("aud")
    assert_refused(discovery(secure_client, sign(keys["es384"], claims)))


@pytest.mark.parametrize("headers", [
    {"kid": "no-such-kid"},
    {"kid": None},
    {"typ": "JOSE+JSON"},
    {"typ": None},
    {"crit": ["exp"]},
    {"jku": "https://evil.example/jwks.json"},
    {"jku": "http://127.0.0.1:1/jwks.json"},
])
def test_header_problems_are_refused(secure_client, keys, headers) -> None:
    header = {"alg": "ES384", "kid": "client-es384", "typ": "JWT", **headers}
    header = {k: v for k, v in header.items() if v is not None}
    assert_refused(discovery(secure_client, sign_raw(keys["es384"], header,
                                                     claims_for(DISCOVERY_AUD))))


def test_control_the_raw_signer_is_accepted(secure_client, keys) -> None:
    header = {"alg": "ES384", "kid": "client-es384", "typ": "JWT"}
    token = sign_raw(keys["es384"], header, claims_for(DISCOVERY_AUD))
    assert discovery(secure_client, token).status_code == 200


def test_wrong_key_same_kid_and_key_type_confusion(secure_client, keys) -> None:
    claims = claims_for(DISCOVERY_AUD)
    assert_refused(discovery(secure_client, sign(keys["attacker_es384"], claims)))
    assert_refused(discovery(secure_client, sign(keys["attacker_rs384"], claims_for(DISCOVERY_AUD))))
    # RS384 header pointing at the EC key's kid; ES512 header naming the P-384 key.
    assert_refused(discovery(secure_client, sign(keys["rs384"], claims_for(DISCOVERY_AUD),
                                                 headers={"kid": "client-es384"})))
    _header, payload, signature = sign(keys["es384"], claims_for(DISCOVERY_AUD)).split(".")
    relabelled = b64({"alg": "ES512", "typ": "JWT", "kid": "client-es384"})
    assert_refused(discovery(secure_client, f"{relabelled}.{payload}.{signature}"))


def test_tampered_payload_is_refused(secure_client, keys) -> None:
    token = token_for(keys["es384"], DISCOVERY_AUD)
    header, _payload, signature = token.split(".")
    forged = f"{header}.{b64(claims_for(DISCOVERY_AUD, iss=TENANT_ISS, tenant=TENANT))}.{signature}"
    assert_refused(discovery(secure_client, forged))


def test_replayed_jti_is_refused(secure_client, keys) -> None:
    token = token_for(keys["es384"], DISCOVERY_AUD)
    assert discovery(secure_client, token).status_code == 200
    assert_refused(discovery(secure_client, token))
    # The same jti in a freshly signed token is a replay too.
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    again = sign(keys["rs384"], {**claims, "iat": claims["iat"] + 1})
    assert_refused(discovery(secure_client, again))


def test_jku_failures_are_refused(tmp_path, keys, jwks_server, secure_config) -> None:
    # The jku server redirects, is too big, too slow, down, or not JSON: no key, no entry.
    cases = {
        "/redirect": (302, {"Location": "https://evil.example/jwks.json"}, b"", 0.0),
        "/huge": (200, {"Content-Type": "application/json"}, b" " * (300 * 1024), 0.0),
        "/broken": (500, {}, b"", 0.0),
        "/not-json": (200, {"Content-Type": "application/json"}, b"{no", 0.0),
        "/slow": (200, {"Content-Type": "application/json"}, b"{}", 3.0),
    }
    urls = [jwks_server.serve(path, *case[:3], delay_s=case[3]) for path, case in cases.items()]
    clients_file = write_clients_file(tmp_path, [{"iss": JKU_ISS, "jku_allowlist": urls}])
    app = create_app(secure_config.replace(jwt_clients_file=str(clients_file)))
    app.extensions["salvage_cds"].authenticator.fetcher.read_timeout_s = 1.0
    try:
        client = app.test_client()
        for url in urls:
            token = token_for(keys["jku_es384"], DISCOVERY_AUD, iss=JKU_ISS, headers={"jku": url})
            started = time.monotonic()
            assert_refused(discovery(client, token))
            assert time.monotonic() - started < 2.5
        assert all(jwks_server.hits.get(path) == 1 for path in cases)
        assert "/jwks.json" not in jwks_server.hits
    finally:
        app.extensions["salvage_cds"].feedback.close()
        app.extensions["salvage_cds"].authenticator.close()


def test_refusals_log_the_reason_never_the_token(secure_client, keys, caplog) -> None:
    token = token_for(keys["es384"], DISCOVERY_AUD, lifetime=-600)
    with caplog.at_level(logging.INFO):
        assert_refused(discovery(secure_client, token))
    failures = [r for r in caplog.records if r.getMessage() == "CDS client authentication failed"]
    assert failures and failures[0].auth_failure == "token expired"
    assert failures[0].client_iss == ISS
    for record in caplog.records:
        assert token not in record.getMessage()
        assert all(token.split(".")[2] not in str(v) for v in record.__dict__.values())
    assert token.split(".")[1] not in caplog.text


def test_cors_preflight_needs_no_token(secure_client) -> None:
    response = secure_client.options("/cds-services", headers={
        "Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert response.status_code == 204


def test_the_assessment_api_needs_a_client_jwt_for_its_own_url(secure_client, keys) -> None:
    """Issue 16, item 2: POST /api/assessment took one patient's data from anyone. It is now
    authenticated like the CDS endpoints, with `aud` = its own URL."""
    from tests.support import fhir_builders as b
    body = b.collection(PATIENTS["progressive-after-srs-in-field"]())
    url = "/api/assessment?date=2024-03-01"
    assert_refused(secure_client.post(url, json=body))
    other_endpoint = token_for(keys["es384"], DISCOVERY_AUD)
    assert_refused(secure_client.post(url, json=body, headers=bearer(other_endpoint)))
    own = token_for(keys["es384"], BASE + "/api/assessment")
    response = secure_client.post(url, json=body, headers=bearer(own))
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "local-progression-after-srs-in-field"
