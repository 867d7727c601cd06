"""Prefetch templates and the CDS Hooks 2.0 rules on received prefetch (no FHIR server)."""

import pytest

from cds_service.errors import BadRequest
from cds_service.protocol.prefetch import (
    PrefetchState,
    TemplateError,
    next_link,
    prefetch_state,
    render_template,
)

CONTEXT = {"userId": "Practitioner/dr-1", "patientId": "p-1", "encounterId": "e 1",
           "draftOrders": {"resourceType": "Bundle"}}


@pytest.mark.parametrize(("template", "expected"), [
    ("Patient/{{context.patientId}}", "Patient/p-1"),
    ("Condition?patient={{ context.patientId }}", "Condition?patient=p-1"),
    ("Encounter/{{context.encounterId}}", "Encounter/e%201"),  # values are URL-encoded
    ("Practitioner/{{userPractitionerId}}", "Practitioner/dr-1"),
    ("Observation?patient={{context.patientId}}&performer={{userPractitionerId}}",
     "Observation?patient=p-1&performer=dr-1"),
])
def test_render_fills_context_and_user_tokens(template: str, expected: str) -> None:
    assert render_template(template, CONTEXT) == expected


def test_user_token_of_another_user_type_makes_the_key_not_applicable() -> None:
    assert render_template("Patient/{{userPatientId}}", CONTEXT) is None


@pytest.mark.parametrize(("template", "message"), [
    ("Patient/{{context.draftOrders.id}}", "only root-level primitive"),
    ("Patient/{{context.draftOrders}}", "not a primitive"),
    ("Patient/{{context.nope}}", "available: draftOrders, encounterId, patientId, userId"),
    ("Patient/{{Patient.id}}", "unknown prefetch token"),
])
def test_render_refuses_tokens_outside_cds_hooks_2(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render_template(template, CONTEXT)


def test_prefetch_states_follow_the_spec() -> None:
    prefetch = {
        "patient": {"resourceType": "Patient", "id": "p-1"},
        "conditions": None,
        "observations": {"resourceType": "OperationOutcome", "issue": []},
    }
    assert prefetch_state(prefetch, "patient") is PrefetchState.PROVIDED
    # CDS Hooks 2.0: "If the CDS Client has no data to populate a template prefetch key, the
    # prefetch template key MUST have a value of null" -> null is an answer, not missing data.
    assert prefetch_state(prefetch, "conditions") is PrefetchState.NO_DATA
    # "the CDS Client SHOULD send an OperationOutcome" when it failed -> the service fetches.
    assert prefetch_state(prefetch, "observations") is PrefetchState.CLIENT_ERROR
    assert prefetch_state(prefetch, "procedures") is PrefetchState.ABSENT
    assert prefetch_state(None, "patient") is PrefetchState.ABSENT


def test_prefetch_value_that_is_not_a_resource_is_bad_request() -> None:
    with pytest.raises(BadRequest) as error:
        prefetch_state({"patient": {"id": "p-1"}}, "patient")
    assert error.value.field == "prefetch.patient"


def test_next_link_of_a_paginated_searchset() -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "link": [{"relation": "self", "url": "a"}, {"relation": "next", "url": "b"}]}
    assert next_link(bundle) == "b"
    assert next_link({"resourceType": "Bundle", "link": "garbage"}) is None
    assert next_link({"resourceType": "Patient"}) is None
