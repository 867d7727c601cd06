"""Fixtures of the security tests: test keys, a trusted-client file, an app with JWT auth on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds_service.config import ServiceConfig
from cds_service.web.app import create_app
from tests.support.jwt_helpers import (
    ISS,
    TENANT,
    JwksServer,
    SigningKey,
    ec_key,
    jwks,
    rsa_key,
    write_clients_file,
)

BASE = "http://cds.test"
DISCOVERY_AUD = BASE + "/cds-services"
TENANT_ISS = "https://tenanted-ehr.test.example"
JKU_ISS = "https://jku-ehr.test.example"


@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    """The trusted client's ES384 and RS384 keys, plus keys nobody trusts."""
    return {
        "es384": ec_key("client-es384"),
        "rs384": rsa_key("client-rs384"),
        "ps256": SigningKey("client-ps256", "PS256", rsa_key("x").private),
        "es256": ec_key("client-es256", "ES256"),
        "attacker_es384": ec_key("client-es384"),  # same kid as the real key, other key
        "attacker_rs384": rsa_key("client-rs384"),
        "jku_es384": ec_key("jku-es384"),
    }


@pytest.fixture(scope="session")
def jwks_server_session() -> Iterator[JwksServer]:
    server = JwksServer().start()
    yield server
    server.stop()


@pytest.fixture
def jwks_server(jwks_server_session: JwksServer) -> JwksServer:
    jwks_server_session.routes.clear()
    jwks_server_session.hits.clear()
    return jwks_server_session


def clients_document(tmp_path: Path, keys: dict[str, SigningKey],
                     jku_url: str | None = None) -> list[dict[str, Any]]:
    jwks_file = tmp_path / "ehr.jwks.json"
    jwks_file.write_text(json.dumps(jwks(keys["es384"], keys["rs384"], keys["ps256"],
                                         keys["es256"])), "utf-8")
    clients: list[dict[str, Any]] = [
        {"name": "Test EHR", "iss": ISS, "jwks_file": jwks_file.name},
        {"name": "Tenanted EHR", "iss": TENANT_ISS, "jwks_file": str(jwks_file),
         "tenant": [TENANT]},
    ]
    if jku_url:
        clients.append({"name": "jku EHR", "iss": JKU_ISS, "jku_allowlist": [jku_url]})
    return clients


@pytest.fixture
def secure_config(tmp_path: Path, keys: dict[str, SigningKey], jwks_server: JwksServer) -> ServiceConfig:
    jku_url = jwks_server.serve_json("/jwks.json", jwks(keys["jku_es384"]))
    clients_file = write_clients_file(tmp_path, clients_document(tmp_path, keys, jku_url))
    return ServiceConfig(
        database_url=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        auth_required=True,
        jwt_clients_file=str(clients_file),
        public_base_url=BASE,
        fhir_read_timeout_s=2.0,
        request_budget_s=5.0,
    )


@pytest.fixture
def secure_app(secure_config: ServiceConfig):
    application = create_app(secure_config)
    yield application
    services = application.extensions["salvage_cds"]
    services.close()


@pytest.fixture
def secure_client(secure_app):
    return secure_app.test_client()
