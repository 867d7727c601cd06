"""patient-view over the real mapping and model, in process, with full prefetch.

Each synthetic patient: the response validates against the package's CDS Hooks 2.0 response
schema, equals its golden skeleton (tests/hooks/golden/), every suggestion resource validates as
FHIR R4, and the four patients outside the service's target get `cards: []`.
"""

from __future__ import annotations

import json

import pytest

from cards import codes
from cds_service.protocol.response_schema import response_errors
from tests.support import golden
from tests.support.fhir_checks import assert_valid_fhir, project_codings, suggestion_resources
from tests.support.hook_requests import PREFETCH_KEY_BY_TYPE, full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, SILENT, patient_id

URL = "/cds-services/bcbm-salvage"
PROGRESSIVE = sorted(set(PATIENTS) - SILENT)


def call(client, name: str, **kw) -> dict:
    body = hook_request(patient_id(name), prefetch=kw.pop("prefetch", None)
                        or full_prefetch(PATIENTS[name]()), **kw)
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert response_errors(result) == []
    return result


@pytest.mark.parametrize("name", sorted(SILENT))
def test_patients_outside_the_target_get_no_card(client, name: str) -> None:
    assert call(client, name) == {"cards": []}


@pytest.mark.parametrize("name", PROGRESSIVE)
def test_progressive_patient_matches_its_golden_response(client, name: str) -> None:
    with golden.frozen_today():
        assert golden.skeleton(call(client, name)) == golden.load(name)


@pytest.mark.parametrize("name", PROGRESSIVE)
def test_main_card_then_warning_cards(client, name: str) -> None:
    main, *warnings = call(client, name)["cards"]
    # The synthetic patients were last scanned in 2024, more than 90 days before today (the hook's
    # assessment date): info, the imaging's age first (CM §10). Current imaging: test_data_age.py.
    assert main["indicator"] == "info"
    assert main["detail"].startswith("**OUTDATED DATA: latest imaging 202")
    assert main["source"]["topic"]["system"] == codes.SALVAGE_OPTION
    assert main["selectionBehavior"] == "any" and main["suggestions"]
    assert [link["type"] for link in main["links"]] == ["smart", "absolute"]
    assert json.loads(main["links"][0]["appContext"])["view"] == "salvage-plan"
    assert any(s["isRecommended"] for s in main["suggestions"])
    for card in warnings:
        assert card["source"]["topic"]["system"] == codes.SALVAGE_WARNING
        assert card["source"]["topic"]["code"] in codes.WARNING_CARD_CODES


@pytest.mark.parametrize("name", PROGRESSIVE)
def test_every_suggestion_resource_is_valid_fhir_r4_with_a_project_coding(client, name: str) -> None:
    cards = call(client, name)["cards"]
    resources = list(suggestion_resources(cards))
    assert resources
    for resource in resources:
        assert_valid_fhir(resource)
        assert project_codings(resource), resource
        assert resource["subject"] == {"reference": f"Patient/{patient_id(name)}"}
        if resource.get("meta", {}).get("profile") == [codes.COURSE_PRESCRIPTION_PROFILE]:
            assert any(e["url"] == codes.DOSE_PRESCRIBED_TO_VOLUME for e in resource["extension"])


@pytest.mark.parametrize("name", PROGRESSIVE)
def test_no_patient_name_or_birth_date_on_the_cards(client, name: str) -> None:
    [patient] = [r for r in PATIENTS[name]() if r["resourceType"] == "Patient"]
    text = json.dumps(call(client, name))
    assert patient["name"][0]["family"] not in text
    assert patient["birthDate"] not in text


def test_data_that_could_not_be_obtained_is_named_on_the_card(client) -> None:
    name = "progressive-after-srs-in-field"
    prefetch = full_prefetch(PATIENTS[name]())
    del prefetch[PREFETCH_KEY_BY_TYPE["MedicationStatement"]]  # absent, and no fhirServer
    main = call(client, name, prefetch=prefetch)["cards"][0]
    assert "Could not be obtained" in main["detail"]
    assert "medicationStatements" in main["detail"]


def test_cards_are_recorded_for_feedback_without_patient_identifiers(app, client) -> None:
    name = "progressive-after-srs-in-field"
    body = hook_request(patient_id(name), prefetch=full_prefetch(PATIENTS[name]()))
    cards = client.post(URL, json=body).get_json()["cards"]
    store = app.extensions["salvage_cds"].feedback
    assert store.flush_issued_cards()  # written off the request path
    from sqlalchemy import select

    from cds_service.storage.feedback_store import issued_cards_table

    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(issued_cards_table))]
    assert [r["card_uuid"] for r in rows] == [c["uuid"] for c in cards]
    assert {r["hook_instance"] for r in rows} == {body["hookInstance"]}
    assert json.loads(rows[0]["suggestion_uuids"]) == [s["uuid"] for s in cards[0]["suggestions"]]
    assert patient_id(name) not in json.dumps(rows, default=str)
