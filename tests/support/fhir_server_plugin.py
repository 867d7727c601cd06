"""pytest plugin: a real FHIR R4 server (Medplum's FHIR engine on Node) for the integration tests.

Registration: ``tests`` is a package (``tests/__init__.py``) and the project root is on
``sys.path`` when pytest runs from it, so the plugin is loaded by module name::

    # tests/conftest.py
    pytest_plugins = ["tests.support.fhir_server_plugin"]

Register it in the conftest, not in a test module: a test module that imports from this plugin
before declaring ``pytest_plugins`` makes pytest warn that the plugin cannot be
assertion-rewritten (an error under ``filterwarnings = error``). Fixtures:

``fhir_server`` (session)
    Runs ``npm ci`` in ``tests/fhir_server`` when ``node_modules`` is missing or older than
    ``package-lock.json``, starts ``node server.mjs --port 0`` in its own process group, waits
    (at most 60 s) for its ``LISTENING <base>`` line and yields a :class:`FhirTestServer`. The
    process group is killed at the end of the session; the server also exits by itself when
    the pytest process is gone.

``clean_fhir_server`` (function)
    The same server with data, faults and stats reset before the test (faults again after it).

The server, its options and its admin endpoints are described in ``tests/fhir_server/README.md``.
The server's stderr goes to a temporary log whose tail is shown when it fails to start.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.processes import stop_process_group

SERVER_DIR = Path(__file__).resolve().parents[1] / "fhir_server"
START_TIMEOUT_S = 60.0
NPM_CI_TIMEOUT_S = 600.0
ADMIN_TIMEOUT_S = 30.0


class FhirServerError(RuntimeError):
    """The test FHIR server could not be installed or started, or refused a request."""


class FhirTestServer:
    """Handle on the running test FHIR server."""

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.base_url = base_url.rstrip("/")  # e.g. http://127.0.0.1:41234/fhir
        self.root_url = self.base_url.rsplit("/fhir", 1)[0]  # admin endpoints live here
        self.process = process
        self.log_path = log_path

    def __repr__(self) -> str:
        return f"FhirTestServer(base_url={self.base_url!r}, pid={self.process.pid})"

    # -- FHIR ----------------------------------------------------------------------------------

    def load_bundle(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POSTs a Bundle to the base and returns the response Bundle.

        ``transaction`` and ``batch`` Bundles are sent as they are; a ``collection`` (or other)
        Bundle is first turned into a transaction (PUT for entries with an id, else POST).
        Raises :class:`FhirServerError` on an HTTP error or on any failed batch entry.
        """
        if bundle.get("resourceType") != "Bundle":
            raise ValueError("load_bundle needs a Bundle")
        if bundle.get("type") not in ("transaction", "batch"):
            bundle = as_transaction(bundle)
        response = requests.post(
            self.base_url,
            json=bundle,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
            timeout=ADMIN_TIMEOUT_S,
        )
        if response.status_code >= 400:
            raise FhirServerError(
                f"{bundle['type']} failed: HTTP {response.status_code}: {response.text[:2000]}"
            )
        result: dict[str, Any] = response.json()
        failed = [
            (i, entry.get("response", {}))
            for i, entry in enumerate(result.get("entry", []))
            if not str(entry.get("response", {}).get("status", "200")).startswith("2")
        ]
        if failed:
            raise FhirServerError(f"{bundle['type']} entries failed: {failed!r}"[:4000])
        return result

    def load_resources(self, resources: list[dict[str, Any]]) -> dict[str, Any]:
        """Loads plain resources in one transaction (PUT when they have an id)."""
        return self.load_bundle(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET ``base/path`` (or an absolute URL) and return the JSON, raising on HTTP errors."""
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        response = requests.get(
            url, params=params or None, headers={"Accept": "application/fhir+json"}, timeout=ADMIN_TIMEOUT_S
        )
        if response.status_code >= 400:
            raise FhirServerError(f"GET {url}: HTTP {response.status_code}: {response.text[:2000]}")
        data: dict[str, Any] = response.json()
        return data

    # -- admin ---------------------------------------------------------------------------------

    def _admin(self, method: str, name: str, payload: Any = None) -> dict[str, Any]:
        response = requests.request(
            method, f"{self.root_url}/__admin/{name}", json=payload, timeout=ADMIN_TIMEOUT_S
        )
        if response.status_code != 200:
            raise FhirServerError(
                f"{method} /__admin/{name}: HTTP {response.status_code}: {response.text[:1000]}"
            )
        data: dict[str, Any] = response.json()
        return data

    def reset(self) -> None:
        """Empties the repository (a fresh MemoryRepository)."""
        self._admin("POST", "reset-data")

    def set_faults(self, **fault: Any) -> dict[str, Any]:
        """Adds one fault rule, e.g. ``set_faults(delay_ms=50)``,
        ``set_faults(status=500, match="Observation")``,
        ``set_faults(mode="hang", match="Condition", times=1)``. Returns ``{"faults": [...]}``."""
        return self._admin("POST", "faults", fault)

    def reset_faults(self) -> None:
        """Removes all fault rules (and drops requests held by a ``hang`` fault)."""
        self._admin("POST", "reset-faults")

    def faults(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._admin("GET", "faults")["faults"]
        return rules

    def stats(self) -> dict[str, Any]:
        """``requests``, ``in_flight``, ``max_in_flight``, ``by_method``, ``faults_applied``,
        ``last_request_had_bearer``, ``last_bearer_length``, ``requests_with_bearer``, ``recent``."""
        return self._admin("GET", "stats")

    def reset_stats(self) -> None:
        self._admin("POST", "reset-stats")

    def wait_until_idle(self, quiet_s: float = 0.3, timeout_s: float = 10.0) -> None:
        """Until no FHIR request is in flight and none arrived for `quiet_s`. A test that ended
        with a request held open (the "hang" fault, released by reset-faults) can have it retried
        by the service right after: waiting here keeps that late request out of the next test's
        statistics (the cause of a random `requests_with_bearer == requests` failure)."""
        deadline = time.monotonic() + timeout_s
        last = self.stats()
        while time.monotonic() < deadline:
            time.sleep(quiet_s)
            now = self.stats()
            if now["in_flight"] == 0 and now["requests"] == last["requests"]:
                return
            last = now
        raise FhirServerError(
            f"FHIR server still busy after {timeout_s} s: {last['in_flight']} requests in flight"
        )

    def reset_all(self) -> None:
        """Data, faults and stats in one call."""
        self._admin("POST", "reset")

    # -- process -------------------------------------------------------------------------------

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        _kill_group(self.process)


def as_transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """A transaction Bundle that writes every resource of ``bundle`` (PUT by id, else POST)."""
    entries = []
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if not resource:
            continue
        rtype = resource["resourceType"]
        new_entry: dict[str, Any] = {"resource": resource}
        if entry.get("fullUrl"):
            new_entry["fullUrl"] = entry["fullUrl"]
        if resource.get("id"):
            new_entry["request"] = {"method": "PUT", "url": f"{rtype}/{resource['id']}"}
        else:
            new_entry["request"] = {"method": "POST", "url": rtype}
        entries.append(new_entry)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


# ---------------------------------------------------------------------------------------------
# install and start


def _node_modules_fresh() -> bool:
    marker = SERVER_DIR / "node_modules" / ".package-lock.json"
    lock = SERVER_DIR / "package-lock.json"
    required = SERVER_DIR / "node_modules" / "@medplum" / "fhir-router" / "package.json"
    return marker.exists() and required.exists() and marker.stat().st_mtime >= lock.stat().st_mtime


def ensure_installed() -> None:
    """Runs ``npm ci`` in tests/fhir_server unless node_modules is present and up to date."""
    if _node_modules_fresh():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise FhirServerError(
            "npm is not on PATH: the integration tests need Node.js >= 20 with npm to install the test "
            f"FHIR server ({SERVER_DIR}); install Node.js (e.g. `apt-get install nodejs npm`) and rerun."
        )
    lock_file = SERVER_DIR / ".npm-ci.lock"
    with open(lock_file, "w") as handle:  # serialize concurrent pytest processes (xdist)
        _flock(handle)
        if _node_modules_fresh():
            return
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=SERVER_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise FhirServerError(
                f"`npm ci` in {SERVER_DIR} took longer than {NPM_CI_TIMEOUT_S:.0f} s"
            ) from exc
        if done.returncode != 0:
            raise FhirServerError(
                f"`npm ci` in {SERVER_DIR} failed (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )


def _flock(handle: Any) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    stop_process_group(process, timeout_s=5)
    if process.stdout is not None:
        process.stdout.close()


def start_server(timeout: float = START_TIMEOUT_S) -> FhirTestServer:
    """Installs (if needed) and starts the server; returns once it printed its LISTENING line."""
    node = shutil.which("node")
    if node is None:
        raise FhirServerError(
            "node is not on PATH: the integration tests need Node.js >= 20 for the test FHIR server"
        )
    ensure_installed()
    log_fd, log_name = tempfile.mkstemp(prefix="fhir-test-server-", suffix=".log")
    log_path = Path(log_name)
    env = {**os.environ, "FHIR_SERVER_PARENT_PID": str(os.getpid())}
    env.pop("PORT", None)
    try:
        process = subprocess.Popen(
            [node, "server.mjs", "--port", "0", "--host", "127.0.0.1"],
            cwd=SERVER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_fd,
            env=env,
            start_new_session=True,
        )
    finally:
        os.close(log_fd)

    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # reads the LISTENING line, then keeps draining stdout
        assert process.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for raw in process.stdout:
                lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        lines.put(None)

    threading.Thread(target=pump, name="fhir-server-stdout", daemon=True).start()

    server: FhirTestServer | None = None
    deadline = time.monotonic() + timeout
    while server is None:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.01)) if remaining > 0 else None
        except queue.Empty:
            line = None
        if line is not None and line.startswith("LISTENING "):
            server = FhirTestServer(line.split(" ", 1)[1].strip(), process, log_path)
            break
        if line is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)  # EOF on stdout: let the exit status arrive
            exited = process.returncode is not None
            _kill_group(process)
            why = (
                f"exited with {process.returncode}"
                if exited
                else f"printed no LISTENING line within {timeout:.0f} s"
            )
            log = log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""
            raise FhirServerError(f"test FHIR server {why}; its log {log_path}:\n{log}")
    return server


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FhirTestServer]:
    try:
        server = start_server()
    except FhirServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            server.log_path.unlink()


@pytest.fixture()
def clean_fhir_server(fhir_server: FhirTestServer) -> Iterator[FhirTestServer]:
    fhir_server.reset_all()
    yield fhir_server
    fhir_server.reset_faults()
