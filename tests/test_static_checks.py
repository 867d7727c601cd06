"""Issue 15 item 6: the lint rules and the type check run in the test command, so a finding fails
the suite (and CI). Both read their configuration from pyproject.toml ([tool.ruff], [tool.mypy]);
both run from the project root with this interpreter, as `python -m ruff check` / `python -m mypy`
do by hand. mypy keeps its cache in .mypy_cache (a fresh clone has none: the first run is slower).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MYPY_TIMEOUT_S = 600  # a cold run (no cache) of the whole project on a busy 2-core machine
RUFF_TIMEOUT_S = 120


def _run(tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-fix", "--output-format", "concise", ".", timeout=RUFF_TIMEOUT_S)
    assert done.returncode == 0, f"ruff check found:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing() -> None:
    done = _run("mypy", timeout=MYPY_TIMEOUT_S)
    assert done.returncode == 0, f"mypy found:\n{done.stdout}{done.stderr}"


def test_every_suppression_marker_is_checked() -> None:
    """A `# noqa` or `# type: ignore` that no longer silences anything is itself a finding, so the
    markers in the code stay true."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]
    assert "RUF100" in config["ruff"]["lint"]["select"]
    assert config["mypy"]["warn_unused_ignores"] is True


def test_the_checks_cover_the_code() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]
    assert set(config["mypy"]["files"]) >= {"cds_service", "hooks", "cards"}
    listed = _run("ruff", "check", "--show-files", ".", timeout=RUFF_TIMEOUT_S).stdout
    checked = {Path(line.strip()).relative_to(ROOT).parts[0] for line in listed.splitlines() if line}
    assert checked >= {"cds_service", "hooks", "cards", "tests"}
