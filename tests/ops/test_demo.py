"""`salvage-cds demo`: the package's demo patients, loaded into the real test FHIR server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date

import pytest
import requests

from cds_service.mapping import map_patient
from cds_service.model.assess import assess
from cds_service.model.vocabulary import PROGRESSIVE_SITUATIONS
from cds_service.ops import demo
from cds_service.protocol.validation import RequestValidator
from tests.conftest import ROOT
from tests.support.processes import free_port
from tests.support.synthetic_patients import ALL_PATIENTS, SILENT, patient_id


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cds_service.ops.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# --- the data -----------------------------------------------------------------------------------

def test_catalog_names_every_shipped_bundle_and_every_builder() -> None:
    names = [p.name for p in demo.CATALOG]
    assert sorted(names) == demo.bundle_names() == sorted(ALL_PATIENTS)
    assert all(p.patient_id == patient_id(p.name) for p in demo.CATALOG)


@pytest.mark.parametrize("patient", demo.CATALOG, ids=lambda p: p.name)
def test_expected_situation_is_the_models(patient: demo.DemoPatient) -> None:
    entries = demo.bundle(patient.name)["entry"]
    result = assess(map_patient([e["resource"] for e in entries]), date.today())
    assert result.situation.code == patient.situation
    assert patient.in_scope == (patient.situation in PROGRESSIVE_SITUATIONS)
    assert patient.in_scope == (patient.name not in SILENT)


def test_demo_covers_every_situation_of_the_review() -> None:
    assert {p.situation for p in demo.CATALOG} >= set(PROGRESSIVE_SITUATIONS)
    assert any(not p.in_scope for p in demo.CATALOG)


# --- against the real FHIR server -------------------------------------------------------------

def stored_counts(server, patient: demo.DemoPatient) -> Counter[str]:
    counts: Counter[str] = Counter()
    types = {e["resource"]["resourceType"] for e in demo.bundle(patient.name)["entry"]}
    for resource_type in types - {"Patient"}:
        found = server.get(resource_type, patient=patient.patient_id, _count=1000)
        counts[resource_type] = len(found.get("entry") or [])
    counts["Patient"] = 1 if server.get(f"Patient/{patient.patient_id}") else 0
    return counts


def bundle_counts(patient: demo.DemoPatient) -> Counter[str]:
    return Counter(e["resource"]["resourceType"] for e in demo.bundle(patient.name)["entry"])


@pytest.mark.integration
def test_demo_load_is_idempotent_and_prints_a_curl_per_patient(clean_fhir_server) -> None:
    first = cli("demo", "load", "--fhir", clean_fhir_server.base_url)
    assert first.returncode == 0, first.stderr
    second = cli("demo", "load", "--fhir", clean_fhir_server.base_url)
    assert second.returncode == 0, second.stderr
    assert first.stdout.count("curl -s -X POST") == len(demo.CATALOG)
    for patient in demo.CATALOG:
        assert stored_counts(clean_fhir_server, patient) == bundle_counts(patient), patient.name
        line = next(x for x in second.stdout.splitlines() if x.startswith(patient.patient_id + " "))
        assert patient.situation in line


def run_printed_curl(output: str, patient_id: str) -> dict:
    lines = output.splitlines()
    index = next(i for i, x in enumerate(lines) if x.startswith(patient_id + " "))
    curl = lines[index + 1].strip()
    done = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["progressive-after-srs-in-field", "untreated-bcbm"])
def test_printed_curl_gets_the_cards_without_prefetch(clean_fhir_server, live_service,
                                                      name: str) -> None:
    loaded = cli("demo", "load", "--fhir", clean_fhir_server.base_url,
                 "--service", live_service.base_url)
    assert loaded.returncode == 0, loaded.stderr
    answer = run_printed_curl(loaded.stdout, patient_id(name))
    assert bool(answer["cards"]) == (name not in SILENT)


@pytest.mark.integration
@pytest.mark.parametrize("patient", demo.CATALOG, ids=lambda p: p.name)
def test_demo_request_prefetches_from_the_server(clean_fhir_server, live_service,
                                                 patient: demo.DemoPatient) -> None:
    clean_fhir_server.load_bundle(demo.bundle(patient.name))
    printed = cli("demo", "request", patient.name, "--fhir", clean_fhir_server.base_url)
    assert printed.returncode == 0, printed.stderr
    request = json.loads(printed.stdout)
    RequestValidator.create().validate_request(request, "patient-view")
    assert request["prefetch"]["patient"]["id"] == patient.patient_id
    loaded = sum(len(b.get("entry", [])) for k, b in request["prefetch"].items() if k != "patient")
    assert loaded > 0
    clean_fhir_server.reset_stats()
    answer = requests.post(live_service.url("/cds-services/bcbm-salvage"), json=request,
                           timeout=30).json()
    assert bool(answer["cards"]) == patient.in_scope
    assert clean_fhir_server.stats().get("requests", 0) == 0  # everything was prefetched


# --- clear errors ---------------------------------------------------------------------------------

def test_demo_load_without_a_server_fails_clearly() -> None:
    done = cli("demo", "load", "--fhir", f"http://127.0.0.1:{free_port()}/fhir")
    assert done.returncode == 1
    assert "cannot reach the FHIR server" in done.stderr and "Traceback" not in done.stderr


def test_demo_load_refuses_a_non_url() -> None:
    done = cli("demo", "load", "--fhir", "localhost/fhir")
    assert done.returncode == 1 and "http(s) FHIR base URL" in done.stderr


@pytest.mark.integration
def test_demo_request_for_an_unknown_patient_names_the_http_error(clean_fhir_server) -> None:
    done = cli("demo", "request", "no-such-patient", "--fhir", clean_fhir_server.base_url)
    assert done.returncode == 1
    assert "Patient/no-such-patient: HTTP 404" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.integration
def test_demo_load_sends_the_token_and_never_prints_it(clean_fhir_server) -> None:
    clean_fhir_server.reset_stats()
    token = "sandbox-token-0123456789"
    done = cli("demo", "load", "--fhir", clean_fhir_server.base_url, "--token", token)
    assert done.returncode == 0, done.stderr
    stats = clean_fhir_server.stats()
    assert stats["requests_with_bearer"] == stats["requests"] == len(demo.CATALOG)
    assert token not in done.stdout + done.stderr
    assert "$FHIR_TOKEN" in done.stdout and '"fhirAuthorization"' in done.stdout


@pytest.mark.integration
def test_printed_curl_with_a_token_passes_it_from_the_shell(clean_fhir_server, live_service,
                                                           monkeypatch) -> None:
    loaded = cli("demo", "load", "--fhir", clean_fhir_server.base_url, "--token", "t0ken",
                 "--service", live_service.base_url)
    assert loaded.returncode == 0, loaded.stderr
    monkeypatch.setenv("FHIR_TOKEN", "t0ken")
    clean_fhir_server.reset_stats()
    answer = run_printed_curl(loaded.stdout, patient_id("progressive-after-srs-in-field"))
    assert answer["cards"]
    assert clean_fhir_server.stats()["last_bearer_length"] == len("t0ken")
