"""`salvage-cds client new`, `token` and `check-config`: an operator's path from nothing to a
trusted client, checked against the real service with JWT authentication on."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cds_service.ops.config_check import config_problems, unknown_variables
from tests.conftest import ROOT, start_live_service, stop_live_service


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SALVAGE_CDS_")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "cds_service.ops.cli", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def new_client(out: Path, iss: str = "https://ehr.example.org/cds", *extra: str) -> dict:
    done = cli("client", "new", "--iss", iss, "--out", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def clients_file(directory: Path, *entries: dict) -> Path:
    path = directory / "clients.json"
    path.write_text(json.dumps({"clients": list(entries)}), "utf-8")
    return path


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_client_new_writes_a_private_key_a_public_jwks_and_the_entry(tmp_path, alg) -> None:
    entry = new_client(tmp_path, "https://ehr.example.org/cds", "--alg", alg, "--name", "EHR")
    assert entry["name"] == "EHR" and entry["iss"] == "https://ehr.example.org/cds"
    private = tmp_path / "ehr.example.org-cds.private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    keys = json.loads(Path(entry["jwks_file"]).read_text("utf-8"))["keys"]
    assert len(keys) == 1 and keys[0]["alg"] == alg and keys[0]["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])
    from cds_service.security.clients import ClientRegistry

    assert len(ClientRegistry.load(clients_file(tmp_path, entry))) == 1


def test_client_new_never_overwrites_a_key_and_refuses_a_bad_issuer(tmp_path) -> None:
    new_client(tmp_path)
    again = cli("client", "new", "--iss", "https://ehr.example.org/cds", "--out", str(tmp_path))
    assert again.returncode == 1 and "exists" in again.stderr
    bad = cli("client", "new", "--iss", "ehr", "--out", str(tmp_path))
    assert bad.returncode == 1 and "issuer URL" in bad.stderr


def test_token_with_an_unusable_key_fails_clearly(tmp_path) -> None:
    (tmp_path / "k.pem").write_text("not a key", "utf-8")
    done = cli("token", "--key", str(tmp_path / "k.pem"), "--aud", "http://x/cds-services",
               "--iss", "https://ehr.example.org")
    assert done.returncode == 1 and "not an unencrypted PEM private key" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_new_client_and_its_token_are_accepted_by_the_real_service_once(tmp_path) -> None:
    entry = new_client(tmp_path / "keys")
    service = start_live_service(tmp_path, dev=False, env={
        "SALVAGE_CDS_JWT_CLIENTS_FILE": str(clients_file(tmp_path, entry))})
    try:
        discovery = service.url("/cds-services")
        signed = cli("token", "--key", str(tmp_path / "keys" / "ehr.example.org-cds.private.pem"),
                     "--aud", discovery)
        assert signed.returncode == 0, signed.stderr
        bearer = {"Authorization": f"Bearer {signed.stdout.strip()}"}
        assert requests.get(discovery, headers=bearer, timeout=10).status_code == 200
        assert requests.get(discovery, headers=bearer, timeout=10).status_code == 401  # replay
        other = cli("token", "--key", str(tmp_path / "keys" / "ehr.example.org-cds.private.pem"),
                    "--aud", service.url("/cds-services/bcbm-salvage"))
        wrong_aud = {"Authorization": f"Bearer {other.stdout.strip()}"}
        assert requests.get(discovery, headers=wrong_aud, timeout=10).status_code == 401
    finally:
        stop_live_service(service.process)


def test_check_config_ok(tmp_path) -> None:
    entry = new_client(tmp_path)
    done = cli("check-config", env={"SALVAGE_CDS_JWT_CLIENTS_FILE":
                                    str(clients_file(tmp_path, entry))})
    assert done.returncode == 0 and done.stdout.strip() == "configuration OK"


def test_check_config_prints_one_line_per_problem(tmp_path) -> None:
    done = cli("check-config", env={"SALVAGE_CDS_FHIR_RETRIES": "two",
                                    "SALVAGE_CDS_FHIR_READ_TIMEOUT_S": "soon",
                                    "SALVAGE_CDS_FHIR_ALOWLIST": "https://ehr.example.org/fhir"})
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len([x for x in lines if x.startswith("problem: ")]) == 2
    assert any("SALVAGE_CDS_FHIR_RETRIES" in x for x in lines)
    assert any("SALVAGE_CDS_FHIR_READ_TIMEOUT_S" in x for x in lines)
    assert ("warning: SALVAGE_CDS_FHIR_ALOWLIST is not a setting and is ignored (did you mean "
            "SALVAGE_CDS_FHIR_ALLOWLIST?)") in lines


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "JWT_CLIENTS_FILE is unset"),
    ({"SALVAGE_CDS_JWT_CLIENTS_FILE": "/nonexistent/clients.json"}, "cannot read it"),
    ({"SALVAGE_CDS_PUBLIC_BASE_URL": "http://0.0.0.0:8080"}, "wildcard address"),
    ({"SALVAGE_CDS_PUBLIC_BASE_URL": "http://cds.example.org"}, "plain http"),
    ({"SALVAGE_CDS_FHIR_ALLOWLIST": "ftp://ehr.example.org/fhir"}, "SALVAGE_CDS_FHIR_ALLOWLIST"),
    ({"SALVAGE_CDS_AUTH_REQUIRED": "false"}, "serve --dev"),
    # the deployment example's placeholder, copied as it is, would sign SMART session cookies with
    # a key anyone can read (found by a new user's walkthrough)
    ({"SALVAGE_CDS_SECRET_KEY": "change-me-to-64-random-hex-characters"}, "placeholder"),
    ({"SALVAGE_CDS_SECRET_KEY": "x"}, "at least 32"),
    ({"SALVAGE_CDS_SECRET_KEY": "0" * 64}, "too few distinct characters"),
])
def test_check_config_finds(env: dict[str, str], expected: str) -> None:
    assert any(expected in line for line in config_problems(env)), config_problems(env)


def test_check_config_names_every_bad_clients_entry_member(tmp_path) -> None:
    path = clients_file(tmp_path, {"iss": "https://ehr.example.org", "jwks_file": "absent.json"})
    problems = config_problems({"SALVAGE_CDS_JWT_CLIENTS_FILE": str(path)})
    assert len(problems) == 1 and "clients[0]" in problems[0] and "absent.json" in problems[0]


def test_unknown_variables_are_warned_with_the_nearest_name() -> None:
    warned = unknown_variables({"SALVAGE_CDS_DATABSE_URL": "x", "SALVAGE_CDS_DATABASE_URL": "y",
                                "SALVAGE_CDS_CHROMIUM": "/usr/bin/chromium", "OTHER": "z"})
    assert warned == ["SALVAGE_CDS_DATABSE_URL is not a setting and is ignored (did you mean "
                      "SALVAGE_CDS_DATABASE_URL?)"]


@pytest.mark.integration
def test_serve_warns_about_a_misspelled_variable(tmp_path) -> None:
    service = start_live_service(tmp_path, env={"SALVAGE_CDS_REQUEST_BUDGET": "5"})
    stop_live_service(service.process)
    log = (tmp_path / "service.log").read_text("utf-8")
    assert ("WARNING: SALVAGE_CDS_REQUEST_BUDGET is not a setting and is ignored (did you mean "
            "SALVAGE_CDS_REQUEST_BUDGET_S?)") in log
