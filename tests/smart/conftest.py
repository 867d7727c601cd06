"""Fixtures of the SMART app tests: an in-process authorization server and a two-sided browser.

`auth_server` is the Authlib-based SMART authorization server of `tests/support/smart_auth_server.py`, with
its FHIR front serving the synthetic patients from memory (the e2e test uses the real FHIR server
instead). `browser` follows redirects across the two origins: URLs of the service go to the Flask
test client (which keeps the service's cookies), everything else goes over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.smart_auth_server import SmartAuthServer
from tests.support.synthetic_patients import PATIENTS, load_bundle

SERVICE_ORIGIN = "http://localhost"  # the app fixture's public_base_url


def all_synthetic_resources() -> list[dict[str, Any]]:
    return [entry["resource"] for name in PATIENTS for entry in load_bundle(name)["entry"]]


@pytest.fixture(scope="session")
def _auth_server_session() -> Iterator[SmartAuthServer]:
    server = SmartAuthServer(resources=all_synthetic_resources()).start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config: Any, _auth_server_session: SmartAuthServer) -> Any:
    """The SMART issuer allowlist is empty by default (issue 16, item 5): list the fixture's
    authorization server (its FHIR front, discovery, authorize, token and JWKS endpoints)."""
    return app_config.replace(smart_issuer_allowlist=(_auth_server_session.base_url,))


@pytest.fixture
def auth_server(_auth_server_session: SmartAuthServer) -> Iterator[SmartAuthServer]:
    _auth_server_session.reset()
    yield _auth_server_session
    _auth_server_session.reset()


@dataclass
class Hop:
    url: str
    status: int
    location: str | None
    body: str
    headers: dict[str, str]


@dataclass
class Browser:
    client: Any  # Flask test client of the service
    hops: list[Hop] = field(default_factory=list)

    def get(self, url: str) -> Hop:
        parts = urlsplit(url)
        if url.startswith(SERVICE_ORIGIN + "/") or not parts.netloc:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = self.client.get(path)
            hop = Hop(url, response.status_code, response.headers.get("Location"),
                      response.get_data(as_text=True), dict(response.headers))
        else:
            response = requests.get(url, allow_redirects=False, timeout=10)
            hop = Hop(url, response.status_code, response.headers.get("Location"),
                      response.text, dict(response.headers))
        self.hops.append(hop)
        return hop

    def follow(self, url: str, max_hops: int = 8) -> Hop:
        hop = self.get(url)
        for _ in range(max_hops):
            if hop.status not in (301, 302, 303, 307, 308) or not hop.location:
                return hop
            location = hop.location
            if location.startswith("/"):
                base = urlsplit(hop.url)
                location = f"{base.scheme}://{base.netloc}{location}"
            hop = self.get(location)
        raise AssertionError("too many redirects")


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)
