"""The FHIR client reads proxies and the CA bundle from the environment once per client (for its
server), honours them, and never takes credentials from ~/.netrc."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests.utils

from cds_service.config import ServiceConfig
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.client import FhirClient
from cds_service.fhir.gather import fhir_settings

BASE = "https://fhir.hospital.example/r4"


def client_for(base: str = BASE) -> FhirClient:
    allowlist = FhirAllowlist.from_config(("https://fhir.hospital.example",), False)
    return FhirClient(allowlist.check(base), base, "token-1", fhir_settings(ServiceConfig()),
                      allowlist)


def test_proxy_and_ca_bundle_from_the_environment_are_used(monkeypatch, tmp_path) -> None:
    bundle = tmp_path / "hospital-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with client_for() as client:
        assert client.session.proxies["https"] == "http://proxy.hospital.example:3128"
        assert client.session.verify == str(bundle)
        assert client.session.trust_env is False  # not read again on every request


def test_no_proxy_is_honoured_for_the_server(monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital.example:3128")
    monkeypatch.setenv("NO_PROXY", "fhir.hospital.example")
    with client_for() as client:
        assert "https" not in client.session.proxies


def test_the_environment_is_read_once_per_client_not_per_request(monkeypatch) -> None:
    calls = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(requests.sessions, "get_environ_proxies",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    with client_for() as client:
        for path in ("Patient/1", "Condition?patient=1", "Observation?patient=1"):
            prepared = client.session.prepare_request(
                requests.Request("GET", client.absolute(path)))
            client.session.merge_environment_settings(prepared.url, {}, None, None, None)
    assert len(calls) == 1


def test_netrc_credentials_are_never_sent(monkeypatch, tmp_path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login admin password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with recording_server() as (base, seen):
        allowlist = FhirAllowlist.from_config(("http://127.0.0.1:*",), True)
        with FhirClient(allowlist.check(base), base, "token-1", fhir_settings(ServiceConfig()),
                        allowlist) as client:
            client.query("Patient/1")
    assert [headers.get("Authorization") for headers in seen] == ["Bearer token-1"]


def test_a_fhir_servers_cookies_are_never_kept_or_sent() -> None:
    """Sessions are shared by the hook calls of a process: a Set-Cookie answered to one call
    must not come back with another call's requests."""
    from cds_service.fhir.client import new_session

    with recording_server() as (base, seen):
        session = new_session(base, fhir_settings(ServiceConfig()))
        for _ in range(2):
            assert session.get(base + "Patient/1", timeout=5).status_code == 200
        session.close()
    assert [headers.get("Cookie") for headers in seen] == [None, None]
    assert len(session.cookies) == 0


def test_a_retry_after_header_does_not_hold_the_query() -> None:
    """503 + Retry-After: 30, twice: retried on our own short backoff, not after a minute."""
    import time

    with recording_server(first_statuses=(503, 503)) as (base, seen):
        allowlist = FhirAllowlist.from_config(("http://127.0.0.1:*",), True)
        started = time.monotonic()
        with FhirClient(allowlist.check(base), base, None, fhir_settings(ServiceConfig()),
                        allowlist) as client:
            result = client.query("Patient/1")
        elapsed = time.monotonic() - started
    assert result.error is None and result.value["id"] == "1"
    assert len(seen) == 3 and elapsed < 5


@contextlib.contextmanager
def recording_server(first_statuses: tuple[int, ...] = ()):
    """A loopback HTTP server answering a Patient with a Set-Cookie (after `first_statuses`, each
    with `Retry-After: 30`); yields its base URL and the headers of every request it received (the
    client's side of the exchange is under test)."""
    seen: list = []
    statuses = list(first_statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers)
            if statuses:
                self.send_response(statuses.pop(0))
                self.send_header("Retry-After", "30")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"resourceType": "Patient", "id": "1"}'
            self.send_response(200)
            self.send_header("Set-Cookie", "session=call-one; Path=/")
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir/", seen
    finally:
        server.shutdown()
        server.server_close()
