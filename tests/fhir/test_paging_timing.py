"""Issue 19 item 2: paging of different queries runs concurrently, and the narrowed queries cost
one round trip where the unfiltered ones paged. Timings against the real test FHIR server with
50 ms injected per request; the figures are printed (`-s`) and recorded in docs/performance.md:

    .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/fhir/test_paging_timing.py
"""

from __future__ import annotations

import statistics
import time

import pytest

from cds_service.assessment.queries import REQUIRED_KEYS
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.gather import gather
from cds_service.protocol.registry import HookService
from hooks import patient_view
from tests.fhir.test_narrowed_queries import unrelated_procedures
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, load_bundle, patient_id

pytestmark = pytest.mark.integration

NAME = "progressive-after-srs-in-field"
LATENCY_MS = 50
RUNS = 5
# The templates before issue 19 (commit 524bc24), kept here only as the measurement's baseline.
OBSERVATION_CODES_BEFORE = (
    "21889-1", "97509-4", "88040-1", "89243-0", "89247-1", "48676-1", "85319-2", "85318-4",
    "31150-6", "72383-3", "49683-6", "74860-8", "16112-5", "85337-4", "40556-3", "85329-1",
    "16113-3", "85339-0", "40557-1", "85325-9")
BEFORE = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}&_count=100",
    "observations": ("Observation?patient={{context.patientId}}&code="
                     + ",".join("http://loinc.org|" + c for c in OBSERVATION_CODES_BEFORE)
                     + "&_count=100"),
    "procedures": "Procedure?patient={{context.patientId}}&_count=100",
    "bodyStructures": "BodyStructure?patient={{context.patientId}}&_count=100",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&_count=100",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}&_count=100",
}
BEFORE_SERVICE = HookService(id="before", hook="patient-view", title="", description="",
                             handler=lambda call: {"cards": []}, prefetch=BEFORE,
                             required_prefetch=REQUIRED_KEYS)


def timed_gather(config, service, body) -> tuple[float, object]:
    allowlist = FhirAllowlist.from_config(config.fhir_allowlist, config.fhir_allow_insecure_loopback)
    started = time.perf_counter()
    data = gather(service, body, config, allowlist, time.monotonic() + 30)
    return time.perf_counter() - started, data


def test_a_1500_procedure_chart_before_and_after(clean_fhir_server, app_config) -> None:
    pid = patient_id(NAME)
    clean_fhir_server.load_resources(unrelated_procedures(pid, 1500))
    clean_fhir_server.load_bundle(load_bundle(NAME))
    clean_fhir_server.set_faults(delay_ms=LATENCY_MS)
    body = hook_request(pid, fhir_server=clean_fhir_server.base_url)
    figures = {}
    for label, service in (("before", BEFORE_SERVICE), ("after", patient_view.SERVICE)):
        clean_fhir_server.reset_stats()
        times = []
        for _ in range(RUNS):
            elapsed, data = timed_gather(app_config, service, body)
            times.append(elapsed)
        requests = clean_fhir_server.stats()["requests"] // RUNS
        figures[label] = (statistics.median(times), requests, len(data.truncated))
        print(f"\n{label}: median {statistics.median(times) * 1000:.0f} ms over {RUNS} runs, "
              f"{requests} FHIR requests per call, {len(data.truncated)} keys cut")
    before, after = figures["before"], figures["after"]
    assert before[2] == 1 and after[2] == 0  # before, the procedures were cut at 10 pages
    assert after[1] < before[1]
    assert after[0] < before[0] / 2


def test_paginated_prefetch_pages_while_the_other_queries_run(clean_fhir_server,
                                                              app_config) -> None:
    """A prefetched first page whose `next` must be read, and keys that must be fetched: both at
    once (before, the further pages were read only after every query had finished)."""
    pid = patient_id(NAME)
    clean_fhir_server.load_bundle(load_bundle(NAME))
    prefetch = full_prefetch(PATIENTS[NAME]())
    for key in ("procedures", "profiledProcedures", "bodyStructures"):
        del prefetch[key]  # fetched
    observations = prefetch["observations"]
    observations["link"] = [{"relation": "next", "url": clean_fhir_server.base_url
                             + f"/Observation?patient={pid}&_count=100&_offset=100"}]
    delay_s = 0.4
    clean_fhir_server.set_faults(delay_ms=int(delay_s * 1000))
    elapsed, data = timed_gather(app_config, patient_view.SERVICE,
                                 hook_request(pid, prefetch=prefetch,
                                              fhir_server=clean_fhir_server.base_url))
    assert data.missing == () and data.truncated == ()
    assert clean_fhir_server.stats()["max_in_flight"] == 4  # 3 queries + the next page
    assert elapsed < 2 * delay_s
