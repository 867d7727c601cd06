"""Stopping the servers the tests and the benchmark start (each in its own process group)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


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
