"""Starting and stopping the servers the tests and the benchmark start (each in its own process
group): a free port, waiting for /health, stopping the group."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time


def stop_process_group(process: subprocess.Popen, timeout_s: float = 15.0) -> None:
    """SIGTERM the process group, SIGKILL it after `timeout_s`, and reap the leader."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)


def free_port() -> int:
    """A free loopback TCP port (for the servers the tests and the benchmark start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HEALTH_TIMEOUT_S = 30.0


def wait_for_health(process: subprocess.Popen, port: int, what: str,
                    timeout_s: float = HEALTH_TIMEOUT_S) -> str:
    """"127.0.0.1:port" once GET /health on the loopback answers 200. A process that exits first,
    or is not healthy within `timeout_s`, is stopped and a RuntimeError names `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it was healthy")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return f"127.0.0.1:{port}"
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    stop_process_group(process)
    raise RuntimeError(f"{what} did not become healthy within {timeout_s:.0f} s")
