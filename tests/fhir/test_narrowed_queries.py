"""Issue 19 item 2: the prefetch queries ask only for what the model reads — and lose nothing.

Against the real test FHIR server: every published mCODE STU4 example (tests/data/mcode-stu4-
examples) and every synthetic patient maps to the same record whether its data are fetched with
the narrowed templates (cds_service/assessment/queries.py) or with unfiltered searches of the same
resource types; the narrowed templates do leave data out; and the issue's chart — a radiotherapy
course behind 1,500 other Procedures — gets its full answer.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from cds_service.assessment.queries import PATIENT_DATA_PREFETCH, REQUIRED_KEYS
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.gather import GatheredData, gather
from cds_service.mapping import codes, collect_resources, map_patient
from cds_service.model.patient import PatientRecord
from cds_service.protocol.registry import HookService
from hooks import patient_view
from tests.mapping.test_mcode_examples import FILES as MCODE_FILES
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, load_bundle, patient_id

pytestmark = pytest.mark.integration

URL = "/cds-services/bcbm-salvage"
# The resource type each prefetch key reads, without any filter: the baseline the narrowed
# queries are compared against (a server page of 1000 holds every example patient's data).
UNFILTERED = {
    key: (template if "?" not in template
          else template.split("?", 1)[0] + "?patient={{context.patientId}}&_count=1000")
    for key, template in PATIENT_DATA_PREFETCH.items()
}
UNFILTERED_SERVICE = HookService(id="unfiltered", hook="patient-view", title="", description="",
                                 handler=lambda call: {"cards": []}, prefetch=UNFILTERED,
                                 required_prefetch=REQUIRED_KEYS)


def fetch(config, service: HookService, server, pid: str) -> GatheredData:
    allowlist = FhirAllowlist.from_config(config.fhir_allowlist, config.fhir_allow_insecure_loopback)
    body = hook_request(pid, fhir_server=server.base_url)
    data = gather(service, body, config, allowlist, time.monotonic() + 10)
    assert data.missing == () and data.truncated == ()
    return data


def record_of(data: GatheredData, pid: str) -> tuple[PatientRecord, int]:
    resources = collect_resources(*data.resources())
    return map_patient(resources, patient_id=pid), len(resources)


def mcode_examples() -> list[dict[str, Any]]:
    """Every example resource, the entries of the example Bundles included (one per type/id)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in MCODE_FILES:
        resource = json.loads(path.read_text("utf-8"))
        if "resourceType" not in resource:
            continue
        inner = ([e["resource"] for e in resource.get("entry") or [] if "resource" in e]
                 if resource["resourceType"] == "Bundle" else [resource])
        for item in inner:
            found[(item["resourceType"], item["id"])] = item
    return list(found.values())


def test_the_queries_carry_every_code_of_the_mapping_tables() -> None:
    """One home: the templates are built from the mapping's tables, so adding a code there adds
    it to the query (checked here against the tables the mappers read)."""
    observations = PATIENT_DATA_PREFETCH["observations"]
    for code in (codes.TUMOR_SIZE_CODE, codes.KPS_CODE, codes.ECOG_CODE,
                 *codes.DISEASE_STATUS_CODES, *codes.RECEPTOR_RESULT_CODES,
                 *codes.RECEPTOR_PERCENT_CODES):
        assert re.search(rf"[=,]{re.escape(code)}[,&]", observations), code
    procedures = PATIENT_DATA_PREFETCH["procedures"]
    for code in (codes.RT_COURSE_CODE, *codes.BRAIN_SURGERY_CODES):
        assert re.search(rf"[=,]{code}[,&]", procedures), code
    assert "|" not in observations + procedures  # bare codes: every system alias matches


def test_mcode_examples_map_the_same_through_the_narrowed_queries(clean_fhir_server,
                                                                  app_config) -> None:
    examples = mcode_examples()
    clean_fhir_server.load_resources(examples)
    patients = sorted(r["id"] for r in examples if r["resourceType"] == "Patient")
    assert len(patients) == 7
    narrowed_total = unfiltered_total = 0
    for pid in patients:
        narrowed, narrowed_count = record_of(
            fetch(app_config, patient_view.SERVICE, clean_fhir_server, pid), pid)
        unfiltered, unfiltered_count = record_of(
            fetch(app_config, UNFILTERED_SERVICE, clean_fhir_server, pid), pid)
        assert narrowed == unfiltered, pid
        narrowed_total += narrowed_count
        unfiltered_total += unfiltered_count
    assert narrowed_total < unfiltered_total  # the queries did leave something out


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_synthetic_patients_answer_the_same_fetched_or_prefetched(clean_fhir_server, app_config,
                                                                  client, name) -> None:
    clean_fhir_server.load_bundle(load_bundle(name))
    pid = patient_id(name)
    narrowed, _ = record_of(fetch(app_config, patient_view.SERVICE, clean_fhir_server, pid), pid)
    unfiltered, _ = record_of(fetch(app_config, UNFILTERED_SERVICE, clean_fhir_server, pid), pid)
    assert narrowed == unfiltered
    fetched = client.post(URL, json=hook_request(pid, fhir_server=clean_fhir_server.base_url))
    prefetched = client.post(URL, json=hook_request(pid, prefetch=full_prefetch(PATIENTS[name]())))
    assert without_uuids(fetched.get_json()) == without_uuids(prefetched.get_json())


def without_uuids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_uuids(v) for k, v in value.items() if k not in ("uuid", "id")}
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", value)
    return value


def unrelated_procedures(pid: str, count: int) -> list[dict[str, Any]]:
    """Procedures the model does not read (venepunctures), as years of treatment leave them."""
    return [{"resourceType": "Procedure", "id": f"venepuncture-{i}", "status": "completed",
             "code": {"coding": [{"system": "http://snomed.info/sct", "code": "396540005",
                                  "display": "Phlebotomy"}]},
             "subject": {"reference": f"Patient/{pid}"},
             "performedDateTime": f"20{10 + i % 13:02d}-01-01"} for i in range(count)]


def test_a_course_behind_1500_other_procedures_gets_the_full_answer(clean_fhir_server,
                                                                    client) -> None:
    """The issue's chart: before, the course sat past the 1,000-entry page cap and the answer
    was {"cards": []}; the narrowed query returns the one course, and the three cards."""
    name = "progressive-after-srs-in-field"
    pid = patient_id(name)
    clean_fhir_server.load_resources(unrelated_procedures(pid, 1500))
    clean_fhir_server.load_bundle(load_bundle(name))
    fetched = client.post(URL, json=hook_request(pid, fhir_server=clean_fhir_server.base_url))
    prefetched = client.post(URL, json=hook_request(pid, prefetch=full_prefetch(PATIENTS[name]())))
    assert len(fetched.get_json()["cards"]) == 3
    assert without_uuids(fetched.get_json()) == without_uuids(prefetched.get_json())
