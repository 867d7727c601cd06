"""Building CDS Hooks 2.0 requests for tests: contexts, full prefetch from a patient's resources."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from cds_service.mapping import codes

# Which prefetch key (cds_service/assessment/queries.py) holds which resource type.
PREFETCH_KEY_BY_TYPE = {
    "Condition": "conditions",
    "Observation": "observations",
    "Procedure": "procedures",
    "BodyStructure": "bodyStructures",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
}


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"http://ehr.example/fhir/{r['resourceType']}/{r['id']}",
                   "resource": copy.deepcopy(r), "search": {"mode": "match"}} for r in resources],
    }


def _receptor_panel(resource: dict[str, Any]) -> bool:
    """Matches the `receptorPanels` query (component-code = a receptor code)."""
    return resource["resourceType"] == "Observation" and any(
        coding.get("code") in codes.RECEPTOR_SEARCH_CODES
        for component in resource.get("component") or []
        for coding in (component.get("code") or {}).get("coding") or [])


def _profiled_procedure(resource: dict[str, Any]) -> bool:
    """Matches the `profiledProcedures` query (_profile = a course or surgery profile)."""
    return resource["resourceType"] == "Procedure" and bool(
        set((resource.get("meta") or {}).get("profile") or []) & set(codes.PROCEDURE_SEARCH_PROFILES))


# Keys whose query picks, from a type another key already holds, the resources that match this.
SECONDARY_KEYS = {"receptorPanels": _receptor_panel, "profiledProcedures": _profiled_procedure}


def full_prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Every prefetch key filled, as an EHR that satisfies all templates would send it (the main
    key of a type holds all its resources: an EHR may send more than was asked)."""
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in PREFETCH_KEY_BY_TYPE.values()}
    grouped.update({key: [] for key in SECONDARY_KEYS})
    patient = None
    for resource in resources:
        if resource["resourceType"] == "Patient":
            patient = copy.deepcopy(resource)
        elif resource["resourceType"] in PREFETCH_KEY_BY_TYPE:
            grouped[PREFETCH_KEY_BY_TYPE[resource["resourceType"]]].append(resource)
        for key, matches in SECONDARY_KEYS.items():
            if matches(resource):
                grouped[key].append(resource)
    prefetch: dict[str, Any] = {"patient": patient}
    prefetch.update({key: searchset(items) for key, items in grouped.items()})
    return prefetch


def context(patient_id: str, hook: str = "patient-view", draft_orders: dict[str, Any] | None = None,
            selections: list[str] | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"userId": "Practitioner/example-radonc", "patientId": patient_id}
    if hook in ("order-select", "order-sign"):
        ctx["draftOrders"] = draft_orders or {"resourceType": "Bundle", "type": "collection",
                                              "entry": []}
    if hook == "order-select":
        ctx["selections"] = selections or [
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in ctx["draftOrders"].get("entry", [])[:1]
        ] or ["ServiceRequest/none"]
    return ctx


def hook_request(patient_id: str, hook: str = "patient-view", *, prefetch: dict | None = None,
                 fhir_server: str | None = None, access_token: str | None = None,
                 **context_kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context(patient_id, hook, **context_kw),
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server:
        body["fhirServer"] = fhir_server
    if access_token:
        body["fhirAuthorization"] = {
            "access_token": access_token, "token_type": "Bearer", "expires_in": 300,
            "scope": "patient/*.read", "subject": "salvage-cds", "patient": patient_id,
        }
    return body


def patient_view_without_prefetch(live_service: Any, server: Any, resources: list[dict[str, Any]],
                                  *, access_token: str = "e2e-token") -> dict[str, Any]:
    """Load one patient's resources into the test FHIR server and call patient-view on the live
    service with no prefetch (it reads everything from the server); the 200 answer's JSON."""
    import requests

    server.load_resources(resources)
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    body = hook_request(pid, fhir_server=server.base_url, access_token=access_token)
    response = requests.post(live_service.url("/cds-services/bcbm-salvage"), json=body,
                             timeout=30)
    assert response.status_code == 200, response.text
    return response.json()
