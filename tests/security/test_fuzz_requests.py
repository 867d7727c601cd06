"""Generated malformed and hostile requests: never a 5xx, always a JSON answer, the worker stays up.

Wrong types, huge strings, deep nesting, odd unicode, odd FHIR in prefetch, duplicate keys, bad
bytes and content types — thrown at every CDS endpoint of the real app (auth off here, so that the
bodies reach validation, data gathering and the handlers; the JWT layer has its own fuzz test).
Sized for CI: derandomized, a few hundred examples per property.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, patient_id

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

SERVICES = ("bcbm-salvage", "bcbm-order-select", "bcbm-order-sign")
PATHS = [f"/cds-services/{s}" for s in SERVICES] + ["/cds-services/bcbm-salvage/feedback",
                                                    "/cds-services/no-such-service"]

NASTY_STRINGS = [
    "", " ", "\x00", "\ufeff", "\u202e", "\ud7ff", "💥" * 50, "A" * 100_000, "<script>alert(1)</script>",
    "{{context.patientId}}", "../../etc/passwd", "Patient/../../x", "%00", "\\u0000", "null",
    "1e309", "NaN", "Z̴̡̛̖̟̈́͐a̶l̵g̷o̸", "\n\r\t", "' OR 1=1 --", "${jndi:ldap://x}",
]
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
           | st.sampled_from(NASTY_STRINGS))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=25,
)
cds_keys = st.sampled_from(["hook", "hookInstance", "context", "prefetch", "fhirServer",
                            "fhirAuthorization", "feedback", "patientId", "userId",
                            "draftOrders", "selections", "resourceType", "entry"])


def _base_requests() -> list[dict[str, Any]]:
    bodies = []
    for name, build in PATIENTS.items():
        bodies.append(("/cds-services/bcbm-salvage",
                       hook_request(patient_id(name), prefetch=full_prefetch(build()))))
    name = "progressive-after-srs-in-field"
    prefetch = full_prefetch(PATIENTS[name]())
    bodies.append(("/cds-services/bcbm-order-select",
                   hook_request(patient_id(name), "order-select", prefetch=prefetch)))
    bodies.append(("/cds-services/bcbm-order-sign",
                   hook_request(patient_id(name), "order-sign", prefetch=prefetch)))
    bodies.append(("/cds-services/bcbm-salvage/feedback", {"feedback": [{
        "card": "9c2f2b8e-4f0e-4a53-9d1a-0c7b9a6f2a11", "outcome": "accepted",
        "acceptedSuggestions": [{"id": "b1"}], "outcomeTimestamp": "2024-03-01T10:00:00Z"}]}))
    return bodies


BASE_REQUESTS = _base_requests()


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value[:6]):
            found += _paths(item, prefix + (index,))
    return found


def _deep(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def _assert_clean(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert set(body) >= {"error", "message"}
        assert "Traceback" not in json.dumps(body)


@FUZZ
@given(path=st.sampled_from(PATHS),
       body=st.one_of(json_values, st.dictionaries(cds_keys, json_values, max_size=6)))
def test_generated_bodies_never_5xx(client, path, body) -> None:
    _assert_clean(client.post(path, data=json.dumps(body), content_type="application/json"))


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_mutated_valid_requests_never_5xx(client, data) -> None:
    """Odd FHIR: one member anywhere in a valid request (prefetch included) replaced, removed,
    made huge, deeply nested or given the wrong type."""
    path, original = data.draw(st.sampled_from(BASE_REQUESTS))
    body = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(_paths(body)[1:] or [()]))
        if not target:
            break
        parent = body
        for step in target[:-1]:
            parent = parent[step]
        operation = data.draw(st.sampled_from(["replace", "delete", "huge", "deep", "wrongtype",
                                               "nasty"]))
        last = target[-1]
        if operation == "delete":
            if isinstance(parent, dict):
                parent.pop(last)
            else:
                parent.pop(last)
            continue
        parent[last] = {
            "replace": lambda: data.draw(json_values),
            "huge": lambda: "A" * data.draw(st.sampled_from([10_000, 200_000])),
            "deep": lambda: _deep(data.draw(st.integers(20, 63))),
            "wrongtype": lambda: data.draw(st.sampled_from([0, -1, 1.5, True, None, [], {}, "",
                                                            [None], {"": None}])),
            "nasty": lambda: data.draw(st.sampled_from(NASTY_STRINGS)),
        }[operation]()
    _assert_clean(client.post(path, data=json.dumps(body), content_type="application/json"))


RAW_BODIES = [
    b'{"hook": "patient-view", "hook": "order-sign", "hookInstance": "a", "context": {}}',
    b'{"context": {"patientId": "a", "patientId": {"x": 1}}, "hook": "patient-view"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"hook": NaN, "x": Infinity, "y": -Infinity}',
    b'{"n": 1e999999}',
    b'{"n": ' + b"9" * 5000 + b"}",
    b"\xef\xbb\xbf{}",
    b'{"hook": "\xff\xfe"}',
    b'{"hook": "\\ud800"}',
    b"\x00\x00\x00{",
    b"",
    b"   ",
    b"null",
    b'"just a string"',
    b"{" * 3,
    b'{"prefetch": {"patient": {"resourceType": "Patient", "id": "\\u0000"}}}',
]


@pytest.mark.parametrize("raw", RAW_BODIES, ids=lambda r: repr(r[:24]))
@pytest.mark.parametrize("path", PATHS[:4])
def test_hostile_raw_bodies_never_5xx(client, path, raw) -> None:
    _assert_clean(client.post(path, data=raw, content_type="application/json"))


@FUZZ
@given(path=st.sampled_from(PATHS), raw=st.binary(max_size=2000),
       content_type=st.sampled_from(["application/json", "application/fhir+json", "text/plain",
                                     "application/json; charset=latin-1", "multipart/form-data",
                                     "", "application/x-www-form-urlencoded"]))
def test_generated_bytes_and_content_types_never_5xx(client, path, raw, content_type) -> None:
    _assert_clean(client.post(path, data=raw, content_type=content_type))


@FUZZ
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST"]),
       path=st.one_of(st.sampled_from(PATHS + ["/cds-services", "/cds-services/"]),
                      st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                              max_size=60).map(lambda t: "/cds-services/" + t)),
       headers=st.dictionaries(st.sampled_from(["Authorization", "X-Request-Id", "Origin",
                                                "Accept", "Content-Type"]),
                               st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                       max_size=80), max_size=3))
def test_generated_methods_paths_and_headers_never_5xx(client, method, path, headers) -> None:
    response = client.open(path, method=method, headers=headers, data=b"{}")
    assert response.status_code < 500


def test_request_body_over_the_cap_is_413(app_config) -> None:
    from cds_service.web.app import create_app

    app = create_app(app_config.replace(max_request_bytes=64 * 1024))
    try:
        client = app.test_client()
        body = json.dumps({"hook": "patient-view", "pad": "A" * 70_000})
        for path in PATHS[:4]:
            response = client.post(path, data=body, content_type="application/json")
            assert response.status_code == 413
            assert response.get_json()["error"] == "payload-too-large"
    finally:
        app.extensions["salvage_cds"].feedback.close()


def test_the_live_worker_survives_a_hostile_burst(live_service) -> None:
    """The real service under gunicorn: hostile requests, then it still answers correctly."""
    url = live_service.url("/cds-services/bcbm-salvage")
    session = requests.Session()
    oversized = b"A" * (6 * 1024 * 1024)
    for raw in RAW_BODIES + [b"{" * 200_000, oversized]:
        try:
            response = session.post(url, data=raw, headers={"Content-Type": "application/json"},
                                    timeout=30)
        except requests.ConnectionError:
            # the 413 may come (and the connection close) while the refused body is still being
            # sent: the client then sees a reset instead of the status; nothing else may do that
            assert raw is oversized
            continue
        assert response.status_code < 500, response.text[:300]
    session.close()
    # a new connection: the server may close a kept-alive one after refusing a body (413) without
    # reading it, and reusing it would fail in the client whatever the worker's state (was flaky)
    name = "progressive-after-srs-in-field"
    ok = requests.post(url, json=hook_request(patient_id(name),
                                              prefetch=full_prefetch(PATIENTS[name]())), timeout=30)
    assert ok.status_code == 200
    assert requests.get(live_service.url("/health"), timeout=10).status_code == 200
    assert live_service.process.poll() is None
