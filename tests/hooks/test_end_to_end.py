"""End to end over HTTP: the real service (gunicorn) fetches everything from the real FHIR server.

No prefetch at all: the service reads the patient's data from `fhirServer` itself.
"""

from __future__ import annotations

import pytest
import requests

from cards import codes
from cds_service.protocol.response_schema import response_errors
from tests import fhir_builders as b
from tests.cards.fhir_checks import assert_valid_fhir, suggestion_resources
from tests.hook_requests import hook_request
from tests.hooks import golden
from tests.synthetic_patients import resource as synthetic_resource
from tests.synthetic_patients import PATIENTS, SILENT, load_bundle, patient_id

pytestmark = pytest.mark.integration


def loaded(server, name: str):
    """One patient at a time: the synthetic patients reuse resource ids ("brain-mets"...)."""
    server.load_bundle(load_bundle(name))
    return server


def post(live_service, service_id: str, body: dict) -> dict:
    response = requests.post(live_service.url(f"/cds-services/{service_id}"), json=body, timeout=30)
    assert response.status_code == 200, response.text
    result = response.json()
    assert response_errors(result) == []
    return result


def test_discovery(live_service) -> None:
    services = requests.get(live_service.url("/cds-services"), timeout=10).json()["services"]
    assert {(s["id"], s["hook"]) for s in services} >= {
        ("bcbm-salvage", "patient-view"), ("bcbm-order-select", "order-select"),
        ("bcbm-order-sign", "order-sign")}


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_patient_view_without_prefetch(live_service, clean_fhir_server, name: str) -> None:
    server = loaded(clean_fhir_server, name)
    body = hook_request(patient_id(name), fhir_server=server.base_url,
                        access_token="e2e-token")
    result = post(live_service, "bcbm-salvage", body)
    assert server.stats()["requests"] > 1  # everything came from the FHIR server
    if name in SILENT:
        assert result == {"cards": []}
        return
    # a live service answers on the real day: everything but the (date-bound) detail text
    expected = golden.without_detail(golden.load(name))
    assert golden.without_detail(golden.skeleton(result)) == expected
    main = result["cards"][0]
    assert "Could not be obtained" not in main["detail"]
    assert main["links"][0]["url"] == live_service.url("/smart/launch")
    for resource in suggestion_resources(result["cards"]):
        assert_valid_fhir(resource)


def test_order_sign_without_prefetch(live_service, clean_fhir_server) -> None:
    name = "progressive-after-wbrt-limited"
    server = loaded(clean_fhir_server, name)
    pid = patient_id(name)
    whole_brain = synthetic_resource(name, "vol-wbrt")
    draft = b.rt_prescription(pid, "wbrt-again", whole_brain, 3000, 10)
    body = hook_request(pid, "order-sign", fhir_server=server.base_url,
                        draft_orders=b.draft_orders([draft]))
    cards = post(live_service, "bcbm-order-sign", body)["cards"]
    assert cards, "a second WBRT at 30 Gy / 10 fractions must be flagged"
    updates = [a for c in cards for s in c.get("suggestions", []) for a in s["actions"]
               if a["type"] == "update"]
    assert updates and updates[0]["resourceId"] == "ServiceRequest/wbrt-again"
    assert_valid_fhir(updates[0]["resource"])
    assert all(c["source"]["topic"]["system"] in (codes.SALVAGE_WARNING, codes.SALVAGE_OPTION)
               for c in cards)
