"""Discovery, health, CORS and the JSON error contract."""

from cds_service.assessment.queries import REQUIRED_KEYS


def test_discovery_lists_one_service_per_hook(client) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.get_json()["services"]}
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-select", "order-sign"}
    for service in services.values():
        assert service["description"] and service["title"]
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert REQUIRED_KEYS <= set(service["prefetch"])
        assert all(v not in (None, "", [], {}) for v in service.values())


def test_discovery_entry_by_id_not_by_position(client) -> None:
    services = {s["id"]: s for s in client.get("/cds-services").get_json()["services"]}
    assert services["bcbm-salvage"]["hook"] == "patient-view"
    assert services["bcbm-order-select"]["hook"] == "order-select"
    assert services["bcbm-order-sign"]["hook"] == "order-sign"


def test_health_reports_database(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "services": 3}


def test_cors_preflight_allows_authorization_and_content_type(client) -> None:
    response = client.options("/cds-services/bcbm-salvage", headers={
        "Origin": "https://sandbox.cds-hooks.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_origin_list_is_configurable(app_config) -> None:
    from cds_service.web.app import create_app

    app = create_app(app_config.replace(cors_origins=("https://ehr.example.org",)))
    client = app.test_client()
    allowed = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    refused = client.get("/cds-services", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_unknown_route_and_method_answer_json(client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["message"]
    response = client.delete("/cds-services")
    assert response.status_code == 405
    assert response.is_json


def test_unexpected_error_is_json_without_stack_trace(app) -> None:
    @app.get("/boom")
    def boom():  # pragma: no cover - replaced by the error handler
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body == {"error": "internal-error",
                    "message": "the service failed to process this request"}
    assert b"Traceback" not in response.data and b"secret" not in response.data


def test_answers_with_patient_data_are_never_stored(client) -> None:
    """Issue 16, item 14: hook and assessment answers carry patient data."""
    from tests.support import fhir_builders as b
    from tests.support import synthetic_patients as syn
    from tests.support.hook_requests import full_prefetch, hook_request

    resources = syn.PATIENTS["progressive-after-srs-in-field"]()
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    hook = client.post("/cds-services/bcbm-salvage",
                       json=hook_request(pid, prefetch=full_prefetch(resources)))
    assert hook.status_code == 200 and hook.get_json()["cards"]
    assert hook.headers["Cache-Control"] == "no-store"
    assessment = client.post("/api/assessment?date=2024-03-01", json=b.collection(resources))
    assert assessment.status_code == 200
    assert assessment.headers["Cache-Control"] == "no-store"


def test_cors_does_not_cover_the_smart_app(client) -> None:
    """Issue 16, item 14: the SMART pages hold patient data; no cross-origin script reads them."""
    response = client.get("/smart/launch", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers
    discovery = client.get("/cds-services", headers={"Origin": "https://evil.example.com"})
    assert discovery.headers["Access-Control-Allow-Origin"] == "*"  # the default stays for CDS
