"""Feedback answers a card and a suggestion the service returned: linked by uuid, reported per topic."""

from __future__ import annotations

from cds_service.ops import cli
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, patient_id

NAME = "progressive-after-srs-in-field"


def test_accepted_suggestion_and_override_are_reported_per_topic(app, client, app_config,
                                                                  capsys) -> None:
    body = hook_request(patient_id(NAME), prefetch=full_prefetch(PATIENTS[NAME]()))
    main, warning, *_ = client.post("/cds-services/bcbm-salvage", json=body).get_json()["cards"]
    accepted = next(s for s in main["suggestions"] if s["isRecommended"])
    reason = warning["overrideReasons"][0]
    feedback = {"feedback": [
        {"card": main["uuid"], "outcome": "accepted",
         "acceptedSuggestions": [{"id": accepted["uuid"]}],
         "outcomeTimestamp": "2026-11-28T10:00:00Z"},
        {"card": warning["uuid"], "outcome": "overridden",
         "overrideReason": {"reason": reason, "userComment": "discussed"},
         "outcomeTimestamp": "2026-11-28T10:01:00Z"},
    ]}
    response = client.post("/cds-services/bcbm-salvage/feedback", json=feedback)
    assert response.status_code == 200 and response.get_json() == {"stored": 2}

    store = app.extensions["salvage_cds"].feedback
    assert store.flush_issued_cards()  # the links are written off the request path
    [row] = store.feedback_for_card(main["uuid"])
    assert row["accepted_suggestions"] == f'["{accepted["uuid"]}"]'
    assert store.feedback_for_card(warning["uuid"])[0]["override_reason_code"] == reason["code"]

    report = {r.topic_code: r for r in store.topic_report()}
    main_topic = main["source"]["topic"]["code"]
    warning_topic = warning["source"]["topic"]["code"]
    assert (report[main_topic].issued, report[main_topic].accepted) == (1, 1)
    assert report[main_topic].acceptance_rate == 1.0
    assert (report[warning_topic].overridden, report[warning_topic].override_rate) == (1, 1.0)

    assert cli.main(["feedback-report", "--database-url", app_config.database_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    main_line = next(line for line in lines if line.startswith(main_topic + " "))
    assert main_line.split() == [main_topic, "1", "1", "0", "100"]
    warning_line = next(line for line in lines if line.startswith(warning_topic + " "))
    assert warning_line.split() == [warning_topic, "1", "0", "1", "0"]
