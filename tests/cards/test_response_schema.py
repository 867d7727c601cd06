"""The CDS Hooks 2.0 response schema kept in the package accepts good responses, names bad ones."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from cds_service.protocol.response_schema import check_response, response_errors
from cds_service.protocol.validation import RESPONSE_SCHEMA, load_schema

TOPIC = {"system": "https://salvage-cds.org/fhir/CodeSystem/salvage-option", "code": "surgery",
         "display": "Surgical resection"}
UUID = "8f1c2c1e-1b7d-4b54-9a53-3f0a5d0f6a11"


def good_card() -> dict:
    return copy.deepcopy({
        "uuid": UUID,
        "summary": "Progressive BCBM after SRS (in-field): consider surgery or FSRT",
        "indicator": "warning",
        "detail": "**details**",
        "source": {"label": "BCBM salvage", "url": "https://doi.org/10.3390/cancers14041096",
                   "topic": TOPIC},
        "suggestions": [{
            "label": "Request neurosurgical resection",
            "uuid": "1f1c2c1e-1b7d-4b54-9a53-3f0a5d0f6a12",
            "isRecommended": True,
            "actions": [{"type": "create", "description": "Draft ServiceRequest",
                         "resource": {"resourceType": "ServiceRequest", "status": "draft"}}],
        }],
        "selectionBehavior": "any",
        "overrideReasons": [{"system": "https://salvage-cds.org/fhir/CodeSystem/override-reason",
                             "code": "patient-declined", "display": "Patient declined"}],
        "links": [{"label": "SMART", "url": "http://localhost/smart/launch", "type": "smart",
                   "appContext": "{\"view\":\"salvage-plan\"}"},
                  {"label": "Review", "url": "https://doi.org/10.3390/cancers14041096",
                   "type": "absolute"}],
    })


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(load_schema(RESPONSE_SCHEMA))


def test_empty_cards_and_a_full_card_are_valid() -> None:
    check_response({"cards": []})
    check_response({"cards": [good_card()]})


def mutate(path: str, value: object) -> dict:
    card = good_card()
    target = card
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return {"cards": [card]}


DELETE = object()


@pytest.mark.parametrize(("path", "value", "where"), [
    ("summary", "x" * 140, "cards.0.summary"),
    ("summary", "two\nlines", "cards.0.summary"),
    ("indicator", "hard-stop", "cards.0.indicator"),
    ("uuid", DELETE, "cards.0"),
    ("source.topic", DELETE, "cards.0.source"),
    ("source.topic.system", "http://example.org/other", "cards.0.source.topic.system"),
    ("selectionBehavior", DELETE, "cards.0"),
    ("selectionBehavior", "exactly-one", "cards.0.selectionBehavior"),
    ("detail", "", "cards.0.detail"),
    ("detail", None, "cards.0.detail"),
    ("links", [], "cards.0.links"),
    ("overrideReasons.0.display", DELETE, "cards.0.overrideReasons.0"),
    ("links.1.appContext", "{}", "cards.0.links.1"),
    ("suggestions.0.actions.0.resource", DELETE, "cards.0.suggestions.0.actions.0"),
    ("suggestions.0.actions.0.resource.status", "", "cards.0.suggestions.0.actions.0.resource.status"),
    ("suggestions.0.actions.0.resource.note", [], "cards.0.suggestions.0.actions.0.resource.note"),
    ("suggestions.0.actions.0.resource.code", {}, "cards.0.suggestions.0.actions.0.resource.code"),
    ("suggestions.0.uuid", DELETE, "cards.0.suggestions.0"),
])
def test_invalid_cards_are_named(path: str, value: object, where: str) -> None:
    errors = response_errors(mutate(path, value))
    assert errors, f"{path}={value!r} should be invalid"
    assert any(e.startswith(where) for e in errors), errors


def test_update_needs_resource_id_and_delete_must_not_carry_a_resource() -> None:
    body = {"cards": [good_card()]}
    action = body["cards"][0]["suggestions"][0]["actions"][0]
    action.update(type="update", resource={"resourceType": "ServiceRequest", "id": "x"})
    assert response_errors(body)
    action["resourceId"] = "ServiceRequest/x"
    assert response_errors(body) == []
    delete = copy.deepcopy(body)
    delete["cards"][0]["suggestions"][0]["actions"][0]["type"] = "delete"
    assert response_errors(delete)
    del delete["cards"][0]["suggestions"][0]["actions"][0]["resource"]
    assert response_errors(delete) == []


def test_check_response_raises_with_the_path() -> None:
    with pytest.raises(ValueError, match=r"cards\.0\.indicator"):
        check_response(mutate("indicator", "urgent"))


def test_schema_ships_with_the_package() -> None:
    # pyproject's package-data covers protocol/schemas/*.json
    assert json.loads(json.dumps(load_schema(RESPONSE_SCHEMA)))["title"].startswith("CDS Hooks 2.0")
