"""Generated JWT attacks: every one is a bare 401; generated *valid* tokens all pass (control).

Sized for CI (a few hundred examples each, derandomized so every run tries the same cases).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.security.conftest import BASE, DISCOVERY_AUD, JKU_ISS
from tests.support.jwt_helpers import ISS, b64url, bearer, claims_for, sign, sign_raw

FUZZ = settings(max_examples=1500, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

ENDPOINTS = {
    "discovery": ("GET", "/cds-services"),
    "service": ("POST", "/cds-services/bcbm-salvage"),
    "feedback": ("POST", "/cds-services/bcbm-salvage/feedback"),
}

ATTACKS = ("alg_none", "hs256_public_key", "expired", "not_yet_valid", "future_iat", "wrong_aud",
           "wrong_iss", "unknown_kid", "replayed", "jku_off_allowlist", "missing_claim",
           "tampered_signature", "wrong_key", "bad_typ", "bad_numeric", "too_long_lived",
           "swapped_alg", "garbage")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
texts = st.text(max_size=80)


def _call(client, endpoint: str, token: str):
    method, path = ENDPOINTS[endpoint]
    headers = bearer(token)
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, headers=headers, data=b"{}", content_type="application/json")


def _attack(draw, keys, jku_url: str) -> tuple[str, str, str]:
    """Draw (attack kind, endpoint, token)."""
    kind = draw(st.sampled_from(ATTACKS))
    endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
    aud = BASE + ENDPOINTS[endpoint][1]
    key = keys[draw(st.sampled_from(["es384", "rs384"]))]
    claims = claims_for(draw(st.sampled_from([aud, [aud], [aud, "https://x.example"]])))
    header = {"alg": key.alg, "typ": "JWT", "kid": key.kid}

    if kind == "alg_none":
        none_alg = draw(st.sampled_from(["none", "None", "NONE", "nOnE", ""]))
        sig = draw(st.sampled_from(["", "AAAA", b64url(b"x" * 48)]))
        return kind, endpoint, f"{b64url({**header, 'alg': none_alg})}.{b64url(claims)}.{sig}"
    if kind == "hs256_public_key":
        alg = draw(st.sampled_from(["HS256", "HS384", "HS512"]))
        pem = key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        secret = draw(st.sampled_from([pem, json.dumps(key.public_jwk).encode(), b""]))
        signing_input = f"{b64url({**header, 'alg': alg})}.{b64url(claims)}"
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        mac = hmac.new(secret, signing_input.encode(), digest).digest()
        return kind, endpoint, f"{signing_input}.{b64url(mac)}"
    if kind == "expired":
        claims["exp"] = int(time.time()) - draw(st.integers(61, 10**9))
    elif kind == "not_yet_valid":
        claims["nbf"] = int(time.time()) + draw(st.integers(120, 10**6))
    elif kind == "future_iat":
        claims["iat"] = int(time.time()) + draw(st.integers(120, 10**6))
        claims["exp"] = claims["iat"] + 300
    elif kind == "wrong_aud":
        other = draw(st.one_of(texts, st.sampled_from([
            BASE, BASE + "/", DISCOVERY_AUD + "/", "https://cds.test" + ENDPOINTS[endpoint][1],
            aud.upper(), aud + "?x=1", BASE + "/cds-services/other"])))
        wrong = other if other != aud else aud + "x"
        claims["aud"] = draw(st.sampled_from([wrong, [wrong], [wrong, wrong + "/"]]))
    elif kind == "wrong_iss":
        iss = draw(st.one_of(texts, st.sampled_from([ISS + "/", ISS.upper(), "", " " + ISS])))
        claims["iss"] = iss if iss != ISS else ISS + "x"
    elif kind == "unknown_kid":
        kid = draw(st.text(min_size=1, max_size=40))
        header["kid"] = kid if kid not in ("client-es384", "client-rs384", "client-ps256",
                                           "client-es256") else kid + "?"
    elif kind == "jku_off_allowlist":
        header["jku"] = draw(st.one_of(
            st.sampled_from([jku_url + "?x", jku_url.replace("127.0.0.1", "localhost"),
                             "https://evil.example/jwks.json", "http://169.254.169.254/",
                             jku_url + "/", "file:///etc/passwd"]),
            texts))
        if draw(st.booleans()):
            claims["iss"] = JKU_ISS
    elif kind == "missing_claim":
        for name in draw(st.lists(st.sampled_from(["iss", "aud", "exp", "iat", "jti"]),
                                  min_size=1, unique=True)):
            claims.pop(name)
    elif kind == "bad_typ":
        typ = draw(st.one_of(st.none(), st.sampled_from(["JOSE", "at+jwt", "", "jwt+x"]),
                             json_scalars))
        if typ is None:
            header.pop("typ")
        else:
            header["typ"] = typ if not (isinstance(typ, str) and typ.upper() == "JWT") else "JWS"
    elif kind == "bad_numeric":
        name = draw(st.sampled_from(["exp", "iat", "nbf"]))
        claims[name] = draw(st.one_of(st.text(max_size=12), st.lists(st.integers(), max_size=2),
                                      st.booleans(), st.just(None), st.just({"$date": 1})))
        if claims[name] is None:
            claims[name] = "null"
    elif kind == "too_long_lived":
        claims["exp"] = int(time.time()) + draw(st.integers(3600 + 61, 10**9))
    elif kind == "swapped_alg":
        header["alg"] = draw(st.sampled_from(["ES256", "ES512", "RS256", "RS512", "PS384",
                                              "EdDSA", "ES256K"]).filter(lambda a: a != key.alg))
        token = sign_raw(key, {**header, "alg": key.alg}, claims)
        _h, payload, signature = token.split(".")
        return kind, endpoint, f"{b64url(header)}.{payload}.{signature}"
    elif kind == "garbage":
        header = draw(st.dictionaries(st.text(max_size=8), json_scalars, max_size=5))
        claims = draw(st.one_of(st.dictionaries(st.text(max_size=8), json_scalars, max_size=6),
                                json_scalars, st.lists(json_scalars, max_size=3)))
        sig = draw(st.binary(max_size=96))
        return kind, endpoint, f"{b64url(header)}.{b64url(claims)}.{b64url(sig)}"

    token = sign_raw(key, header, claims)
    if kind == "tampered_signature":
        head, payload, signature = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
        index = draw(st.integers(0, len(raw) - 1))
        raw[index] ^= draw(st.integers(1, 255))
        token = f"{head}.{payload}.{b64url(bytes(raw))}"
    elif kind == "wrong_key":
        token = sign_raw(keys["attacker_es384" if key.alg == "ES384" else "attacker_rs384"],
                         header, claims)
    return kind, endpoint, token


@FUZZ
@given(data=st.data())
def test_generated_jwt_attacks_are_all_401(secure_client, keys, jwks_server, data) -> None:
    jku_url = jwks_server.url("/jwks.json")
    kind, endpoint, token = _attack(data.draw, keys, jku_url)
    event(kind)
    if kind == "replayed":
        first = _call(secure_client, endpoint, token)
        assert first.status_code != 401, "the control use of a fresh token must pass"
    response = _call(secure_client, endpoint, token)
    assert response.status_code == 401, (kind, endpoint, response.get_data(as_text=True))
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json() == {"error": "unauthorized", "message": "authentication required"}


extra_claims = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(
        lambda k: k not in ("iss", "aud", "exp", "iat", "jti", "nbf", "tenant")),
    json_scalars, max_size=4)


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_generated_valid_tokens_pass(secure_client, keys, data) -> None:
    """The control: the same generator's honest tokens (any extra claims, sub, past nbf) pass."""
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    aud = BASE + ENDPOINTS[endpoint][1]
    key = keys[data.draw(st.sampled_from(["es384", "rs384", "ps256", "es256"]))]
    claims = claims_for(data.draw(st.sampled_from([aud, [aud], ["https://x.example", aud]])),
                        lifetime=data.draw(st.integers(5, 3600)))
    claims.update(data.draw(extra_claims))
    if data.draw(st.booleans()):
        claims["sub"] = data.draw(st.text(max_size=30))
        claims["nbf"] = int(time.time()) - data.draw(st.integers(0, 3600))
    token = sign(key, claims, headers=data.draw(st.sampled_from([{}, {"typ": "jwt"}])))
    response = _call(secure_client, endpoint, token)
    assert response.status_code != 401, response.get_data(as_text=True)
    assert response.status_code < 500
