"""Small things a user of the `salvage-cds` command trips on: version, help, clear failures."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cds_service import __version__
from cds_service.ops import cli
from cds_service.ops.cli import derived_base_url, main
from cds_service.storage.feedback_store import FeedbackStore
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cds_service.ops.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_version_is_the_packages() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"salvage-cds {__version__}"
    assert PYPROJECT["project"]["version"] == __version__


@pytest.mark.parametrize(("command", "shown"), [
    (("serve",), ["(default: 127.0.0.1)", "(default: 8080)", "(default: 4)", "2 x cores + 1"]),
    (("feedback-report",), ["sqlite:///instance/salvage-cds.sqlite3"]),
    (("demo", "load"), ["(default: http://127.0.0.1:8080)"]),
])
def test_help_shows_the_defaults(command: tuple[str, ...], shown: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for item in shown:
        assert item in text, item
    assert "(default: None)" not in text and "(default: False)" not in text


def test_feedback_report_on_a_missing_database_fails_without_creating_it(tmp_path: Path,
                                                                          capsys) -> None:
    database = tmp_path / "absent" / "service.sqlite3"
    assert main(["feedback-report", "--database-url", f"sqlite:///{database}"]) == 1
    error = capsys.readouterr().err
    assert f"no database at {database}" in error and "--database-url" in error
    assert not database.exists() and not database.parent.exists()


def test_feedback_report_on_an_unreachable_server_fails_clearly_without_the_password(capsys) -> None:
    from tests.support.processes import free_port

    url = f"postgresql+psycopg://user:s3cret@127.0.0.1:{free_port()}/db"
    assert main(["feedback-report", "--database-url", url]) == 1
    error = capsys.readouterr().err
    assert "cannot read" in error and "s3cret" not in error and "Traceback" not in error


def test_feedback_report_reads_an_existing_database(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite3'}"
    FeedbackStore.open(url).close()
    assert main(["feedback-report", "--database-url", url]) == 0
    assert "card topic" in capsys.readouterr().out


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_host_warns_about_the_derived_public_url(host: str, capsys) -> None:
    url = derived_base_url(host, 8080)
    assert url in ("http://0.0.0.0:8080", "http://[::]:8080")
    error = capsys.readouterr().err
    assert "SALVAGE_CDS_PUBLIC_BASE_URL" in error and "WARNING" in error


def test_a_named_host_derives_its_url_silently(capsys) -> None:
    assert derived_base_url("127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert derived_base_url("::1", 9000) == "http://[::1]:9000"
    assert capsys.readouterr().err == ""


def test_license_file_matches_the_declared_licence() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    requires = PYPROJECT["build-system"]["requires"]
    assert any(r.startswith("setuptools>=") and int(r.split(">=")[1].split(".")[0]) >= 77
               for r in requires), "SPDX license + license-files need setuptools >= 77"


def test_changelog_names_this_version() -> None:
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text("utf-8")


class _FakeLibc:
    def __init__(self) -> None:
        self.settings: list[tuple[int, int]] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.settings.append((parameter, value))
        return 1


def test_a_worker_keeps_large_blocks_in_one_untrimmed_arena(monkeypatch) -> None:
    libc = _FakeLibc()
    monkeypatch.setattr(cli.ctypes, "CDLL", lambda name: libc)
    assert cli.tune_malloc()
    assert libc.settings == [(-8, 1), (-3, 32 * 1024 * 1024), (-1, 2**31 - 1)]  # malloc.h


def test_without_glibc_a_worker_starts_untuned(monkeypatch) -> None:
    def no_glibc(name: str) -> None:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(cli.ctypes, "CDLL", no_glibc)
    assert cli.tune_malloc() is False  # and no error


def test_glibc_takes_the_workers_malloc_settings() -> None:
    # in a process of its own: the settings would otherwise stay with the test runner
    answer = subprocess.run(
        [sys.executable, "-c", "from cds_service.ops.cli import tune_malloc; print(tune_malloc())"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert answer.stdout.strip() == "True", answer.stderr
