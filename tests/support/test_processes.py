"""The start-up helpers the tests and the benchmark share: a server that dies or never answers
is reported at once, not after a silent wait."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.support.processes import free_port, wait_for_health


def test_a_process_that_exits_is_reported_without_waiting_out_the_timeout() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"],
                               start_new_session=True)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with 3"):
        wait_for_health(process, free_port(), "a dying server", timeout_s=20)
    assert time.monotonic() - started < 10


def test_a_server_that_never_answers_is_stopped_and_named() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                               start_new_session=True)
    with pytest.raises(RuntimeError, match="a silent server did not become healthy"):
        wait_for_health(process, free_port(), "a silent server", timeout_s=1)
    assert process.poll() is not None  # stopped, not left running


def test_a_healthy_server_gives_its_address() -> None:
    port = free_port()
    code = ("import http.server\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        self.send_response(200 if self.path == '/health' else 404)\n"
            "        self.end_headers()\n"
            f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n")
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        assert wait_for_health(process, port, "a small server") == f"127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()
