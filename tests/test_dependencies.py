"""Issue 16, item 16: dependency floors at releases without known CVEs, and a lock file the test
command installs from, so CI and users run what was tested."""

from __future__ import annotations

import ast
import re
import sys
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


# Issue 15 item 6: every third-party package the code imports is declared — the service's in
# `dependencies`, the tests' and the benchmark's in their extras (or `dependencies`) — so an
# install from pyproject.toml alone runs it, not one that happens to bring the package along.
FIRST_PARTY = {"cds_service", "hooks", "cards", "tests", "bench"}
DECLARED_FOR = {("cds_service", "hooks", "cards"): (), ("tests",): ("test",), ("bench",): ("bench",)}


def _imported_top_levels(folder: Path) -> dict[str, str]:
    """{top-level module: a file importing it} of the absolute imports under `folder`."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], str(path.relative_to(ROOT)))
    return found


def _declared(extras: tuple[str, ...]) -> set[str]:
    project = pyproject()["project"]
    listed = [*project["dependencies"],
              *(r for extra in extras for r in project["optional-dependencies"][extra])]
    return {canonicalize_name(Requirement(r).name) for r in listed}


@pytest.mark.parametrize(("folders", "extras"), sorted(DECLARED_FOR.items()))
def test_every_imported_package_is_declared(folders, extras) -> None:
    distributions = metadata.packages_distributions()
    declared = _declared(extras)
    undeclared = []
    for folder in folders:
        for module, where in _imported_top_levels(ROOT / folder).items():
            if module in FIRST_PARTY or module in sys.stdlib_module_names:
                continue
            providers = {canonicalize_name(d) for d in distributions.get(module, [])}
            if not providers & declared:
                undeclared.append(f"{module} ({where}; from {sorted(providers) or 'nothing installed'})")
    assert not undeclared, f"imported but not declared for {folders}: {undeclared}"
