"""`cards.fhir_validation`: the template memo gives the verdict of a full fhir.resources validation,
keeps no patient data, and is actually used (a second patient's call adds no template)."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import fhirtypes
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from cards.fhir_validation import (
    PLACEHOLDER,
    CallValue,
    InvalidResource,
    _from_key,
    _stripped_and_key,
    _template,
    _template_error,
    _template_key,
    strip_and_validate_built,
    validate_built,
    validate_with_model,
)
from cards.render import strip_empty
from cds_service.fhir.gather import gather
from cds_service.model.vocabulary import OptionCode
from cds_service.protocol.registry import HookCall
from cds_service.security.clients import effective_allowlist
from tests.support.fhir_checks import suggestion_resources
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, SILENT, patient_id

PROGRESSIVE = sorted(set(PATIENTS) - SILENT)


def _accepts(adapter: TypeAdapter, value: str) -> bool:
    try:
        adapter.validate_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


# One valid JSON-string form of each FHIR primitive type.
PROBES = ("x", "1", "1.5", "true", "2024-01-01", "2024-01-01T10:00:00Z", "10:00:00",
          "urn:oid:1.2.3", "urn:uuid:6f1c8f5e-0b5a-4f38-9e3b-2d1c3e4f5a6b", "aGVsbG8=",
          "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>")


def _string_primitive_types() -> dict[str, TypeAdapter]:
    """Every primitive type of fhir.resources R4B that takes a JSON string."""
    adapters = {}
    for name in dir(fhirtypes):
        if not name.endswith("Type") or name in ("FHIRPrimitiveExtensionType",):
            continue
        try:
            adapter = TypeAdapter(getattr(fhirtypes, name))
        except Exception:  # noqa: BLE001 - element/resource types, not primitives
            continue
        if any(_accepts(adapter, probe) for probe in PROBES):
            adapters[name] = adapter
    return adapters


STRING_TYPES = _string_primitive_types()
FHIR_STRING = TypeAdapter(fhirtypes.StringType)


def test_the_library_has_the_primitive_types_we_reason_about() -> None:
    for name in ("StringType", "MarkdownType", "UriType", "IdType", "CodeType", "DateTimeType",
                 "OidType", "UuidType", "Base64BinaryType", "InstantType", "DecimalType"):
        assert name in STRING_TYPES


def test_the_placeholder_is_refused_by_every_strict_type() -> None:
    accepting = {name for name, adapter in STRING_TYPES.items()
                 if _accepts(adapter, PLACEHOLDER)}
    assert "StringType" in accepting and "MarkdownType" in accepting
    for strict in ("IdType", "CodeType", "DateTimeType", "DateType", "OidType", "UuidType",
                   "Base64BinaryType", "InstantType", "TimeType", "DecimalType", "IntegerType",
                   "PositiveIntType", "UnsignedIntType", "BooleanType"):
        assert strict not in accepting, strict


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1, max_size=40) | st.sampled_from(
    ["urn:uuid:6f1c", "Patient/x y", " lead", "trail ", "a\u00a0b", "\t", "\n", "x" * 2000]))
def test_types_that_accept_the_placeholder_accept_every_fhir_string(value: str) -> None:
    """The soundness argument of the module: any field that takes the placeholder takes every
    value that passes the per-call FHIR string check."""
    if not _accepts(FHIR_STRING, value):
        return
    for name, adapter in STRING_TYPES.items():
        if _accepts(adapter, PLACEHOLDER):
            assert _accepts(adapter, value), (name, value)


# --- same verdict as the full validation --------------------------------------------------------
def _built(app, name: str) -> list[dict[str, Any]]:
    """The suggestion resources of a patient-view call as the builders return them (CallValue
    markers still in place: the HTTP response is plain JSON)."""
    services = app.extensions["salvage_cds"]
    service = services.registry.get("bcbm-salvage")
    body = hook_request(patient_id(name), prefetch=full_prefetch(PATIENTS[name]()))
    body["context"]["encounterId"] = "enc-1"
    with app.test_request_context():
        data = gather(service, body, services.config, effective_allowlist(services.allowlist),
                      time.monotonic() + 10)
    call = HookCall(service=service, request=body, data=data, config=services.config,
                    today=date.today())
    return list(suggestion_resources(service.handler(call)["cards"]))


def _plain(resource: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(resource))


@pytest.mark.parametrize("name", PROGRESSIVE)
def test_vignette_suggestions_valid_both_ways(app, name: str) -> None:
    resources = _built(app, name)
    assert resources
    for resource in resources:
        assert validate_built(resource) is resource
        validate_with_model(_plain(resource))


@pytest.mark.parametrize("breakage", [
    lambda r: r.update(status="in  progress"),  # not a FHIR code (doubled space)
    lambda r: r.update(unknownMember="x"),
    lambda r: r.update(subject={"reference": CallValue("")}),
    lambda r: r.pop("status"),
    lambda r: r.update(subject={"reference": CallValue("Patient/x"), "display": 7}),
])
def test_broken_resources_are_refused_both_ways(app, breakage) -> None:
    resource = _built(app, PROGRESSIVE[0])[0]
    breakage(resource)
    with pytest.raises(InvalidResource):
        validate_built(resource)
    with pytest.raises(InvalidResource):
        validate_with_model(_plain(resource))


def test_a_value_json_cannot_hold_is_an_invalid_resource(app) -> None:
    from datetime import date as day

    resource = _built(app, PROGRESSIVE[0])[0]
    resource["authoredOn"] = day(2026, 11, 28)  # a builder that forgot to format a date
    with pytest.raises(InvalidResource):
        validate_built(resource)


def test_a_call_value_in_a_strict_field_is_reported_not_hidden(app) -> None:
    """A builder that put a per-call string into a `code` or `id` field: the template fails even
    when this call's value happens to be valid there (the defect shows on the first call)."""
    resource = _built(app, PROGRESSIVE[0])[0]
    resource["status"] = CallValue("draft")
    with pytest.raises(InvalidResource):
        validate_built(resource)
    resource["status"] = "draft"
    resource["id"] = CallValue("abc")
    with pytest.raises(InvalidResource):
        validate_built(resource)


