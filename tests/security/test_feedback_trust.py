"""Issue 16, items 8 and 9: feedback only from the client that received the card, each card
counted once, and every entry checked against what the database can store — a bad entry named
(400), the others kept.
"""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.storage.feedback_store import UNMATCHED, unstorable
from tests.security.conftest import BASE, TENANT_ISS
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.jwt_helpers import ISS, TENANT, bearer, token_for
from tests.support.synthetic_patients import PATIENTS, patient_id

SERVICE = "/cds-services/bcbm-salvage"
FEEDBACK = SERVICE + "/feedback"
PATIENT = "progressive-after-srs-in-field"


def as_client(keys, path: str, iss: str = ISS) -> dict[str, str]:
    extra = {"tenant": TENANT} if iss == TENANT_ISS else {}
    return bearer(token_for(keys["es384"], BASE + path, iss=iss, **extra))


def cards_for(client, keys, iss: str = ISS) -> list[dict[str, Any]]:
    body = hook_request(patient_id(PATIENT), prefetch=full_prefetch(PATIENTS[PATIENT]()))
    response = client.post(SERVICE, json=body, headers=as_client(keys, SERVICE, iss))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    cards = response.get_json()["cards"]
    assert cards
    return cards


def accepted(card: dict[str, Any], when: str = "2026-11-28T10:00:00Z") -> dict[str, Any]:
    suggestions = [{"id": s["uuid"]} for s in card.get("suggestions") or []][:1]
    return {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": suggestions,
            "outcomeTimestamp": when}


def overridden(card: str, **reason: Any) -> dict[str, Any]:
    coding = {"system": "https://example.org/reasons", "code": "declined", **reason}
    return {"card": card, "outcome": "overridden", "overrideReason": {"reason": coding},
            "outcomeTimestamp": "2026-11-28T10:00:00Z"}


def post_feedback(client, keys, entries: list[dict[str, Any]], iss: str = ISS):
    return client.post(FEEDBACK, json={"feedback": entries},
                       headers=as_client(keys, FEEDBACK, iss))


def topic_counts(app) -> dict[str, tuple[int, int]]:
    store = app.extensions["salvage_cds"].feedback
    store.flush_issued_cards()
    return {t.topic_code: (t.accepted, t.overridden) for t in store.topic_report()}


def test_another_clients_card_is_refused(secure_app, secure_client, keys) -> None:
    card = cards_for(secure_client, keys, iss=ISS)[0]
    response = post_feedback(secure_client, keys, [accepted(card)], iss=TENANT_ISS)
    assert response.status_code == 403
    assert response.get_json()["refused"] == ["feedback.0.card"]
    assert secure_app.extensions["salvage_cds"].feedback.count_feedback() == 0
    assert post_feedback(secure_client, keys, [accepted(card)]).status_code == 200  # its own
    assert secure_app.extensions["salvage_cds"].feedback.count_feedback() == 1


def test_a_card_never_issued_is_stored_apart_and_never_counted(secure_app, secure_client,
                                                              keys) -> None:
    cards_for(secure_client, keys)
    before = topic_counts(secure_app)
    response = post_feedback(secure_client, keys, [overridden("never-issued-card")])
    assert response.status_code == 200
    assert response.get_json() == {"stored": 1, "notCounted": 1}
    [row] = secure_app.extensions["salvage_cds"].feedback.feedback_for_card("never-issued-card")
    assert row["status"] == UNMATCHED and row["client_iss"] == ISS
    assert topic_counts(secure_app) == before


def test_duplicates_are_stored_once_and_counted_once(secure_app, secure_client, keys) -> None:
    """The issue: 50 duplicates pushed one topic to 98 % accepted."""
    cards = cards_for(secure_client, keys)
    card = cards[0]
    topic = card["source"]["topic"]["code"]
    response = post_feedback(secure_client, keys, [accepted(card)] * 50)
    assert response.status_code == 200 and response.get_json() == {"stored": 50}
    assert post_feedback(secure_client, keys, [accepted(card)]).get_json() == {"stored": 1}
    store = secure_app.extensions["salvage_cds"].feedback
    assert len(store.feedback_for_card(card["uuid"])) == 1
    # resent with another timestamp: stored (it is another statement), still one card counted
    assert post_feedback(secure_client, keys,
                         [accepted(card, "2026-11-28T11:00:00Z")]).status_code == 200
    assert topic_counts(secure_app)[topic] == (1, 0)


@pytest.mark.parametrize(("reason", "member"), [
    ({"display": "d" * 513}, "overrideReason.reason.display"),
    ({"code": "c" * 129}, "overrideReason.reason.code"),
    ({"system": "s" * 513}, "overrideReason.reason.system"),
    ({"display": "nul\x00here"}, "overrideReason.reason.display"),
], ids=["display>512", "code>128", "system>512", "nul"])
def test_an_unstorable_entry_is_a_400_and_the_others_are_kept(secure_app, secure_client, keys,
                                                              reason, member) -> None:
    card = cards_for(secure_client, keys)[0]
    response = post_feedback(secure_client, keys,
                             [accepted(card), overridden(card["uuid"], **reason)])
    assert response.status_code == 400
    body = response.get_json()
    assert body["invalid"] == [f"feedback.1.{member}"] and body["stored"] == 1
    assert [r["outcome"] for r in
            secure_app.extensions["salvage_cds"].feedback.feedback_for_card(card["uuid"])] == [
        "accepted"]


def test_unstorable_names_the_member_and_the_limit() -> None:
    assert unstorable(overridden("c", code="x" * 129)) == (
        "overrideReason.reason.code", "is longer than 128 characters")
    assert unstorable({"card": "c", "outcome": "accepted", "outcomeTimestamp": "t",
                       "acceptedSuggestions": [{"id": "a\x00"}]}) == (
        "acceptedSuggestions.0.id", "contains a NUL character")
    assert unstorable(overridden("c")) is None


def test_lengths_are_capped(secure_app, secure_client, keys) -> None:
    card = cards_for(secure_client, keys)[0]
    many = {**accepted(card), "acceptedSuggestions": [{"id": f"s{i}"} for i in range(51)]}
    long_comment = overridden(card["uuid"])
    long_comment["overrideReason"]["userComment"] = "c" * 4001
    response = post_feedback(secure_client, keys, [many, long_comment, accepted(card)])
    assert response.status_code == 400
    assert response.get_json()["invalid"] == ["feedback.0.acceptedSuggestions",
                                              "feedback.1.overrideReason.userComment"]
    assert response.get_json()["stored"] == 1
