"""Clinical vignettes from the review's text and Figure 1, as FHIR bundles through the real mapping.

Each vignette is built with tests/support/fhir_builders.py (mCODE STU4 / CodeX RT STU2 shapes), mapped by
`cds_service.mapping.map_patient` and assessed by `assess` on 2024-03-01: one per situation, one per
subtype, and the silent cases (lung primary, no brain metastases, untreated BCBM, stable BCBM).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cds_service.mapping import map_patient
from cds_service.model import assessment as a
from cds_service.model.assess import assess
from cds_service.model.assessment import Assessment
from tests.support import fhir_builders as b
from tests.support import synthetic_patients as syn

ON = date(2024, 3, 1)


def run(resources: list[b.Resource], on: date = ON) -> Assessment:
    return assess(map_patient(resources), on)


def codes(result: Assessment) -> list[str]:
    return [o.code for o in result.options]


def option(result: Assessment, code: str):
    return next(o for o in result.options if o.code == code)


def warnings(result: Assessment) -> set[str]:
    return {w.code for w in result.warnings}


def base(pid: str, her2: str = "negative", er: str = "positive", pr: str = "positive",
         kps: int | None = 80, birth: str = "1970-05-01") -> tuple[list[b.Resource], b.Resource]:
    bc = b.breast_cancer(pid)
    bm = b.brain_metastases(pid, onset="2022-05-01", primary=bc)
    resources = [b.patient(pid, birth_date=birth), bc, bm,
                 *b.receptors(pid, her2=her2, er=er, pr=pr)]
    if kps is not None:
        resources.append(b.karnofsky(pid, kps, effective="2024-02-20"))
    return resources, bm


def lesion_series(pid: str, name: str, *sizes: tuple[str, float]) -> list[b.Resource]:
    tumor = b.tumor(pid, name)
    return [tumor, *(b.tumor_size(pid, tumor, day, value) for day, value in sizes)]


# --- Figure 1 and the review's situations -----------------------------------------------------

def figure_1a(kps: int = 80) -> list[b.Resource]:
    """Five progressive lesions after WBRT 10 x 3 Gy (review Figure 1A); triple-negative."""
    pid = "fig-1a"
    resources, bm = base(pid, "negative", "negative", "negative", kps=kps)
    whole_brain = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    resources += [whole_brain,
                  b.rt_course(pid, "wbrt", whole_brain, 3000, 10, "2022-05-16", "2022-05-27",
                              reason=bm)]
    for i, (before, after) in enumerate([(11, 17), (12, 18), (10, 16), (13, 19), (10, 15)]):
        resources += lesion_series(pid, f"lesion-{i + 1}", ("2022-08-01", before),
                                   ("2024-02-20", after))
    return resources


def figure_1a_receptors(her2: str, er: str, pr: str) -> list[b.Resource]:
    """Figure 1A with other receptor results (one subtype each)."""
    resources = [r for r in figure_1a() if r.get("meta", {}).get("profile", [""])[0]
                 .rsplit("/", 1)[-1] != "mcode-tumor-marker-test"]
    return resources + b.receptors("fig-1a", her2, er, pr)


def test_figure_1a_five_lesions_after_wbrt_10x3_gets_fsrt_5x6() -> None:
    result = run(figure_1a())
    assert result.situation.code == a.DISSEMINATED_AFTER_WBRT
    assert len(result.situation.progressing_lesions) == 5
    fsrt = option(result, "fsrt")
    assert (30.0, 5) in [(r.total_dose_gy, r.fractions) for r in fsrt.regimens]
    # Figure 1A: "Salvage fractionated stereotactic radiotherapy (5 x 6 Gy) for five progressive
    # brain metastases after whole-brain radiotherapy (10 x 3 Gy)" - good PS, countable lesions:
    # focal treatment is not "selected patients only" and ranks above re-WBRT
    assert not fsrt.selected_patients_only and fsrt.reirradiation
    assert codes(result).index("fsrt") < codes(result).index("re-wbrt")
    re_wbrt = option(result, "re-wbrt")
    assert [(r.total_dose_gy, r.fractions) for r in re_wbrt.regimens] == [(20.0, 10)]
    assert re_wbrt.selected_patients_only
    assert "wbrt" not in codes(result)  # a second course is re-WBRT, never a first-course dose
    assert codes(result)[-1] == "tumor-board"
    assert result.rano_bm.category == "PD"


def test_figure_1a_with_poor_performance_puts_supportive_care_first() -> None:
    result = run(figure_1a(kps=50))
    assert codes(result)[0] == "best-supportive-care"
    assert "poor-performance-status" in warnings(result)
    assert all(o.selected_patients_only for o in result.options if o.code in ("fsrt", "srs"))


def figure_1b(pathology: bool = False) -> list[b.Resource]:
    """One lesion progressing after SRS 1 x 24 Gy; the patient refused surgery (Figure 1B)."""
    pid = "fig-1b"
    resources, bm = base(pid, "positive", "negative", "negative")
    tumor = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    resources += [tumor, volume,
                  b.tumor_size(pid, tumor, "2022-06-01", 14),
                  b.rt_course(pid, "srs", volume, 2400, 1, "2022-06-10", reason=bm),
                  b.tumor_size(pid, tumor, "2022-09-01", 10),
                  b.tumor_size(pid, tumor, "2023-03-01", 9),
                  b.tumor_size(pid, tumor, "2024-02-15", 2.2, unit="cm"),
                  b.disease_status(pid, "ds", "2024-02-16", "worsened", focus=(volume,),
                                   qualifier="local", pathology=pathology)]
    return resources


def test_figure_1b_re_treatment_after_srs_1x24() -> None:
    result = run(figure_1b())
    assert result.situation.code == a.LOCAL_AFTER_SRS_IN_FIELD
    assert codes(result)[:3] == ["surgery", "fsrt", "srs"]
    assert (30.0, 5) in [(r.total_dose_gy, r.fractions) for r in option(result, "fsrt").regimens]
    srs = option(result, "srs")
    assert srs.reirradiation
    assert [(r.lesion, r.total_dose_gy) for r in srs.regimens] == [("lesion-A", 18.0)]  # 2.2 cm
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= warnings(result)
    assert result.rano_bm.category == "PD"


def test_figure_1b_with_pathology_confirmation_drops_the_pseudoprogression_warning() -> None:
    found = warnings(run(figure_1b(pathology=True)))
    assert "pseudoprogression-possible" not in found and "radionecrosis-risk" in found


def test_limited_progression_after_wbrt_on_letrozole_alone() -> None:
    result = run(syn.progressive_after_wbrt_limited())
    assert result.situation.code == a.LOCAL_AFTER_WBRT
    assert codes(result)[:2] == ["srs", "surgery"]
    assert {(r.lesion, r.total_dose_gy) for r in option(result, "srs").regimens} == {
        ("lesion-B", 20.0), ("lesion-B", 24.0), ("lesion-C", 20.0), ("lesion-C", 24.0)}
    assert "fsrt" not in codes(result)  # both lesions <= 2 cm
    assert result.subtype.code == "luminal-a"
    assert {r.code for r in result.systemic_regimens} >= {"abemaciclib", "palbociclib"}
    assert "hormonal-therapy-not-recommended" in warnings(result)
    assert result.performance_status.good is True  # ECOG 1
    assert result.gpa.ecog_stand_in


def out_of_field() -> list[b.Resource]:
    """A new lesion after SRS of another one (out-of-field progression)."""
    pid = "oof"
    resources, bm = base(pid)
    volume = b.rt_volume(pid, "vol-A", whole_brain=False, lesions=("lesion-A",))
    resources += [volume, b.rt_course(pid, "srs", volume, 2000, 1, "2023-03-01", reason=bm),
                  *lesion_series(pid, "lesion-A", ("2023-02-20", 15), ("2023-06-01", 10),
                                 ("2024-02-01", 9)),
                  *lesion_series(pid, "lesion-B", ("2024-02-01", 12))]
    return resources


def test_new_lesion_after_srs_is_out_of_field() -> None:
    result = run(out_of_field())
    assert result.situation.code == a.LOCAL_AFTER_SRS_OUT_OF_FIELD
    assert result.situation.progressing_lesions == ("lesion-B",)
    assert codes(result)[:3] == ["srs", "surgery", "fsrt"]
    assert result.rano_bm.new_lesions == ("lesion-B",)
    assert "radionecrosis-risk" not in warnings(result)


def cavity_recurrence() -> list[b.Resource]:
    """Recurrence in the cavity after surgery alone."""
    pid = "cavity"
    resources, bm = base(pid)
    tumor = b.tumor(pid, "lesion-A")
    resources += [tumor, b.tumor_size(pid, tumor, "2023-01-10", 28),
                  b.surgery(pid, "resection", "2023-01-20", reason=bm, focus_lesions=(tumor,)),
                  b.tumor_size(pid, tumor, "2023-05-01", 4),
                  b.tumor_size(pid, tumor, "2024-02-01", 15)]
    return resources


def test_recurrence_in_the_cavity_after_surgery_alone() -> None:
    result = run(cavity_recurrence())
    assert result.situation.code == a.LOCAL_AFTER_SURGERY
    assert codes(result)[:2] == ["srs", "fsrt"]
    assert "wbrt" not in codes(result)
    assert not option(result, "srs").reirradiation


def disseminated_after_srs() -> list[b.Resource]:
    """Five new lesions after SRS of one (disseminated progression after local therapy)."""
    pid = "diss-local"
    resources, bm = base(pid, "positive", "positive", "negative")
    volume = b.rt_volume(pid, "vol-A", whole_brain=False, lesions=("lesion-A",))
    resources += [volume, b.rt_course(pid, "srs", volume, 2000, 1, "2023-03-01", reason=bm),
                  *lesion_series(pid, "lesion-A", ("2023-06-01", 10), ("2024-02-01", 10))]
    for i in range(5):
        resources += lesion_series(pid, f"new-{i}", ("2024-02-01", 7 + i))
    return resources


def test_disseminated_progression_after_srs_gets_wbrt_first() -> None:
    result = run(disseminated_after_srs())
    assert result.situation.code == a.DISSEMINATED_AFTER_LOCAL
    assert codes(result)[0] == "wbrt"
    assert [(r.total_dose_gy, r.fractions) for r in option(result, "wbrt").regimens] == [
        (20.0, 5), (30.0, 10)]
    assert option(result, "surgery").selected_patients_only  # dominant lesion only
    assert result.subtype.code == "luminal-b"


def test_leptomeningeal_disease_after_srs_with_kps_60() -> None:
    result = run(syn.leptomeningeal_after_srs())
    assert result.situation.code == a.LEPTOMENINGEAL
    assert codes(result)[0] == "wbrt"
    assert "best-supportive-care" in codes(result)
    assert "poor-performance-status" in warnings(result)
    assert result.performance_status.good is False


def test_in_field_synthetic_patient_on_trastuzumab_switches_line() -> None:
    result = run(syn.progressive_after_srs_in_field())
    assert result.situation.code == a.LOCAL_AFTER_SRS_IN_FIELD
    assert result.situation.on_systemic_therapy
    systemic = option(result, "systemic-therapy")
    assert "switch the systemic line if local therapy is not feasible" in systemic.rationale
    assert result.rano_bm.baseline_sld_mm == 10.0 and result.rano_bm.current_sld_mm == 18.0


# Every progressive vignette of this file, by name (the card tests render each of them).
VIGNETTES = {
    "figure-1a": figure_1a,
    "figure-1a-kps-50": lambda: figure_1a(kps=50),
    "figure-1a-her2": lambda: figure_1a_receptors("positive", "negative", "negative"),
    "figure-1a-luminal-b": lambda: figure_1a_receptors("positive", "positive", "positive"),
    "figure-1a-luminal-a": lambda: figure_1a_receptors("negative", "positive", "negative"),
    "figure-1a-her2-equivocal": lambda: figure_1a_receptors("equivocal", "positive", "negative"),
    "figure-1b": figure_1b,
    "figure-1b-pathology": lambda: figure_1b(pathology=True),
    "out-of-field": out_of_field,
    "cavity-recurrence": cavity_recurrence,
    "disseminated-after-srs": disseminated_after_srs,
}


# --- subtypes -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("receptors", "subtype", "present", "absent"), [
    (("positive", "negative", "negative"), "her2", {"tucatinib-trastuzumab-capecitabine"},
     {"abemaciclib", "sacituzumab-govitecan"}),
    (("positive", "positive", "positive"), "luminal-b", {"trastuzumab-deruxtecan"},
     {"palbociclib", "sacituzumab-govitecan"}),
    (("negative", "positive", "negative"), "luminal-a", {"abemaciclib", "palbociclib"},
     {"trastuzumab-deruxtecan", "sacituzumab-govitecan"}),
    (("negative", "negative", "negative"), "triple-negative",
     {"sacituzumab-govitecan", "conventional-chemotherapy"},
     {"lapatinib-capecitabine", "abemaciclib"}),
    (("equivocal", "positive", "negative"), "unknown", {"temozolomide"},
     {"trastuzumab-emtansine", "abemaciclib"}),
])
def test_systemic_regimens_per_subtype_through_fhir(receptors, subtype, present, absent) -> None:
    result = run(figure_1a_receptors(*receptors))
    assert result.subtype.code == subtype
    found = {r.code for r in result.systemic_regimens}
    assert present <= found and not absent & found
    assert {"temozolomide", "temozolomide-capecitabine", "cmf", "bevacizumab"} <= found


# --- silent cases -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "code"), [
    ("lung-cancer-with-brain-metastases", a.NOT_APPLICABLE),
    ("breast-cancer-without-brain-metastases", a.NOT_APPLICABLE),
    ("untreated-bcbm", a.NOT_SALVAGE),
    ("stable-bcbm-after-srs", a.NO_PROGRESSION),
])
def test_silent_cases(name: str, code: str) -> None:
    result = run(syn.PATIENTS[name]())
    assert result.situation.code == code
    assert result.options == () and result.systemic_regimens == () and result.warnings == ()


def test_stable_bcbm_is_rano_stable() -> None:
    result = run(syn.stable_bcbm_after_srs())
    assert result.rano_bm.category == "SD"
    assert result.gpa.score is not None


def test_the_same_patient_before_progression_was_silent() -> None:
    result = run(syn.progressive_after_srs_in_field(), on=date(2023, 12, 1))
    assert result.situation.code == a.NO_PROGRESSION and result.options == ()


# --- RANO-BM through FHIR: steroids ------------------------------------------------------------

def test_steroid_increase_alone_is_not_progression() -> None:
    pid = "steroids"
    resources, bm = base(pid)
    volume = b.rt_volume(pid, "vol-A", whole_brain=False, lesions=("lesion-A",))
    resources += [volume, b.rt_course(pid, "srs", volume, 2000, 1, "2023-03-01", reason=bm),
                  *lesion_series(pid, "lesion-A", ("2023-06-01", 14), ("2024-02-01", 15)),
                  b.medication_request(pid, "dex-1", "dexamethasone", authored="2023-12-01",
                                       status="completed", dose_mg=2),
                  b.medication_request(pid, "dex-2", "dexamethasone", authored="2024-02-01",
                                       dose_mg=8)]
    result = run(resources)
    assert result.rano_bm.category == "SD"
    assert any("not PD on its own" in r for r in result.rano_bm.reasons)
    assert result.situation.code == a.NO_PROGRESSION and result.options == ()


# --- order checks through map_draft_orders -----------------------------------------------------

def test_order_checks_on_fhir_drafts() -> None:
    from cds_service.mapping import map_draft_orders
    from cds_service.model.order_checks import check_orders

    resources = syn.progressive_after_wbrt_limited()
    pid = "syn-after-wbrt"
    focal = b.rt_volume(pid, "vol-draft-B", whole_brain=False, lesions=("lesion-B",))
    whole = b.rt_volume(pid, "vol-draft-wb", whole_brain=True)
    drafts = b.draft_orders([
        focal, whole,
        b.rt_prescription(pid, "srs-too-high", focal, 2600, 1),      # lesion-B 1.9 cm: <= 24 Gy
        b.rt_prescription(pid, "wbrt-again", whole, 3000, 10),       # prior WBRT 10 x 3 Gy
        b.medication_request(pid, "anastrozole-draft", "anastrozole", status="draft"),
    ])
    record = map_patient(resources)
    findings = check_orders(record, map_draft_orders(drafts, resources), ON)
    by_order = {f.resource_id: f for f in findings}
    srs = by_order["ServiceRequest/srs-too-high"]
    assert srs.code == "srs-size-limit"
    assert (srs.corrections[0].total_dose_cgy, srs.corrections[0].fractions) == (2400, 1)
    wbrt = by_order["ServiceRequest/wbrt-again"]
    assert wbrt.code == "re-wbrt"
    assert (wbrt.corrections[0].total_dose_cgy, wbrt.corrections[0].fractions) == (2000, 10)
    hormonal = by_order["MedicationRequest/anastrozole-draft"]
    assert hormonal.code == "hormonal-therapy-not-recommended"


def test_order_checks_pass_for_a_table_1_dose() -> None:
    from cds_service.mapping import map_draft_orders
    from cds_service.model.order_checks import check_orders

    resources = syn.progressive_after_wbrt_limited()
    focal = b.rt_volume("syn-after-wbrt", "vol-draft-B", whole_brain=False,
                        lesions=("lesion-B",))
    drafts = b.draft_orders([focal, b.rt_prescription("syn-after-wbrt", "srs-ok", focal,
                                                      2400, 1)])
    assert check_orders(map_patient(resources), map_draft_orders(drafts, resources), ON) == ()


def test_order_checks_are_silent_for_the_wrong_population() -> None:
    from cds_service.mapping import map_draft_orders
    from cds_service.model.order_checks import check_orders

    resources = syn.lung_cancer_with_brain_metastases()
    volume = b.rt_volume("syn-lung", "vol-E2", whole_brain=False, lesions=("lesion-E",))
    drafts = b.draft_orders([volume, b.rt_prescription("syn-lung", "srs", volume, 3000, 1)])
    assert check_orders(map_patient(resources), map_draft_orders(drafts, resources), ON) == ()


MCODE_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "mcode-stu4-examples"


def test_mcode_jenny_m_breast_cancer_without_brain_metastases_is_silent() -> None:
    bundle = json.loads((MCODE_EXAMPLES / "Bundle-mcode-patient-bundle-jenny-m.json")
                        .read_text(encoding="utf-8"))
    result = run([bundle])
    assert result.situation.code == a.NOT_APPLICABLE
    assert result.options == () and result.warnings == ()
    assert result.subtype.code == "luminal-a"  # ER+, PR-, HER2- in the published example
