"""Issue 13 "Clinical trust II" end to end: the real service (gunicorn) and the real test FHIR
server, patient-view with NO prefetch (the service fetches everything from `fhirServer`), except
for item 5 where the prefetch itself is the subject. The hooks assess on today's date, so the
patients are built relative to it (tests/support/trust_patients.py). Quotes: see the model vignettes
(tests/model/test_trust_vignettes.py); each expectation names its rule of clinical-model §10.
"""

from __future__ import annotations

from datetime import date

import pytest
import requests

from cds_service.protocol.response_schema import response_errors
from tests.support import fhir_builders as b
from tests.support import trust_patients as t
from tests.support.hook_requests import full_prefetch, hook_request, searchset

pytestmark = pytest.mark.integration


def call(live_service, body: dict, status: int = 200) -> dict:
    response = requests.post(live_service.url("/cds-services/bcbm-salvage"), json=body, timeout=30)
    assert response.status_code == status, response.text
    result = response.json()
    if status == 200:
        assert response_errors(result) == []
    return result


def patient_view(live_service, server, pid: str, resources: list[b.Resource]) -> list[dict]:
    server.load_bundle(b.transaction(resources))
    body = hook_request(pid, fhir_server=server.base_url, access_token="e2e-token")
    return call(live_service, body)["cards"]


def text(card: dict) -> str:
    """The detail without markdown escapes (data values are escaped on the cards)."""
    return card["detail"].replace("\\", "")


# Item 2 — "Deceased patients (Patient.deceased[x] true or a date): silent".
def test_deceased_patient_gets_no_card_the_same_patient_alive_does(live_service,
                                                                   clean_fhir_server) -> None:
    today = date.today()
    alive = patient_view(live_service, clean_fhir_server, "trust-alive",
                         t.srs_in_field("trust-alive", today))
    assert alive and alive[0]["source"]["topic"]["system"].endswith("salvage-option")
    dead = t.deceased(t.srs_in_field("trust-dead", today), deceasedDateTime=t.day(today, 3))
    assert patient_view(live_service, clean_fhir_server, "trust-dead", dead) == []


# Item 3 — "older than OUTDATED_IMAGING_DAYS (default 90) ...: warning outdated-imaging, the
# data's age in the card's first line, indicator info, a repeat MRI first".
def test_mri_19_months_old_leads_the_card_with_its_age_and_a_repeat_mri(live_service,
                                                                         clean_fhir_server) -> None:
    today = date.today()
    main = patient_view(live_service, clean_fhir_server, "trust-old-mri",
                        t.srs_in_field("trust-old-mri", today, scan_age_days=580))[0]
    assert main["indicator"] == "info"
    assert main["summary"].startswith("Brain MRI 19 months old: repeat MRI first.")
    first_line = text(main).splitlines()[0]
    assert first_line.startswith(f"**OUTDATED DATA: latest imaging {t.day(today, 580)}, 19 months "
                                 "old")
    assert "repeat brain MRI first" in first_line
    assert text(main).count("repeat brain MRI first") == 1  # said once, in the first line
    # nothing local is pre-selected on 19-month-old images; the tumour board still is
    assert [s["label"] for s in main["suggestions"] if s["isRecommended"]] == [
        "Refer to the multidisciplinary tumour board"]


def test_current_mri_keeps_the_warning_indicator_and_no_age_line(live_service,
                                                                  clean_fhir_server) -> None:
    main = patient_view(live_service, clean_fhir_server, "trust-new-mri",
                        t.srs_in_field("trust-new-mri", date.today(), scan_age_days=20))[0]
    assert main["indicator"] == "warning"
    assert not main["summary"].startswith("Brain MRI")
    assert "OUTDATED" not in main["detail"] and "outdated" not in text(main)
    assert f"latest imaging {t.day(date.today(), 20)}, 20 days old" in main["detail"]
    assert main["suggestions"][0]["isRecommended"] is True  # surgery, first-ranked in field


# Item 4 — "A course in progress is classified by its prescribed/planned fractions; versions of
# one course (same identifier) count once." The hooks do not fetch ServiceRequests, so the planned
# course is not in their data: a course after its first fraction must not be read as SRS.
def test_course_in_progress_without_its_plan_names_the_missing_fractions(live_service,
                                                                          clean_fhir_server) -> None:
    pid = "trust-running"
    main = patient_view(live_service, clean_fhir_server, pid,
                        t.fsrt_course_in_progress(pid, date.today()))[0]
    assert (f"planned fractions of Procedure/{pid}-fsrt-1fx, a course in progress (its "
            "prescription is not in the data): SRS/FSRT technique unknown") in text(main)


def test_in_progress_version_of_a_completed_course_counts_once(live_service,
                                                               clean_fhir_server) -> None:
    pid = "trust-versions"
    main = patient_view(live_service, clean_fhir_server, pid,
                        t.fsrt_course_in_progress(pid, date.today(), completed_version=True))[0]
    assert (f"Not used — Procedure/{pid}-fsrt-1fx: another version of the course "
            f"Procedure/{pid}-fsrt-done (same identifier)") in text(main)
    assert "planned fractions" not in text(main)  # the completed version was classified


# Item 5 — CDS Hooks 2.0: "It is the CDS Service's responsibility to check prefetched data
# against its template to determine what requests were satisfied (if any) and to programmatically
# retrieve any additional necessary data. If the CDS Service is unable to obtain required data
# ... the service SHALL respond with an HTTP 412 Precondition Failed status code."
def foreign_conditions_prefetch(pid: str, resources: list[b.Resource]) -> dict:
    prefetch = full_prefetch(resources)
    prefetch["conditions"] = searchset([b.breast_cancer("someone-else", cid="other-bc"),
                                        b.brain_metastases("someone-else", cid="other-bm")])
    return prefetch


def test_prefetch_about_another_patient_is_discarded_and_fetched(live_service,
                                                                 clean_fhir_server) -> None:
    pid = "trust-foreign"
    resources = t.srs_in_field(pid, date.today())
    clean_fhir_server.load_bundle(b.transaction(resources))
    clean_fhir_server.reset_stats()
    body = hook_request(pid, prefetch=foreign_conditions_prefetch(pid, resources),
                        fhir_server=clean_fhir_server.base_url, access_token="e2e-token")
    cards = call(live_service, body)["cards"]
    assert cards, "the other patient's conditions must not decide: this patient's are fetched"
    assert clean_fhir_server.stats()["requests"] >= 1
    assert ("conditions: the prefetched data held resources about another patient "
            "(Condition/other-bc, Condition/other-bm)") in text(cards[0])


def test_prefetch_about_another_patient_without_fhir_server_is_412(live_service) -> None:
    pid = "trust-foreign-412"
    resources = t.srs_in_field(pid, date.today())
    body = hook_request(pid, prefetch=foreign_conditions_prefetch(pid, resources))
    result = call(live_service, body, status=412)
    assert "conditions" in result["message"]
