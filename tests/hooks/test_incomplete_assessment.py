"""An in-scope patient whose record could only partly be fetched gets a card, not silence."""

import pytest

from cds_service.protocol.response_schema import check_response
from tests.support.hook_requests import hook_request
from tests.support.synthetic_patients import load_bundle, patient_id

pytestmark = pytest.mark.integration
URL = "/cds-services/bcbm-salvage"


@pytest.mark.parametrize("name", ["progressive-after-srs-in-field", "stable-bcbm-after-srs"])
def test_failed_observation_query_gives_an_incomplete_card(clean_fhir_server, client,
                                                           name) -> None:
    clean_fhir_server.load_bundle(load_bundle(name))
    clean_fhir_server.set_faults(status=500, match="/Observation")
    response = client.post(URL, json=hook_request(patient_id(name),
                                                  fhir_server=clean_fhir_server.base_url))
    assert response.status_code == 200
    body = response.get_json()
    check_response(body)
    [card] = body["cards"]
    assert card["indicator"] == "info"
    assert card["source"]["topic"]["code"] == "missing-data"
    assert "incomplete" in card["summary"]
    assert "observations" in card["detail"] and "500" in card["detail"]


def test_wrong_population_stays_silent_even_with_missing_data(clean_fhir_server, client) -> None:
    name = "lung-cancer-with-brain-metastases"
    clean_fhir_server.load_bundle(load_bundle(name))
    clean_fhir_server.set_faults(status=500, match="/Observation")
    response = client.post(URL, json=hook_request(patient_id(name),
                                                  fhir_server=clean_fhir_server.base_url))
    assert response.get_json() == {"cards": []}
