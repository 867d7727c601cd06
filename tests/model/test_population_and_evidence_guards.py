"""Guards against advice for the wrong patient (found in a spec review), through the real mapping.

- a "worsened" disease status about cancer outside the brain is not intracranial progression;
- a symptom that predates a stretch of stable imaging is not clinical deterioration;
- a brain metastasis of another primary is not BCBM, even when breast cancer is also on record.
"""

from datetime import date

from cds_service.mapping import map_patient
from cds_service.model.assess import assess
from cds_service.model.assessment import LOCAL_AFTER_SRS_IN_FIELD, NO_PROGRESSION, NOT_APPLICABLE
from tests.support import fhir_builders as b

ON = date(2024, 3, 1)
PID = "guard"


def stable_after_srs(extra=(), *, primary_of_brain_mets=None):
    bc = b.breast_cancer(PID)
    bm = b.brain_metastases(PID, onset="2023-01-01", primary=primary_of_brain_mets or bc)
    lesion = b.tumor(PID, "lesion-A")
    volume = b.rt_volume(PID, "vol-A", whole_brain=False, lesions=("lesion-A",))
    return [
        b.patient(PID), bc, bm, lesion, volume,
        *b.receptors(PID, "positive", "negative", "negative"),
        b.karnofsky(PID, 80),
        b.tumor_size(PID, lesion, "2023-01-05", 12),
        b.rt_course(PID, "srs", volume, 2000, 1, "2023-01-10", reason=bm),
        b.tumor_size(PID, lesion, "2023-04-01", 10),
        b.tumor_size(PID, lesion, "2024-02-01", 10),
        *extra,
    ]


def situation(resources):
    return assess(map_patient(resources), ON).situation


def test_stable_brain_stays_silent() -> None:
    assert situation(stable_after_srs()).code == NO_PROGRESSION


def test_worsened_status_about_liver_metastases_is_not_brain_progression() -> None:
    liver = b.extracranial_metastasis(PID, "liver", code="94381002")
    status = b.disease_status(PID, "ds-liver", "2024-02-05", "worsened", focus=(liver,),
                              qualifier="distant")
    result = situation(stable_after_srs([liver, status]))
    assert result.code == NO_PROGRESSION
    assert any("not about the brain" in e for e in result.evidence)


def test_worsened_status_about_the_primary_is_not_brain_progression() -> None:
    primary = b.breast_cancer(PID)
    status = b.disease_status(PID, "ds-primary", "2024-02-05", "worsened", focus=(primary,))
    assert situation(stable_after_srs([status])).code == NO_PROGRESSION


def test_worsened_status_about_the_treated_volume_is_progression() -> None:
    volume = b.rt_volume(PID, "vol-A", whole_brain=False, lesions=("lesion-A",))
    status = b.disease_status(PID, "ds-brain", "2024-02-05", "worsened", focus=(volume,),
                              qualifier="local")
    assert situation(stable_after_srs([status])).code == LOCAL_AFTER_SRS_IN_FIELD


def test_symptom_before_stable_scans_is_not_clinical_deterioration() -> None:
    seizure = b.symptom(PID, "seizure", onset="2023-01-19")  # 9 days after SRS
    result = assess(map_patient(stable_after_srs([seizure])), ON)
    assert result.situation.code == NO_PROGRESSION
    assert result.rano_bm.category == "SD"


def test_new_symptom_since_the_previous_scan_is_clinical_deterioration() -> None:
    seizure = b.symptom(PID, "seizure", onset="2024-02-10")
    result = assess(map_patient(stable_after_srs([seizure])), ON)
    assert result.rano_bm.category == "PD"
    # the only lesion lies in the SRS volume: in field, with its radionecrosis warnings
    assert result.situation.code == LOCAL_AFTER_SRS_IN_FIELD


def test_brain_metastases_of_another_primary_are_not_bcbm() -> None:
    lung = b.lung_cancer(PID)
    status = b.disease_status(PID, "ds", "2024-02-05", "worsened",
                              focus=(b.rt_volume(PID, "vol-A", False, ("lesion-A",)),))
    record = map_patient(stable_after_srs([lung, status], primary_of_brain_mets=lung))
    assert not record.brain_metastases.present
    assert any("another primary" in s.reason for s in record.skipped)
    assert assess(record, ON).situation.code == NOT_APPLICABLE


def test_prior_brain_rt_of_unknown_technique_never_gets_a_plain_first_wbrt() -> None:
    """A 10 x 3 Gy brain course recorded without its volume may have been WBRT."""
    bc = b.breast_cancer(PID)
    bm = b.brain_metastases(PID, onset="2022-01-01", primary=bc)
    course = b.rt_course(PID, "rt-unknown", b.rt_volume(PID, "vol-gone", True), 3000, 10,
                         "2022-02-01", "2022-02-12", reason=bm)  # its volume is not sent
    resources = [b.patient(PID), bc, bm, course, b.karnofsky(PID, 80),
                 *b.receptors(PID, "positive", "negative", "negative")]
    # a scan after the course shows an older lesion only: the five below appear after it
    old = b.tumor(PID, "old")
    resources += [old, b.tumor_size(PID, old, "2023-01-10", 8)]
    for n in range(5):
        lesion = b.tumor(PID, f"new-{n}")
        resources += [lesion, b.tumor_size(PID, lesion, "2024-02-01", 12 + n)]
    record = map_patient(resources)
    assert [t.kind.value for t in record.treatments] == ["other-rt"]
    result = assess(record, ON)
    wbrt = next(o for o in result.options if o.code == "wbrt")
    assert wbrt.selected_patients_only
    assert "unknown technique" in wbrt.rationale and 49 in wbrt.references


def test_corrections_of_an_in_field_srs_draft_agree_on_re_irradiation() -> None:
    from cds_service.mapping import map_draft_orders
    from cds_service.model.order_checks import check_orders

    resources = stable_after_srs()
    volume = next(r for r in resources if r["id"] == "vol-A")
    # the lesion grows to 4.5 cm; a 1 x 20 Gy SRS draft to its (previously irradiated) volume
    lesion = next(r for r in resources if r["id"] == "tumor-lesion-A")
    resources.append(b.tumor_size(PID, lesion, "2024-02-20", 45))
    drafts = map_draft_orders(b.draft_orders([b.rt_prescription(PID, "rx", volume, 2000, 1)]),
                              resources)
    findings = check_orders(map_patient(resources), drafts, ON)
    assert {f.code for f in findings} >= {"srs-size-limit", "radionecrosis-risk"}
    flags = {c.reirradiation for f in findings for c in f.corrections}
    assert flags == {True}
