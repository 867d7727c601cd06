"""Local treatments: SRS/FSRT/WBRT by the one rule, brain-only courses, surgery, coverage."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import TreatmentKind as K
from tests.support import fhir_builders as b
from tests.support.variants import PID, coded, edited, in_scope

FOCAL = b.rt_volume(PID, "v-focal", whole_brain=False, lesions=("L1",))
WHOLE = b.rt_volume(PID, "v-whole", whole_brain=True)
BM = b.brain_metastases(PID)


def kinds(record):
    return [(t.kind, t.total_dose_cgy, t.fractions) for t in record.treatments]


@pytest.mark.parametrize("volume, dose, fractions, kind", [
    (FOCAL, 2000, 1, K.SRS),
    (FOCAL, 2400, 2, K.FSRT),
    (FOCAL, 2700, 3, K.FSRT),
    (FOCAL, 3000, 5, K.FSRT),
    (FOCAL, 4000, 10, K.FSRT),
    (FOCAL, 4500, 15, K.OTHER_RT),
    (WHOLE, 3000, 10, K.WBRT),
    (WHOLE, 2000, 5, K.WBRT),
    (WHOLE, 1800, 1, K.WBRT),  # Entire is WBRT whatever the fractions
])
def test_radiotherapy_classification(volume, dose, fractions, kind):
    course = b.rt_course(PID, "c1", volume, dose, fractions, "2023-03-01", "2023-03-10")
    record = map_patient(in_scope(volume, course))
    assert kinds(record) == [(kind, float(dose), fractions)]
    treatment = record.treatments[0]
    assert (treatment.source, treatment.volume_ids) == ("Procedure/c1",
                                                        (f"BodyStructure/{volume['id']}",))
    assert (treatment.start.isoformat(), treatment.end.isoformat()) == ("2023-03-01", "2023-03-10")


def test_dose_in_gy_is_converted_and_other_units_are_skipped():
    course = b.rt_course(PID, "c1", FOCAL, 20, 1, "2023-03-01")
    dose = course["extension"][1]["extension"][1]["valueQuantity"]
    dose.update(code="Gy", unit="Gy")
    assert kinds(map_patient(in_scope(FOCAL, course))) == [(K.SRS, 2000.0, 1)]
    dose.update(code="rad", unit="rad")
    record = map_patient(in_scope(FOCAL, course))
    assert kinds(record) == [(K.SRS, None, 1)]
    assert "dose unit 'rad'" in record.skipped[0].reason


def test_performed_datetime_is_start_and_end():
    course = edited(b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01"), performedPeriod=None,
                    performedDateTime="2023-03-02T09:00:00Z")
    treatment = map_patient(in_scope(FOCAL, course)).treatments[0]
    assert treatment.start == treatment.end and treatment.date.isoformat() == "2023-03-02"


def test_in_progress_course_counts_with_no_end():
    course = b.rt_course(PID, "c1", WHOLE, 1200, 4, "2024-03-01", status="in-progress")
    course["performedPeriod"] = {"start": "2024-03-01"}
    treatment = map_patient(in_scope(WHOLE, course)).treatments[0]
    assert (treatment.kind, treatment.end, treatment.date.isoformat()) == (K.WBRT, None,
                                                                         "2024-03-01")


@pytest.mark.parametrize("status", ["stopped", "not-done", "on-hold", "entered-in-error"])
def test_other_course_statuses_do_not_count_and_are_recorded(status):
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01", status=status)
    record = map_patient(in_scope(FOCAL, course))
    assert record.treatments == ()
    assert record.skipped[0].reference == "Procedure/c1" and status in record.skipped[0].reason


def test_only_brain_courses_count():
    chest = edited(b.rt_volume(PID, "v-chest", whole_brain=True),
                   location=coded(b.SNOMED, "78904004", "Chest wall structure"))
    course = b.rt_course(PID, "c1", chest, 5000, 25, "2022-01-01")
    record = map_patient(in_scope(chest, course))
    assert record.treatments == () and record.skipped == ()


def test_course_with_an_unknown_volume_counts_when_its_reason_is_the_brain_metastasis():
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01", reason=BM)
    record = map_patient(in_scope(course))  # the volume was not sent
    assert kinds(record) == [(K.OTHER_RT, 2000.0, 1)]
    assert any("radiotherapy technique" in m and "Procedure/c1" in m for m in record.missing)
    without_reason = map_patient(in_scope(b.rt_course(PID, "c2", FOCAL, 2000, 1, "2023-03-01")))
    assert without_reason.treatments == ()


def test_brain_course_reason_code_or_body_site():
    by_code = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01")
    by_code["reasonCode"] = [coded(b.ICD10CM, "C79.31")]
    by_site = b.rt_course(PID, "c2", FOCAL, 2000, 1, "2023-04-01")
    by_site["bodySite"] = [coded(b.SNOMED, "12738006")]
    assert [t.source for t in map_patient(in_scope(by_code, by_site)).treatments] == [
        "Procedure/c1", "Procedure/c2"]


def test_course_without_dose_extension_but_brain_reason_is_other_rt():
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01", reason=BM)
    course["extension"] = course["extension"][:1]
    assert kinds(map_patient(in_scope(course))) == [(K.OTHER_RT, None, None)]


def test_partial_volume_without_fractions_is_other_rt_and_named():
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01")
    course["extension"][1]["extension"] = course["extension"][1]["extension"][:2]
    record = map_patient(in_scope(FOCAL, course))
    assert kinds(record) == [(K.OTHER_RT, 2000.0, None)] and record.missing


def test_one_treatment_per_volume():
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01")
    second = b.rt_volume(PID, "v-2", whole_brain=False, lesions=("L2",))
    course["extension"].append({"url": b.MCODE + "mcode-radiotherapy-dose-delivered-to-volume",
                                "extension": [
                                    {"url": "volume", "valueReference": b.ref(second)},
                                    {"url": "totalDoseDelivered",
                                     "valueQuantity": {"value": 2700, "code": "cGy"}},
                                    {"url": "fractionsDelivered", "valueUnsignedInt": 3}]})
    record = map_patient(in_scope(FOCAL, second, b.tumor(PID, "L1"), b.tumor(PID, "L2"), course))
    assert [(t.kind, t.volume_ids, t.lesion_ids) for t in record.treatments] == [
        (K.SRS, ("BodyStructure/v-focal",), ("L1",)),
        (K.FSRT, ("BodyStructure/v-2",), ("L2",))]


def test_contained_volume():
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01")
    course["contained"] = [edited(FOCAL, id="vol")]
    course["extension"][1]["extension"][0]["valueReference"] = {"reference": "#vol"}
    record = map_patient(in_scope(b.tumor(PID, "L1"), course))
    assert [(t.kind, t.volume_ids, t.lesion_ids) for t in record.treatments] == [
        (K.SRS, ("Procedure/c1#vol",), ("L1",))]


def test_volume_covers_lesions_by_shared_identifier_or_local_disease_status():
    l1, l2 = b.tumor(PID, "L1"), b.tumor(PID, "L2")
    plain = b.rt_volume(PID, "v-plain", whole_brain=False)  # shares no identifier
    course = b.rt_course(PID, "c1", plain, 2000, 1, "2023-03-01")
    local = b.disease_status(PID, "ds1", "2024-01-01", "worsened", focus=(plain, l2),
                             qualifier="local")
    distant = b.disease_status(PID, "ds2", "2024-01-01", "worsened", focus=(plain, l1),
                               qualifier="distant")
    record = map_patient(in_scope(l1, l2, plain, course, local, distant))
    assert record.treatments[0].lesion_ids == ("L2",)
    shared = b.rt_course(PID, "c2", FOCAL, 2000, 1, "2023-03-01")
    assert map_patient(in_scope(l1, FOCAL, shared)).treatments[0].lesion_ids == ("L1",)


def test_target_body_structure_extension_names_lesions():
    course = b.rt_course(PID, "c1", WHOLE, 3000, 10, "2023-03-01")
    course["extension"].append({
        "url": "http://hl7.org/fhir/StructureDefinition/procedure-targetBodyStructure",
        "valueReference": {"reference": "BodyStructure/tumor-L1"}})
    record = map_patient(in_scope(b.tumor(PID, "L1"), WHOLE, course))
    assert record.treatments[0].lesion_ids == ("L1",)


@pytest.mark.parametrize("flag", [True, False, None])
def test_reirradiation_flag(flag):
    course = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01", reirradiation=flag)
    assert map_patient(in_scope(FOCAL, course)).treatments[0].reirradiation is flag


def test_course_identified_by_profile_without_the_code():
    course = edited(b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01"), code={"text": "SRS"})
    assert kinds(map_patient(in_scope(FOCAL, course))) == [(K.SRS, 2000.0, 1)]


def test_undated_course_is_kept_last_and_named():
    dated = b.rt_course(PID, "c1", FOCAL, 2000, 1, "2023-03-01")
    undated = edited(b.rt_course(PID, "c2", WHOLE, 3000, 10, "x"), performedPeriod=None)
    record = map_patient(in_scope(FOCAL, WHOLE, undated, dated))
    assert [t.source for t in record.treatments] == ["Procedure/c1", "Procedure/c2"]
    assert "local treatment dates" in record.missing
    assert record.last_local_treatment.source == "Procedure/c1"


# --- Surgery -------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["446103006", "447115003", "25353009", "70586009"])
def test_brain_surgery_codes(code):
    record = map_patient(in_scope(b.surgery(PID, "s1", "2022-06-01", code=code)))
    assert [(t.kind, t.start.isoformat(), t.source) for t in record.treatments] == [
        (K.SURGERY, "2022-06-01", "Procedure/s1")]


def test_surgery_of_the_breast_is_not_brain_surgery():
    breast = b.surgery(PID, "s1", "2018-04-01", code="64368001",
                       display="Excision of part of breast")
    breast["bodySite"] = [coded(b.SNOMED, "80248007")]
    assert map_patient(in_scope(breast)).treatments == ()


def test_cancer_surgery_profile_with_brain_reason_or_site_counts():
    generic = b.surgery(PID, "s1", "2022-06-01", code="387713003", display="Surgical procedure",
                        reason=BM)
    generic.pop("bodySite")
    assert [t.kind for t in map_patient(in_scope(generic)).treatments] == [K.SURGERY]
    by_site = b.surgery(PID, "s2", "2022-06-01", code="387713003")
    assert [t.kind for t in map_patient(in_scope(by_site)).treatments] == [K.SURGERY]
    neither = edited(by_site, bodySite=None)
    assert map_patient(in_scope(neither)).treatments == ()


def test_surgery_must_be_completed_and_names_its_lesions():
    tumor = b.tumor(PID, "L1")
    done = b.surgery(PID, "s1", "2022-06-01", focus_lesions=(tumor,))
    assert map_patient(in_scope(tumor, done)).treatments[0].lesion_ids == ("L1",)
    planned = edited(done, status="preparation")
    record = map_patient(in_scope(tumor, planned))
    assert record.treatments == () and "preparation" in record.skipped[0].reason


def test_treatments_are_in_date_order():
    record = map_patient(in_scope(
        WHOLE, FOCAL,
        b.rt_course(PID, "wbrt", WHOLE, 3000, 10, "2023-04-03", "2023-04-14"),
        b.surgery(PID, "surg", "2022-01-10"),
        b.rt_course(PID, "srs", FOCAL, 2000, 1, "2024-01-05")))
    assert [t.source for t in record.treatments] == ["Procedure/surg", "Procedure/wbrt",
                                                     "Procedure/srs"]
