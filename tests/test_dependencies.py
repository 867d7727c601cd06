"""Issue 16, item 16: dependency floors at releases without known CVEs, and a lock file the test
command installs from, so CI and users run what was tested."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"requests": "2.32.4", "urllib3": "2.6.0", "pyjwt": "2.10.1", "cryptography": "44.0.1",
          "authlib": "1.6.5"}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def requirements() -> dict[str, Requirement]:
    project = pyproject()["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {canonicalize_name(r.name): r for r in map(Requirement, listed)}


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize(("name", "floor"), sorted(FLOORS.items()))
def test_floors_exclude_releases_with_known_cves(name, floor) -> None:
    requirement = requirements()[name]
    assert not requirement.specifier.contains(_below(floor))
    assert requirement.specifier.contains(floor)
    assert Version(metadata.version(name)) >= Version(floor)


def _below(version: str) -> str:
    """The release just before `version` in the last component (2.32.4 -> 2.32.3)."""
    parts = [int(p) for p in version.split(".")]
    index = max(i for i, p in enumerate(parts) if p > 0)
    parts[index] -= 1
    return ".".join(map(str, parts))


def test_the_build_needs_setuptools_78_1_1() -> None:
    [setuptools] = [Requirement(r) for r in pyproject()["build-system"]["requires"]
                    if r.startswith("setuptools")]
    assert not setuptools.specifier.contains("78.1.0") and setuptools.specifier.contains("78.1.1")


def test_the_lock_satisfies_the_floors_and_is_what_runs() -> None:
    pins = locked()
    for name, requirement in requirements().items():
        assert name in pins, f"{name} is not in requirements-lock.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])
        assert metadata.version(name) == pins[name], f"{name}: installed is not what is locked"


def test_bootstrap_installs_from_the_lock() -> None:
    script = (ROOT / "scripts" / "bootstrap.sh").read_text("utf-8")
    installs = re.findall(r"pip install [^\n]*-e ", script)
    assert installs and all("-c requirements-lock.txt" in line for line in installs)
    assert "requirements-lock.txt -nt" in script  # a changed lock reinstalls
