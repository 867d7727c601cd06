"""A throw-away PostgreSQL server for the tests: initdb in a temp dir, loopback, a free port.

Debian's `postgresql` package provides the binaries (scripts/test.sh installs it). PostgreSQL
refuses to run as root, so under root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest

from tests.support.processes import free_port


def pg_bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@dataclass
class PostgresServer:
    url: str
    data_dir: str
    bin_dir: str
    as_user: list[str]

    def stop(self) -> None:
        subprocess.run([*self.as_user, f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-m", "fast",
                        "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian package 'postgresql')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data_dir = tempfile.mkdtemp(prefix="salvage-pg-")
    if as_user:
        shutil.chown(data_dir, "postgres", "postgres")
    port = free_port()
    subprocess.run([*as_user, f"{bin_dir}/initdb", "-D", data_dir, "-U", "cds", "-A", "trust",
                    "--no-sync"], capture_output=True, check=True)
    subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", data_dir, "-w", "-l",
                    f"{data_dir}/server.log", "-o",
                    f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start"], capture_output=True, check=True)
    url = f"postgresql+psycopg://cds@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = subprocess.run([f"{bin_dir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                               capture_output=True)
        if ready.returncode == 0:
            return PostgresServer(url, data_dir, bin_dir, as_user)
        time.sleep(0.2)
    raise RuntimeError("PostgreSQL did not become ready")
