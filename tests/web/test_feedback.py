"""Feedback: validated, stored in one transaction, acknowledged only after the commit."""

from cds_service.web.app import create_app

URL = "/cds-services/bcbm-salvage/feedback"


def accepted(card: str = "card-1") -> dict:
    return {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": "sugg-1"}],
            "outcomeTimestamp": "2026-11-28T10:00:00Z"}


def overridden(card: str = "card-2") -> dict:
    return {"card": card, "outcome": "overridden",
            "overrideReason": {"reason": {"code": "patient-declined",
                                          "system": "https://salvage-cds.org/fhir/CodeSystem/override-reason",
                                          "display": "Patient declined"},
                               "userComment": "prefers systemic therapy"},
            "outcomeTimestamp": "2026-11-28T10:01:00.123+01:00"}


def test_feedback_is_stored(app, client) -> None:
    response = client.post(URL, json={"feedback": [accepted(), overridden()]})
    assert response.status_code == 200
    assert response.get_json() == {"stored": 2, "notCounted": 2}  # never issued: kept apart
    store = app.extensions["salvage_cds"].feedback
    [row] = store.feedback_for_card("card-2")
    assert row["outcome"] == "overridden"
    assert row["override_reason_code"] == "patient-declined"
    assert row["override_comment"] == "prefers systemic therapy"
    assert store.feedback_for_card("card-1")[0]["accepted_suggestions"] == '["sugg-1"]'


def test_feedback_survives_an_app_restart(app_config) -> None:
    first = create_app(app_config)
    assert first.test_client().post(URL, json={"feedback": [accepted("durable")]}).status_code == 200
    first.extensions["salvage_cds"].feedback.close()

    second = create_app(app_config)
    rows = second.extensions["salvage_cds"].feedback.feedback_for_card("durable")
    assert len(rows) == 1 and rows[0]["outcome"] == "accepted"


def test_one_invalid_entry_is_named_and_the_others_are_stored(app, client) -> None:
    """Issue 16, item 9: the valid entries sent with a bad one are not lost (before: none
    stored, and an EHR resending the batch never got the others through)."""
    bad = {"card": "card-3", "outcome": "ignored", "outcomeTimestamp": "2026-11-28T10:00:00Z"}
    response = client.post(URL, json={"feedback": [accepted("card-ok"), bad]})
    assert response.status_code == 400
    body = response.get_json()
    assert body["invalid"] == ["feedback.1.outcome"] and body["stored"] == 1
    assert app.extensions["salvage_cds"].feedback.count_feedback() == 1


def test_accepted_needs_accepted_suggestions(client) -> None:
    entry = accepted()
    del entry["acceptedSuggestions"]
    response = client.post(URL, json={"feedback": [entry]})
    assert response.status_code == 400
    assert "feedback.0.acceptedSuggestions" in response.get_json()["invalid"]


def test_each_required_member_is_named(client) -> None:
    for member in ("card", "outcome", "outcomeTimestamp"):
        entry = overridden()
        del entry[member]
        response = client.post(URL, json={"feedback": [entry]})
        assert response.status_code == 400
        assert response.get_json()["invalid"] == [f"feedback.0.{member}"]  # only what is wrong


def test_a_missing_outcome_is_not_also_blamed_on_accepted_suggestions(client) -> None:
    """Without `outcome` the "accepted needs acceptedSuggestions" rule does not apply (it
    named acceptedSuggestions too, because a JSON Schema `if` on an absent member holds)."""
    entry = overridden()
    del entry["outcome"]
    response = client.post(URL, json={"feedback": [entry]})
    assert response.get_json()["invalid"] == ["feedback.0.outcome"]


def test_timestamp_must_be_rfc3339(client) -> None:
    entry = overridden()
    entry["outcomeTimestamp"] = "28/11/2026"
    response = client.post(URL, json={"feedback": [entry]})
    assert response.status_code == 400
    assert "feedback.0.outcomeTimestamp" in response.get_json()["invalid"]


def test_empty_or_missing_feedback_list(client) -> None:
    assert client.post(URL, json={"feedback": []}).status_code == 400
    assert client.post(URL, json={}).get_json()["field"] == "feedback"


def test_feedback_for_unknown_service_is_404(client) -> None:
    response = client.post("/cds-services/nope/feedback", json={"feedback": [accepted()]})
    assert response.status_code == 404


def test_database_failure_is_503_and_not_acknowledged(app, client, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(app.extensions["salvage_cds"].feedback, "add_feedback", broken)
    response = client.post(URL, json={"feedback": [accepted()]})
    assert response.status_code == 503
    assert response.get_json()["error"] == "storage-unavailable"
    assert "not stored" in response.get_json()["message"]


def test_cards_are_still_returned_when_they_cannot_be_recorded(app, client, monkeypatch,
                                                             caplog) -> None:
    from sqlalchemy.exc import OperationalError

    from tests.support.hook_requests import full_prefetch, hook_request
    from tests.support.synthetic_patients import PATIENTS, patient_id

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("disk full"))

    store = app.extensions["salvage_cds"].feedback
    monkeypatch.setattr(store, "_insert_issued", broken)
    name = "progressive-after-srs-in-field"
    body = hook_request(patient_id(name), prefetch=full_prefetch(PATIENTS[name]()))
    response = client.post("/cds-services/bcbm-salvage", json=body)
    assert response.status_code == 200
    assert response.get_json()["cards"]
    assert store.flush_issued_cards()
    assert any("issued cards: not recorded (OperationalError)" in r.getMessage()
               for r in caplog.records)
    monkeypatch.undo()  # the writer survived the error: the next call's links are written
    response = client.post("/cds-services/bcbm-salvage", json=body)
    assert store.flush_issued_cards()
    assert sum(t.issued for t in store.topic_report()) == len(response.get_json()["cards"])


def test_a_database_from_before_issue_16_gains_the_new_columns(tmp_path) -> None:
    """Feedback and issued cards now carry the client; an existing database is extended."""
    from sqlalchemy import create_engine, inspect

    from cds_service.storage.feedback_store import FeedbackStore

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = create_engine(url)
    with old.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE issued_cards (id INTEGER PRIMARY KEY, card_uuid VARCHAR(128) NOT NULL, "
            "service_id VARCHAR(128) NOT NULL, hook_instance VARCHAR(256) NOT NULL, "
            "topic_system VARCHAR(512), topic_code VARCHAR(128), indicator VARCHAR(16) NOT NULL, "
            "suggestion_uuids TEXT NOT NULL, issued_at DATETIME NOT NULL)")
    old.dispose()
    store = FeedbackStore.open(url)
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("issued_cards")}
        assert "client_iss" in columns
        store.record_issued_cards("bcbm-salvage", "h", [{"uuid": "u", "indicator": "info"}],
                                  client_iss="https://ehr")
        outcome = store.add_feedback("bcbm-salvage", [accepted("u")], client_iss="https://ehr")
        assert (outcome.stored, outcome.unmatched) == (1, 0)
    finally:
        store.close()
