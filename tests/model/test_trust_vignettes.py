"""Issue 13 "Clinical trust II" (clinical-model §10) as model vignettes: FHIR built with
tests/support/fhir_builders.py and tests/support/trust_patients.py -> map_patient -> assess.

Deceased patients, outdated brain imaging, radiotherapy courses in progress and course versions.
The sentence each expectation rests on is quoted next to it.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from cds_service.mapping import map_patient
from cds_service.model import assessment as a
from cds_service.model.assess import assess
from cds_service.model.constants import DEFAULT_CONFIG, OUTDATED_IMAGING_DAYS
from cds_service.model.patient import TreatmentKind
from tests.support import fhir_builders as b
from tests.support import trust_patients as t

ON = date(2024, 3, 1)
PID = "trust-model"


def run(resources, on: date = ON, config=DEFAULT_CONFIG):
    return assess(map_patient(resources), on, config)


# --- Item 2: deceased ---------------------------------------------------------------------------
# CM §10: "Deceased patients (Patient.deceased[x] true or a date): silent; the assessment says why."

def test_alive_patient_is_progressive_the_baseline_of_the_deceased_vignettes() -> None:
    assert run(t.srs_in_field(PID, ON)).situation.code == a.LOCAL_AFTER_SRS_IN_FIELD


@pytest.mark.parametrize("deceased_x, evidence", [
    ({"deceasedBoolean": True}, "patient deceased"),
    ({"deceasedDateTime": "2024-02-20"}, "patient deceased (2024-02-20)"),
    ({"deceasedDateTime": "2024-03-01T08:00:00Z"}, "patient deceased (2024-03-01T08:00:00Z)"),
    ({"deceasedDateTime": "2024-03"}, "patient deceased (2024-03)"),  # may have died by then
])
def test_deceased_patient_gets_no_options_and_the_reason(deceased_x, evidence) -> None:
    result = run(t.deceased(t.srs_in_field(PID, ON), **deceased_x))
    assert result.situation.code == a.NOT_APPLICABLE
    assert result.situation.evidence == (evidence,)
    assert result.options == () and result.warnings == () and result.systemic_regimens == ()
    assert result.to_json()["situation"]["label"].startswith("Patient deceased")


def test_death_after_the_assessment_date_means_alive_on_that_date() -> None:
    result = run(t.deceased(t.srs_in_field(PID, ON), deceasedDateTime="2024-06-01"))
    assert result.situation.code == a.LOCAL_AFTER_SRS_IN_FIELD and result.options


def test_deceased_false_is_alive_and_an_unreadable_date_is_still_deceased() -> None:
    alive = run(t.deceased(t.srs_in_field(PID, ON), deceasedBoolean=False))
    assert alive.situation.is_progressive
    unreadable = run(t.deceased(t.srs_in_field(PID, ON), deceasedDateTime="last spring"))
    assert unreadable.situation.code == a.NOT_APPLICABLE
    assert unreadable.situation.evidence == ("patient deceased",)
    assert any("deceasedDateTime" in s.reason for s in unreadable.skipped)


# --- Item 3: outdated imaging -------------------------------------------------------------------
# Review §3: "According to the RANO criteria, the golden standard of monitoring of BM is
# gadolinium-enhanced T1 and T2 magnetic resonance imaging (MRI)." EANO-ESMO 2021 (beyond the
# review): "Assess response with RANO-BM; MRI every 2–3 months." -> OUTDATED_IMAGING_DAYS = 90.

def test_the_limit_is_the_surveillance_interval() -> None:
    assert OUTDATED_IMAGING_DAYS == 90 == DEFAULT_CONFIG.outdated_imaging_days


@pytest.mark.parametrize("scan_age, outdated", [(20, False), (90, False), (91, True), (580, True)])
def test_imaging_older_than_the_limit_adds_outdated_imaging_first(scan_age, outdated) -> None:
    result = run(t.srs_in_field(PID, ON, scan_age_days=scan_age))
    assert result.situation.code == a.LOCAL_AFTER_SRS_IN_FIELD
    assert (result.imaging.age_days, result.imaging.outdated) == (scan_age, outdated)
    codes = [w.code for w in result.warnings]
    assert (codes[0] == "outdated-imaging") is outdated
    assert codes.count("outdated-imaging") == (1 if outdated else 0)
    if outdated:  # "a repeat MRI first", with the age and the date of the latest imaging
        warning = result.warnings[0]
        assert warning.severity == "info"
        assert f"{scan_age} days old" in warning.message and "repeat brain MRI first" in warning.message
        assert result.imaging.latest_date.isoformat() in warning.message


def test_the_limit_is_configurable() -> None:
    resources = t.srs_in_field(PID, ON, scan_age_days=60)
    assert not run(resources).imaging.outdated
    strict = dataclasses.replace(DEFAULT_CONFIG, outdated_imaging_days=30)
    result = run(resources, config=strict)
    assert result.imaging.outdated and result.warnings[0].code == "outdated-imaging"
    with pytest.raises(ValueError):
        dataclasses.replace(DEFAULT_CONFIG, outdated_imaging_days=0)


def test_no_imaging_at_all_is_missing_data_not_outdated() -> None:
    resources = [r for r in t.srs_in_field(PID, ON, scan_age_days=400)
                 if not r["id"].startswith(f"{PID}-size")]
    result = run(resources)
    assert result.imaging is None
    assert "outdated-imaging" not in [w.code for w in result.warnings]
    assert "brain lesion measurements" in result.missing_data


def test_imaging_after_the_assessment_date_is_not_the_latest() -> None:
    resources = t.srs_in_field(PID, ON, scan_age_days=200)
    later = next(r for r in resources if r["resourceType"] == "BodyStructure"
                 and r["id"] == "tumor-lesion-A")
    resources.append(b.tumor_size(PID, later, "2024-05-01", 19, oid="after-the-date"))
    assert run(resources).imaging.age_days == 200


# --- Item 4: courses in progress and course versions --------------------------------------------
# Review §2: "SRS is delivered in a single fraction of a dose on the basis of the maximum diameter
# of the tumor [14]. FSRT could be given in three, five, or more fractions"; Table 1: FSRT
# "5 x 5-7 Gy". CM §10: "A course in progress is classified by its prescribed/planned fractions;
# versions of one course (same identifier) count once."

def fsrt_course(record):
    return [x for x in record.treatments if x.source.startswith(f"Procedure/{PID}-fsrt")]


def test_5x5_course_after_its_first_fraction_is_fsrt_by_its_planned_fractions() -> None:
    record = map_patient(t.fsrt_course_in_progress(PID, ON))
    [course] = fsrt_course(record)
    assert course.kind is TreatmentKind.FSRT  # not "SRS 5 Gy x 1"
    assert (course.fractions, course.planned_fractions, course.in_progress) == (1, 5, True)
    assert course.total_dose_cgy == 500.0  # what was delivered so far, as recorded


def test_course_in_progress_without_its_plan_is_never_read_as_srs() -> None:
    record = map_patient(t.fsrt_course_in_progress(PID, ON, with_plan=False))
    [course] = fsrt_course(record)
    assert course.kind is TreatmentKind.OTHER_RT  # still prior brain irradiation
    result = assess(record, ON)
    assert any(m.startswith(f"planned fractions of Procedure/{PID}-fsrt-1fx") for m in
               result.missing_data)


def test_versions_of_one_course_count_once_the_completed_one_kept() -> None:
    record = map_patient(t.fsrt_course_in_progress(PID, ON, completed_version=True))
    [course] = fsrt_course(record)
    assert course.source == f"Procedure/{PID}-fsrt-done" and not course.in_progress
    assert (course.kind, course.fractions) == (TreatmentKind.FSRT, 5)
    assert [(s.reference, s.reason.startswith("another version of the course"))
            for s in record.skipped] == [(f"Procedure/{PID}-fsrt-1fx", True)]


def test_versions_in_either_order_keep_the_completed_one() -> None:
    resources = t.fsrt_course_in_progress(PID, ON, completed_version=True)
    resources = resources[:-2] + resources[-2:][::-1]
    [course] = fsrt_course(map_patient(resources))
    assert course.source == f"Procedure/{PID}-fsrt-done"


def test_courses_with_different_identifiers_both_count() -> None:
    resources = t.fsrt_course_in_progress(PID, ON, completed_version=True)
    resources[-1]["identifier"] = t.course_identifiers("C2-other", "urn:oid:1.2.72.other")
    assert len(fsrt_course(map_patient(resources))) == 2
