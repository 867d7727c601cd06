"""Issue 13 "Clinical trust II" through POST /api/assessment (api-contract.md, clinical-model §10):
deceased patients, outdated imaging (`outdated-imaging`, `imaging`), courses in progress and
course versions, resources about another patient or of an unsupported type (`skipped`).
The sentence each expectation rests on is quoted next to it."""

from __future__ import annotations

import json
from datetime import date

import pytest
from flask import Flask

from cds_service.web.assessment_api import bp
from tests.support import fhir_builders as b
from tests.support import trust_patients as t

ON = date(2024, 3, 1)
PID = "trust-api"


@pytest.fixture
def api():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


def assess(api, resources) -> dict:
    response = api.post(f"/api/assessment?date={ON.isoformat()}",
                        data=json.dumps(b.collection(resources)), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# Item 2. CM §10: "Deceased patients (Patient.deceased[x] true or a date): silent; the assessment
# says why."
@pytest.mark.parametrize("deceased_x, evidence", [
    ({"deceasedBoolean": True}, "patient deceased"),
    ({"deceasedDateTime": "2024-01-15"}, "patient deceased (2024-01-15)"),
])
def test_deceased_patient_is_not_applicable_and_says_why(api, deceased_x, evidence) -> None:
    alive = assess(api, t.srs_in_field(PID, ON))
    assert alive["situation"]["code"] == "local-progression-after-srs-in-field" and alive["options"]
    body = assess(api, t.deceased(t.srs_in_field(PID, ON), **deceased_x))
    assert body["situation"]["code"] == "not-applicable"
    assert body["situation"]["evidence"] == [evidence]
    assert body["options"] == [] and body["warnings"] == [] and body["systemic_regimens"] == []


def test_death_dated_after_the_assessment_date_is_alive_on_it(api) -> None:
    body = assess(api, t.deceased(t.srs_in_field(PID, ON), deceasedDateTime="2024-04-01"))
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"


# Item 3. Review §3: "the golden standard of monitoring of BM is gadolinium-enhanced T1 and T2
# magnetic resonance imaging (MRI)"; EANO-ESMO 2021 (beyond the review): "MRI every 2–3 months".
# CM §10: "older than OUTDATED_IMAGING_DAYS (default 90) ... warning outdated-imaging".
def test_mri_19_months_old_gets_outdated_imaging_and_its_age(api) -> None:
    body = assess(api, t.srs_in_field(PID, ON, scan_age_days=580))
    assert body["imaging"] == {"latest_date": "2022-07-30", "age_days": 580, "limit_days": 90,
                               "outdated": True}
    first = body["warnings"][0]
    assert first["code"] == "outdated-imaging" and first["severity"] == "info"
    assert "580 days old (2022-07-30)" in first["message"]
    assert "repeat brain MRI first" in first["message"]


def test_current_mri_has_its_age_and_no_outdated_warning(api) -> None:
    body = assess(api, t.srs_in_field(PID, ON, scan_age_days=20))
    assert body["imaging"] == {"latest_date": "2024-02-10", "age_days": 20, "limit_days": 90,
                               "outdated": False}
    assert "outdated-imaging" not in [w["code"] for w in body["warnings"]]


# Item 4. Review §2: "SRS is delivered in a single fraction ... FSRT could be given in three, five,
# or more fractions"; CM §10: "A course in progress is classified by its prescribed/planned
# fractions; versions of one course (same identifier) count once."
def test_course_in_progress_with_its_planned_course_needs_nothing_more(api) -> None:
    body = assess(api, t.fsrt_course_in_progress(PID, ON))
    assert not [m for m in body["missing_data"] if "technique" in m]
    assert body["skipped"] == []


def test_course_in_progress_without_its_plan_names_the_missing_fractions(api) -> None:
    body = assess(api, t.fsrt_course_in_progress(PID, ON, with_plan=False))
    assert f"planned fractions of Procedure/{PID}-fsrt-1fx, a course in progress (its " \
           "prescription is not in the data): SRS/FSRT technique unknown" in body["missing_data"]


def test_the_in_progress_version_of_a_completed_course_is_skipped_and_named(api) -> None:
    body = assess(api, t.fsrt_course_in_progress(PID, ON, with_plan=False, completed_version=True))
    assert body["skipped"] == [{
        "resource": f"Procedure/{PID}-fsrt-1fx",
        "reason": f"another version of the course Procedure/{PID}-fsrt-done (same identifier): "
                  "the course counts once"}]
    assert not [m for m in body["missing_data"] if "planned fractions" in m]


# Item 5. api-contract: "skipped": [{"resource": "Condition/x", "reason": "about another patient"}]
def test_conditions_about_another_patient_are_skipped_and_named(api) -> None:
    resources = [r for r in t.srs_in_field(PID, ON) if r["resourceType"] != "Condition"]
    resources += [b.breast_cancer("someone-else"), b.brain_metastases("someone-else")]
    body = assess(api, resources)
    assert body["situation"]["code"] == "not-applicable"
    assert {(s["resource"], s["reason"].startswith("about another patient"))
            for s in body["skipped"]} == {("Condition/breast-cancer", True),
                                          ("Condition/brain-mets", True)}
    assert "conditions (no Condition resources in the data)" not in body["missing_data"]
    assert any("every Condition resource in the data was skipped" in m
               for m in body["missing_data"])


def test_unsupported_types_are_skipped_with_the_reason(api) -> None:
    encounter = {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
                 "class": {"code": "AMB"}, "subject": {"reference": f"Patient/{PID}"}}
    body = assess(api, [*t.srs_in_field(PID, ON), encounter])
    assert body["skipped"] == [{"resource": "Encounter/enc-1",
                                "reason": "unsupported type Encounter: not read by the salvage "
                                          "model"}]
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"


def test_no_patient_resource_and_two_patients_subjects_is_400(api) -> None:
    resources = [b.breast_cancer(PID), b.brain_metastases("someone-else")]
    response = api.post("/api/assessment?date=2024-03-01", data=json.dumps(b.collection(resources)),
                        content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "entry"
    assert "Patient/someone-else" in body["message"] and f"Patient/{PID}" in body["message"]


def test_no_patient_resource_and_one_subject_is_assessed(api) -> None:
    body = assess(api, [r for r in t.srs_in_field(PID, ON) if r["resourceType"] != "Patient"])
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"
