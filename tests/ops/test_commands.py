"""The `salvage-cds` command line."""

import subprocess
import sys

import pytest
import requests

from cds_service.ops.cli import build_parser, default_workers
from cds_service.storage.feedback_store import FeedbackStore
from tests.conftest import start_live_service, stop_live_service


def test_serve_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.dev) == ("127.0.0.1", 8080, False)
    assert default_workers() >= 3


def test_serve_requires_a_command() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_feedback_report_prints_rates_per_topic(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'report.sqlite3'}"
    store = FeedbackStore.open(url)
    topic = {"system": "https://salvage-cds.org/fhir/CodeSystem/salvage-option", "code": "srs"}
    store.record_issued_cards("bcbm-salvage", "hook-1", [
        {"uuid": "c1", "indicator": "warning", "source": {"topic": topic},
         "suggestions": [{"uuid": "s1"}]},
        {"uuid": "c2", "indicator": "warning", "source": {"topic": topic}},
    ])
    store.add_feedback("bcbm-salvage", [
        {"card": "c1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s1"}],
         "outcomeTimestamp": "2026-11-28T10:00:00Z"},
        {"card": "c2", "outcome": "overridden", "outcomeTimestamp": "2026-11-28T10:00:00Z"},
    ])
    [row] = store.topic_report()
    assert (row.topic_code, row.issued, row.accepted, row.overridden) == ("srs", 2, 1, 1)
    assert row.acceptance_rate == 0.5
    store.close()

    output = subprocess.run(
        [sys.executable, "-m", "cds_service.ops.cli", "feedback-report", "--database-url", url],
        capture_output=True, text=True, check=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("srs"))
    assert line.split() == ["srs", "2", "1", "1", "50"]


@pytest.mark.integration
def test_gunicorn_service_serves_discovery_and_health(live_service) -> None:
    health = requests.get(live_service.url("/health"), timeout=5)
    assert health.status_code == 200 and health.json()["database"] == "ok"
    services = requests.get(live_service.url("/cds-services"), timeout=5).json()["services"]
    assert {s["id"] for s in services} == {"bcbm-salvage", "bcbm-order-select", "bcbm-order-sign"}


@pytest.mark.integration
@pytest.mark.parametrize(("kw", "status", "code"), [
    ({"path": "/cds-services?" + "x" * 6000}, 414, "uri-too-long"),
    ({"headers": {"X-Big": "y" * 9000}}, 431, "request-header-fields-too-large"),
    ({"headers": {f"X-H{i}": "1" for i in range(120)}}, 431, "request-header-fields-too-large"),
], ids=["long-url", "long-header", "many-headers"])
def test_gunicorn_refusals_are_json(live_service, kw, status, code) -> None:
    """Issue 16, item 14 (part): gunicorn's own 414/431 pages were HTML."""
    response = requests.get(live_service.url(kw.get("path", "/cds-services")),
                            headers=kw.get("headers"), timeout=5)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == code


def test_json_error_response_is_valid_http_and_json() -> None:
    from cds_service.security.gunicorn_errors import json_error_response

    raw = json_error_response(400, "Bad Request", "Invalid Request Line '<script>'" + "z" * 500)
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    parsed = __import__("json").loads(body)
    assert parsed["error"] == "bad-request" and len(parsed["message"]) == 200


def test_serve_opens_no_gunicorn_control_socket(tmp_path) -> None:
    """gunicorn >= 27 would listen on ~/.gunicorn/gunicorn.ctl, one path for every instance of
    the user: two instances on one host (deploy/) took it from each other (a new user's report)."""
    home = tmp_path / "home"
    home.mkdir()
    service = start_live_service(tmp_path, env={"HOME": str(home)})
    try:
        assert requests.get(service.url("/health"), timeout=5).status_code == 200
        assert not (home / ".gunicorn").exists()
    finally:
        stop_live_service(service.process)