# --- no patient data kept, and the memo is used ---------------------------------------------------
def test_templates_hold_no_value_of_the_call(app) -> None:
    for name in PROGRESSIVE:
        pid = patient_id(name)
        for resource in _built(app, name):
            template = json.dumps(_template(resource, []))
            assert pid not in template and "enc-1" not in template, name
            assert resource["identifier"][0]["value"][len("urn:uuid:"):] not in template
            for contained in resource.get("contained", []):
                for identifier in contained.get("identifier", []):
                    assert identifier["value"] not in template, name


def test_a_second_call_adds_no_template(app) -> None:
    """Every progressive patient twice: new uuids on the second round, but no new template to
    validate — the memo answers."""
    for name in PROGRESSIVE:
        _built(app, name)
    before = _template_error.cache_info()
    for name in PROGRESSIVE:
        _built(app, name)
    after = _template_error.cache_info()
    assert after.currsize == before.currsize
    assert after.hits > before.hits


# --- one walk: strip_empty and the template's key -------------------------------------------------
def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


_LEAVES = (st.none() | st.booleans() | st.integers(-3, 3)
           | st.sampled_from([0.0, -0.0, 1.0, 2.5, 1e16, float("inf")])
           | st.sampled_from(["", " ", "x", " y ", PLACEHOLDER, "srs"])
           | st.sampled_from(["", " ", "z", "Patient/1"]).map(CallValue)
           | st.sampled_from(list(OptionCode)))
_JSON = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=4),
                     max_leaves=25)


@settings(max_examples=1500, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _JSON, max_size=5))
def test_one_walk_strips_like_strip_empty_and_keys_the_json_template(value: dict) -> None:
    values: list[str] = []
    stripped, key = _stripped_and_key(value, values)
    expected = strip_empty(value)
    assert stripped == expected and _as_json(stripped) == _as_json(expected)
    template_values: list[str] = []
    template = _template(expected, template_values)
    assert values == template_values
    assert _from_key(key) == _as_json(template)
    assert _template_key(expected, []) == key


@settings(max_examples=1500, deadline=None)
@given(_JSON, _JSON)
def test_keys_are_equal_exactly_when_the_json_templates_are(a: Any, b: Any) -> None:
    same_json = json.dumps(_template(a, [])) == json.dumps(_template(b, []))
    assert (_template_key(a, []) == _template_key(b, [])) == same_json


def test_numbers_and_booleans_of_equal_value_are_different_templates() -> None:
    keys = {_template_key({"valuePositiveInt": v}, []) for v in (1, 1.0, True, -0.0, 0.0)}
    assert len(keys) == 5
    assert _from_key(_template_key([-0.0, 1e16], [])) == [-0.0, 1e16]


def test_the_one_walk_gives_the_same_errors() -> None:
    good = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
            "subject": {"reference": CallValue("Patient/p")}, "note": [{"text": " "}],
            "category": []}
    assert strip_and_validate_built(good) == validate_built(strip_empty(good))
    unknown_member = {**good, "noSuchMember": "x"}
    no_status = {k: v for k, v in good.items() if k != "status"}
    not_json = {**good, "authoredOn": date(2024, 1, 1)}
    for resource in (unknown_member, no_status, not_json):
        with pytest.raises(InvalidResource) as one_walk:
            strip_and_validate_built(resource)
        with pytest.raises(InvalidResource) as two_walks:
            validate_built(strip_empty(resource))
        assert str(one_walk.value) == str(two_walks.value)
