"""Issue 16, item 15: a client whose tokens carry a `jku` (the CDS Hooks sandbox always sends its
public JWKS URL) is verified with its configured key set when the `kid` is there — no fetch, so
the service works offline, as docs/security.md says.
"""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from cds_service.security.jwt_auth import JwksFetcher, _key_for
from cds_service.web.app import create_app
from tests.security.conftest import DISCOVERY_AUD
from tests.support.jwt_helpers import claims_for, ec_key, jwks, write_clients_file

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
# the sandbox's published key set (its public key only; cds-hooks/sandbox keys/jwk-keypair.json)
SANDBOX_JWKS = Path(__file__).parent / "data" / "cds-hooks-sandbox.jwks.json"


class NoNetwork(JwksFetcher):
    """A fetcher that records every URL it is asked for and reaches none (offline)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def fetch(self, url: str):
        self.asked.append(url)
        raise ValueError("offline")


def sandbox_app(tmp_path, secure_config, jwks_file: Path):
    clients = write_clients_file(tmp_path, [{
        "name": "CDS Hooks sandbox", "iss": SANDBOX_ISS, "jwks_file": str(jwks_file),
        "jku_allowlist": [SANDBOX_JKU]}])
    app = create_app(secure_config.replace(jwt_clients_file=str(clients)))
    fetcher = NoNetwork()
    app.extensions["salvage_cds"].authenticator.fetcher = fetcher
    return app, fetcher


def sandbox_shaped(key, **header) -> str:
    """Like the sandbox's tokens: ES384, raw R‖S signature (JWS), a `jku`, no `tenant`."""
    head = {"alg": "ES384", "typ": "JWT", "kid": key.kid, "jku": SANDBOX_JKU, **header}
    return jwt.encode(claims_for(DISCOVERY_AUD, iss=SANDBOX_ISS), key.private, algorithm="ES384",
                      headers=head)


def test_the_sandbox_key_set_parses_and_its_kid_is_found_without_a_fetch(
        tmp_path, secure_config) -> None:
    app, fetcher = sandbox_app(tmp_path, secure_config, SANDBOX_JWKS)
    authenticator = app.extensions["salvage_cds"].authenticator
    try:
        client = authenticator.clients.get(SANDBOX_ISS)
        jwk_data = authenticator._find_key(client, SANDBOX_KID, SANDBOX_JKU)
        assert jwk_data["crv"] == "P-384" and "d" not in jwk_data
        _key_for(jwk_data, "ES384")  # a usable ES384 verification key
        assert fetcher.asked == []
    finally:
        app.extensions["salvage_cds"].close()


def test_a_sandbox_shaped_token_is_accepted_offline(tmp_path, secure_config) -> None:
    key = ec_key("sandbox-shaped-kid")
    key_file = tmp_path / "sandbox-like.jwks.json"
    key_file.write_text(json.dumps(jwks(key)), "utf-8")
    app, fetcher = sandbox_app(tmp_path, secure_config, key_file)
    try:
        token = sandbox_shaped(key)
        header = json.loads(jwt.utils.base64url_decode(token.split(".")[0]))
        assert header["jku"] == SANDBOX_JKU
        assert len(jwt.utils.base64url_decode(token.split(".")[2])) == 96  # raw R‖S, P-384
        assert "tenant" not in jwt.decode(token, options={"verify_signature": False})
        response = app.test_client().get("/cds-services",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert fetcher.asked == []  # before: fetched, failed offline, 401
    finally:
        app.extensions["salvage_cds"].close()


@pytest.mark.parametrize("case", ["unknown-kid", "jku-not-allowlisted"])
def test_the_configured_key_does_not_widen_what_a_jku_may_do(tmp_path, secure_config,
                                                            case) -> None:
    key = ec_key("sandbox-shaped-kid")
    key_file = tmp_path / "sandbox-like.jwks.json"
    key_file.write_text(json.dumps(jwks(key)), "utf-8")
    app, fetcher = sandbox_app(tmp_path, secure_config, key_file)
    try:
        if case == "unknown-kid":  # not on file: the allowlisted jku is asked (offline: 401)
            token = sandbox_shaped(ec_key("other-kid"))
        else:
            token = sandbox_shaped(key, jku="https://evil.example/jwks.json")
        response = app.test_client().get("/cds-services",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert fetcher.asked == ([SANDBOX_JKU] if case == "unknown-kid" else [])
    finally:
        app.extensions["salvage_cds"].close()

