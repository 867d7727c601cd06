"""Numbers JSON cannot carry: the NaN, Infinity and -Infinity literals Python's parser would take
are refused as malformed JSON (RFC 8259 has no such values), and a number too large for a float
(1e400 is read as infinity) in a lesion's size is a value the service cannot read — noted,
never a 500 and never a measurement."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import synthetic_patients
from tests.support.hook_requests import full_prefetch, hook_request

URL = "/cds-services/bcbm-salvage"


def _patient_view_body() -> tuple[dict[str, Any], dict[str, Any]]:
    resources = synthetic_patients.progressive_after_srs_in_field()
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    body = hook_request(pid, prefetch=full_prefetch(resources))
    size = next(e["resource"] for e in body["prefetch"]["observations"]["entry"]
                if e["resource"]["id"] == "size-tumor-lesion-A-2024-02-01")
    return body, size


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_json_number_literal_is_malformed_json(client: Any, literal: str) -> None:
    body, size = _patient_view_body()
    size["component"][0]["valueQuantity"]["value"] = "PLACEHOLDER"
    raw = json.dumps(body).replace('"PLACEHOLDER"', literal)
    response = client.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert f"{literal} is not a JSON number" in response.get_json()["message"]


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400])
def test_a_size_too_large_for_a_float_is_unreadable_not_a_measurement(client: Any,
                                                                      number: str) -> None:
    body, size = _patient_view_body()
    size["component"][0]["valueQuantity"]["value"] = "PLACEHOLDER"
    raw = json.dumps(body).replace('"PLACEHOLDER"', number)
    response = client.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 200
    detail = response.get_json()["cards"][0]["detail"]
    # named among what was not used, with why — and not read as a size
    assert ("Not used — Observation/size-tumor-lesion-A-2024-02-01: longest dimension has no "
            "numeric value") in detail
    assert "(2024-02-01)" not in detail
