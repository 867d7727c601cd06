"""Every malformed service call gets a 4xx whose body names the offending member."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from cds_service.protocol.validation import (
    REQUEST_SCHEMA,
    RequestValidator,
    _describe,
    _first_error,
    error_path,
    load_schema,
)
from tests.support.hook_requests import hook_request

URL = "/cds-services/bcbm-salvage"


def valid() -> dict:
    body = hook_request("p1")
    body["prefetch"] = {"patient": None, "conditions": None}
    return body


def without(path: str) -> dict:
    body = valid()
    *parents, last = path.split(".")
    target = body
    for p in parents:
        target = target[p]
    del target[last]
    return body


def with_value(path: str, value) -> dict:
    body = valid()
    *parents, last = path.split(".")
    target = body
    for p in parents:
        target = target.setdefault(p, {})
    target[last] = value
    return body


def with_auth(**changes) -> dict:
    body = valid()
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    auth = {"access_token": "t", "token_type": "Bearer", "expires_in": 300,
            "scope": "patient/*.read", "subject": "salvage-cds"}
    auth.update(changes)
    body["fhirAuthorization"] = {k: v for k, v in auth.items() if v is not None}
    return body


CASES = [
    ("hook missing", without("hook"), "hook"),
    ("hookInstance missing", without("hookInstance"), "hookInstance"),
    ("context missing", without("context"), "context"),
    ("hook not a string", with_value("hook", 7), "hook"),
    ("context not an object", with_value("context", "p1"), "context"),
    ("patientId missing", without("context.patientId"), "context.patientId"),
    ("userId missing", without("context.userId"), "context.userId"),
    ("patientId wrong type", with_value("context.patientId", 12), "context.patientId"),
    ("patientId not a bare id", with_value("context.patientId", "Patient/p1"),
     "context.patientId"),
    ("userId not a reference", with_value("context.userId", "dr-who"), "context.userId"),
    ("fhirServer not a URL", with_value("fhirServer", "ftp://x"), "fhirServer"),
    ("prefetch not an object", with_value("prefetch", []), "prefetch"),
    ("prefetch value a string", with_value("prefetch", {"patient": "Patient/1"}), "prefetch.patient"),
    ("auth without fhirServer", {**valid(), "fhirAuthorization": with_auth()["fhirAuthorization"]},
     "fhirServer"),
    ("auth without access_token", with_auth(access_token=None), "fhirAuthorization.access_token"),
    ("auth without token_type", with_auth(token_type=None), "fhirAuthorization.token_type"),
    ("auth without expires_in", with_auth(expires_in=None), "fhirAuthorization.expires_in"),
    ("auth without scope", with_auth(scope=None), "fhirAuthorization.scope"),
    ("auth without subject", with_auth(subject=None), "fhirAuthorization.subject"),
    ("auth token_type not Bearer", with_auth(token_type="MAC"), "fhirAuthorization.token_type"),
    ("auth expires_in a string", with_auth(expires_in="300"), "fhirAuthorization.expires_in"),
    # an HTTP header carries only visible ASCII (RFC 6750 b64token): a non-Latin-1 character was a
    # 500 when the token went into the Authorization header (issue 16, item 12)
    ("auth token with a non-Latin-1 character", with_auth(access_token="tok\u20acen"),
     "fhirAuthorization.access_token"),
    ("auth token with a space", with_auth(access_token="two words"),
     "fhirAuthorization.access_token"),
    ("wrong hook for the service", with_value("hook", "order-sign"), "hook"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_request_is_400_naming_the_field(client, body, field) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 400, response.get_json()
    payload = response.get_json()
    assert payload["error"] == "bad-request"
    assert payload["field"] == field
    assert field in payload["message"]


def test_order_select_requires_selections_and_draft_orders(client) -> None:
    body = hook_request("p1", "order-select")
    del body["context"]["draftOrders"]
    response = client.post("/cds-services/bcbm-order-select", json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == "context.draftOrders"

    body = hook_request("p1", "order-select")
    body["context"]["selections"] = []
    response = client.post("/cds-services/bcbm-order-select", json=body)
    assert response.get_json()["field"] == "context.selections"


def test_draft_orders_must_be_a_bundle(client) -> None:
    body = hook_request("p1", "order-sign", draft_orders={"resourceType": "Patient"})
    response = client.post("/cds-services/bcbm-order-sign", json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == "context.draftOrders.resourceType"


@pytest.mark.parametrize(("data", "content_type", "status", "fragment"), [
    ("{", "application/json", 400, "malformed JSON"),
    ("", "application/json", 400, "empty"),
    ("[1, 2]", "application/json", 400, "JSON object"),
    ("\xff\xfe", "application/json", 400, "JSON"),
    ('{"hook": "patient-view"}', "text/plain", 400, "Content-Type"),
    ('{"hook": "patient-view"}', None, 400, "Content-Type"),
])
def test_unreadable_body(client, data, content_type, status, fragment) -> None:
    kwargs = {"data": data.encode("latin-1")}
    if content_type:
        kwargs["content_type"] = content_type
    response = client.post(URL, **kwargs)
    assert response.status_code == status
    assert fragment in response.get_json()["message"]


def test_fhir_json_media_type_is_accepted(client) -> None:
    response = client.post(URL, data=json.dumps(valid()), content_type="application/fhir+json")
    assert response.status_code == 200


def test_deep_nesting_is_refused_cleanly(client) -> None:
    deep: dict = {}
    cursor = deep
    for _ in range(200):
        cursor["x"] = {}
        cursor = cursor["x"]
    body = valid()
    body["extension"] = deep
    response = client.post(URL, json=body)
    assert response.status_code == 400
    assert "nesting" in response.get_json()["message"]


def test_extremely_deep_nesting_does_not_crash(client) -> None:
    response = client.post(URL, data="[" * 100000 + "]" * 100000, content_type="application/json")
    assert response.status_code == 400


def test_oversized_body_is_413(app_config) -> None:
    from cds_service.web.app import create_app

    app = create_app(app_config.replace(max_request_bytes=1000))
    body = valid()
    body["extension"] = {"pad": "x" * 2000}
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload-too-large"
    assert "limit of 1000 bytes" in response.get_json()["message"]  # the client can tell why


def test_the_default_body_limit_takes_the_largest_chart_the_service_reads_itself() -> None:
    """As many lab-sized resources as one call may read through FHIR (fhir_max_call_entries)."""
    from bench.scaling import unrelated_lab
    from cds_service.config import ServiceConfig

    config = ServiceConfig()
    entry = {"fullUrl": "http://ehr.example/fhir/Observation/lab-12345",
             "resource": unrelated_lab("patient-1", 12345)}
    chart_bytes = config.fhir_max_call_entries * (len(json.dumps(entry)) + 2)
    assert chart_bytes < config.max_request_bytes < 2 * chart_bytes


def test_unknown_service_is_404(client) -> None:
    response = client.post("/cds-services/no-such-service", json=valid())
    assert response.status_code == 404
    assert "no-such-service" in response.get_json()["message"]


def test_valid_request_with_null_prefetch_is_answered(client) -> None:
    response = client.post(URL, json=valid())
    assert response.status_code == 200
    assert response.get_json()["cards"] == []


# --- the hook contexts' validators: references resolved once, the same verdicts ------------------
_VALUES = st.one_of(st.none(), st.integers(), st.sampled_from(
    ["", "p1", "Patient/p1", "Practitioner/dr-1", "dr who", "a" * 70, "MedicationRequest/m1",
     "x/1"]), st.lists(st.sampled_from(["MedicationRequest/m1", "bad", 3]), max_size=2),
    st.fixed_dictionaries({}, optional={
        "resourceType": st.sampled_from(["Bundle", "Patient", 1]),
        "entry": st.lists(st.one_of(st.just({}), st.just({"resource": {}}),
                                    st.just({"resource": {"resourceType": "X"}})), max_size=2)}))
_CONTEXTS = st.dictionaries(
    st.sampled_from(["userId", "patientId", "encounterId", "selections", "draftOrders", "x"]),
    _VALUES, max_size=6)


@settings(max_examples=600, deadline=None)
@given(_CONTEXTS)
def test_context_validators_give_the_errors_of_the_schema_as_written(context: dict) -> None:
    schema = load_schema(REQUEST_SCHEMA)
    validators = RequestValidator.create().contexts
    for hook, validator in validators.items():
        as_written = Draft202012Validator(
            {"$ref": f"#/$defs/{hook}-context", "$defs": schema["$defs"]})
        expected, found = _first_error(as_written, context), _first_error(validator, context)
        assert (expected is None) == (found is None), hook
        if expected is not None and found is not None:
            assert (_describe(found), error_path(found)) == (
                _describe(expected), error_path(expected)), hook
