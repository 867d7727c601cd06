"""Shared fixtures: a fresh app per test, and the real service under gunicorn on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cds_service.config import ServiceConfig
from cds_service.web.app import create_app
from tests.support.processes import free_port, stop_process_group, wait_for_health

pytest_plugins = ["tests.support.fhir_server_plugin"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(tmp_path: Path) -> ServiceConfig:
    return ServiceConfig(
        database_url=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        auth_required=False,
        public_base_url="http://localhost",
        fhir_read_timeout_s=5.0,
        request_budget_s=10.0,
    )


@pytest.fixture
def app(app_config: ServiceConfig):
    application = create_app(app_config)
    yield application
    application.extensions["salvage_cds"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class LiveService:
    base_url: str
    database_url: str
    process: subprocess.Popen

    def url(self, path: str) -> str:
        return self.base_url + path


def start_live_service(tmp_dir: Path, *, workers: int = 2, env: dict[str, str] | None = None,
                       dev: bool = True, extra_args: tuple[str, ...] = ()) -> LiveService:
    port = free_port()
    database_url = f"sqlite:///{tmp_dir / 'live.sqlite3'}"
    environ = dict(os.environ)
    environ.update({
        "SALVAGE_CDS_DATABASE_URL": database_url,
        "SALVAGE_CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    })
    environ.update(env or {})
    command = [sys.executable, "-m", "cds_service.ops.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]
    if dev:
        command.append("--dev")
    command.extend(extra_args)
    log_file = open(tmp_dir / "service.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log_file,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_health(process, port, "service")
    except RuntimeError as exc:
        stop_live_service(process)
        raise RuntimeError(f"{exc}; see {tmp_dir / 'service.log'}") from None
    return LiveService(f"http://127.0.0.1:{port}", database_url, process)


def stop_live_service(process: subprocess.Popen) -> None:
    stop_process_group(process)


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The real service (gunicorn, --dev) on a free loopback port, for the whole session."""
    service = start_live_service(tmp_path_factory.mktemp("live-service"))
    yield service
    stop_live_service(service.process)
