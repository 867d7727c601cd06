"""The README walkthrough's example requests are current, and answered as the README shows."""

import json
from datetime import date

import pytest

from tests.support.readme_examples import EXAMPLES, FILES, render


@pytest.mark.parametrize("name", sorted(FILES))
def test_example_file_is_current(name: str) -> None:
    assert (EXAMPLES / name).read_text("utf-8") == render(FILES[name]), (
        f"docs/examples/{name} is stale: run `python -m tests.support.readme_examples`")


def post(client, service: str, name: str) -> dict:
    response = client.post(f"/cds-services/{service}",
                           data=(EXAMPLES / name).read_bytes(), content_type="application/json")
    assert response.status_code == 200
    return response.get_json()


def latest_mri(name: str) -> date:
    """The latest tumour-size (LOINC 21889-1) date in the example's prefetch."""
    observations = json.loads((EXAMPLES / name).read_text("utf-8"))["prefetch"]["observations"]
    return max(date.fromisoformat(e["resource"]["effectiveDateTime"][:10])
               for e in observations["entry"]
               if e["resource"]["code"]["coding"][0]["code"] == "21889-1")


def test_patient_view_example_gives_the_cards_of_the_walkthrough(client) -> None:
    cards = post(client, "bcbm-salvage", "patient-view-request.json")["cards"]
    topics = [c["source"]["topic"]["code"] for c in cards]
    assert topics == ["surgery", "radionecrosis-risk", "pseudoprogression-possible"]
    # The example patient's latest MRI (2024-02-01) is older than 90 days on today's date, the
    # hook's assessment date: the card leads with its age (clinical-model §10), as the README says.
    from cards.imaging_age import age_text
    age = age_text(latest_mri("patient-view-request.json"), date.today())
    assert cards[0]["indicator"] == "info"
    assert cards[0]["summary"].startswith(f"Brain MRI {age} old: repeat MRI first. Local "
                                          "progression within a previously SRS/FSRT-irradiated "
                                          "volume")
    labels = [s["label"] for s in cards[0]["suggestions"]]
    assert labels[0] == "Request neurosurgical resection"
    assert "Prescribe FSRT (re-irradiation): lesion-A: 30 Gy in 5 × 6 Gy" in labels


def test_order_sign_example_suggests_re_wbrt(client) -> None:
    [card] = post(client, "bcbm-order-sign", "order-sign-request.json")["cards"]
    [suggestion] = card["suggestions"]
    assert "re-WBRT 10 x 2 Gy" in suggestion["label"]
    [action] = suggestion["actions"]
    assert action["type"] == "update" and action["resourceId"] == "ServiceRequest/wbrt-again"
    assert json.dumps(action["resource"]).count('"value": 2000') == 1
