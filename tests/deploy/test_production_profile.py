"""The production profile (deploy/): Debian's nginx terminating TLS and buffering requests in
front of two real service instances (gunicorn, JWT authentication on) sharing one PostgreSQL.

- a client JWT used once is refused when replayed — at the other instance, or through nginx;
- feedback sent through either instance is stored and counted once, linked to a card the other
  instance issued;
- slow-header (slowloris) connections that block an instance reached directly no longer block
  `/health` through nginx (issue 16, item 6).
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from cds_service.ops import demo
from cds_service.ops.client_keys import new_client, sign_token
from tests.conftest import ROOT, LiveService, start_live_service, stop_live_service
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.nginx_server import Nginx, start_nginx
from tests.support.postgres_server import start_postgres
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

SLOW_CONNECTIONS = 24  # more than the threads of an instance (up to 2 workers x 4 threads)


@dataclass
class Profile:
    nginx: Nginx
    instances: tuple[LiveService, LiveService]
    database_url: str
    key: str

    @property
    def public(self) -> str:
        return self.nginx.https_url

    def token(self, path: str) -> dict[str, str]:
        """A fresh client JWT for one endpoint (aud = the public URL nginx answers on)."""
        return {"Authorization": f"Bearer {sign_token(Path(self.key), self.public + path)}"}

    def via_nginx(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, self.public + path, verify=self.nginx.certificate,
                                timeout=30, **kw)


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Iterator[Profile]:
    root = tmp_path_factory.mktemp("production")
    postgres = start_postgres()
    client = new_client("https://ehr.example.org/cds", root / "keys")
    clients_file = root / "clients.json"
    clients_file.write_text(json.dumps({"clients": [client.entry]}), "utf-8")
    https_port = free_port()
    env = {"SALVAGE_CDS_DATABASE_URL": postgres.url,
           "SALVAGE_CDS_PUBLIC_BASE_URL": f"https://127.0.0.1:{https_port}",
           "SALVAGE_CDS_JWT_CLIENTS_FILE": str(clients_file),
           "SALVAGE_CDS_SECRET_KEY": secrets.token_hex(32)}
    instances: list[LiveService] = []
    nginx = None
    try:
        for name in ("a", "b"):
            directory = root / name
            directory.mkdir()
            instances.append(start_live_service(directory, dev=False, env=env))
        ports = tuple(urlsplit(i.base_url).port for i in instances)
        nginx = start_nginx(ports, https_port=https_port)  # type: ignore[arg-type]
        yield Profile(nginx, (instances[0], instances[1]), postgres.url,
                      str(client.private_key))
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in instances:
            stop_live_service(instance.process)
        postgres.stop()


def test_tls_and_the_http_redirect(profile) -> None:
    health = profile.via_nginx("GET", "/health")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert "nginx/" not in health.headers.get("Server", "")  # server_tokens off
    plain = requests.get(profile.nginx.http_url + "/health", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")


def test_a_jwt_replayed_against_the_other_instance_is_refused(profile) -> None:
    first, second = profile.instances
    bearer = profile.token("/cds-services")
    assert requests.get(first.url("/cds-services"), headers=bearer, timeout=10).status_code == 200
    assert requests.get(second.url("/cds-services"), headers=bearer,
                        timeout=10).status_code == 401


def test_a_jwt_replayed_through_nginx_is_refused_whichever_instance_answers(profile) -> None:
    for _ in range(3):  # round robin: the replay lands on the other instance at least once
        bearer = profile.token("/cds-services")
        assert profile.via_nginx("GET", "/cds-services", headers=bearer).status_code == 200
        assert profile.via_nginx("GET", "/cds-services", headers=bearer).status_code == 401


def report(database_url: str) -> dict[str, tuple[int, int, int]]:
    done = subprocess.run([sys.executable, "-m", "cds_service.ops.cli", "feedback-report",
                           "--database-url", database_url], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {}
    for line in done.stdout.splitlines()[1:]:
        topic, issued, accepted, overridden, _rate = line.split()
        rows[topic] = (int(issued), int(accepted), int(overridden))
    return rows


def test_feedback_through_either_instance_is_counted_once(profile) -> None:
    first, second = profile.instances
    patient = demo.find("progressive-after-srs-in-field")
    resources = [e["resource"] for e in demo.bundle(patient.name)["entry"]]
    path = "/cds-services/bcbm-salvage"
    topic = "surgery"  # the main card's topic for this patient (checked below)
    before = report(profile.database_url).get(topic, (0, 0, 0))
    body = hook_request(patient.patient_id, prefetch=full_prefetch(resources))
    cards = requests.post(first.url(path), json=body, headers=profile.token(path),
                          timeout=30).json()["cards"]
    assert cards[0]["source"]["topic"]["code"] == topic
    feedback = {"feedback": [{"card": cards[0]["uuid"], "outcome": "overridden",
                              "outcomeTimestamp": "2026-11-28T10:00:00Z"}]}
    stored = requests.post(second.url(path + "/feedback"), json=feedback,
                           headers=profile.token(path + "/feedback"), timeout=30)
    assert stored.json() == {"stored": 1}
    again = hook_request(patient.patient_id, prefetch=full_prefetch(resources))
    cards_again = profile.via_nginx("POST", path, json=again, headers=profile.token(path)).json()
    feedback_again = {"feedback": [{"card": cards_again["cards"][0]["uuid"],
                                    "outcome": "overridden",
                                    "outcomeTimestamp": "2026-11-28T10:05:00Z"}]}
    assert profile.via_nginx("POST", path + "/feedback", json=feedback_again,
                             headers=profile.token(path + "/feedback")).json() == {"stored": 1}
    deadline = time.monotonic() + 10  # the issued-card links are written in the background
    while time.monotonic() < deadline:
        after = report(profile.database_url)[topic]
        if after[0] >= before[0] + 2:
            break
        time.sleep(0.2)
    assert after == (before[0] + 2, before[1], before[2] + 2)


def slow_connection(url: str, certificate: str | None) -> socket.socket:
    """A connection that sends the start of a request's headers and then nothing."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=certificate)
        sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


def health_within(url: str, certificate: str | None, seconds: float) -> bool:
    try:
        response = requests.get(url + "/health", timeout=seconds, verify=certificate or True)
    except requests.RequestException:
        return False
    return response.status_code == 200


def test_slow_headers_no_longer_block_health(profile, tmp_path) -> None:
    # The attack is real: an instance reached directly cannot answer while slow-header
    # connections hold its threads. (One worker here, so that every connection lands on it: with
    # two, the kernel may hand /health to a worker the attack missed, which proves nothing.)
    lone = start_live_service(tmp_path, workers=1)
    try:
        slow = [slow_connection(lone.base_url, None) for _ in range(SLOW_CONNECTIONS)]
        try:
            time.sleep(0.5)
            assert not health_within(lone.base_url, None, 3.0)
        finally:
            for sock in slow:
                sock.close()
        assert health_within(lone.base_url, None, 10.0)  # and recovers once they go
    finally:
        stop_live_service(lone.process)
    # Through nginx, the same attack never reaches an instance.
    slow = [slow_connection(profile.public, profile.nginx.certificate)
            for _ in range(SLOW_CONNECTIONS)]
    try:
        time.sleep(0.5)
        started = time.monotonic()
        for _ in range(5):
            assert health_within(profile.public, profile.nginx.certificate, 3.0)
        assert time.monotonic() - started < 5
    finally:
        for sock in slow:
            sock.close()
