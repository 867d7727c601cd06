"""Synthetic patients, each a clinical situation of the review, as FHIR resources.

Each function returns the resources of one patient in the mCODE / CodeX shapes of
the FHIR input profile (docs/fhir-mapping.md). `python -m tests.support.synthetic_patients` writes them as
transaction Bundles to the package's demo data, cds_service/ops/demo/patients/ — their one home: the
integration tests load those files into the real FHIR server, `salvage-cds demo load` into any FHIR
server, and `test_synthetic_patients.py` checks the files still equal what these functions build.
`PATIENTS` are the patients of the test suite; `DEMO_ONLY` adds the review's remaining situations
for demos (tested by tests/ops/test_demo.py). Names and birth dates are invented; the PHI-safe logging
test searches the logs for them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support import fhir_builders as b

Resources = list[b.Resource]
PATIENT_DIR = Path(__file__).resolve().parents[2] / "cds_service" / "ops" / "demo" / "patients"


def progressive_after_srs_in_field() -> Resources:
    """HER2+ (ER-, PR-) patient: lesion A treated with SRS 1 x 20 Gy grows in-field (RANO-BM PD)."""
    pid = "syn-srs-in-field"
    bc = b.breast_cancer(pid)
    bm = b.brain_metastases(pid, onset="2023-02-01", primary=bc)
    lesion_a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [
        b.patient(pid, birth_date="1972-04-17", family="Zielinska", given="Halina"),
        bc, bm, lesion_a, volume,
        *b.receptors(pid, her2="positive", er="negative", pr="negative"),
        b.karnofsky(pid, 80, effective="2024-02-06"),
        b.tumor_size(pid, lesion_a, "2023-02-20", 15),
        b.rt_course(pid, "srs-2023", volume, 2000, 1, "2023-03-01", reason=bm),
        b.tumor_size(pid, lesion_a, "2023-06-01", 10),
        b.tumor_size(pid, lesion_a, "2023-09-01", 1.1, unit="cm"),
        b.tumor_size(pid, lesion_a, "2024-02-01", 18),
        b.disease_status(pid, "ds-2024-02", "2024-02-05", "worsened", focus=(volume,),
                         qualifier="local"),
        b.medication_request(pid, "trastuzumab-rx", "trastuzumab", authored="2023-01-10"),
    ]


def progressive_after_wbrt_limited() -> Resources:
    """Luminal A patient on letrozole alone: two lesions grow after WBRT 10 x 3 Gy (limited)."""
    pid = "syn-after-wbrt"
    bc = b.breast_cancer(pid, onset="2018-09-01")
    bm = b.brain_metastases(pid, onset="2023-03-15", primary=bc)
    lesion_b = b.tumor(pid, "lesion-B")
    lesion_c = b.tumor(pid, "lesion-C")
    whole_brain = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    return [
        b.patient(pid, birth_date="1961-11-02", family="Nowakowska", given="Irena"),
        bc, bm, lesion_b, lesion_c, whole_brain,
        *b.receptors(pid, her2="negative", er="positive", pr="positive", effective="2018-09-20"),
        b.ecog(pid, 1, effective="2024-01-20"),
        b.rt_course(pid, "wbrt-2023", whole_brain, 3000, 10, "2023-04-03", "2023-04-14", reason=bm),
        b.tumor_size(pid, lesion_b, "2023-06-01", 12),
        b.tumor_size(pid, lesion_c, "2023-06-01", 11),
        b.tumor_size(pid, lesion_b, "2023-10-01", 12),
        b.tumor_size(pid, lesion_c, "2023-10-01", 10),
        b.tumor_size(pid, lesion_b, "2024-01-15", 19),
        b.tumor_size(pid, lesion_c, "2024-01-15", 16),
        b.medication_request(pid, "letrozole-rx", "letrozole", authored="2019-01-05"),
    ]


def disseminated_after_wbrt() -> Resources:
    """Review Figure 1A: five progressive lesions after WBRT 10 x 3 Gy, triple-negative, KPS 80."""
    pid = "syn-disseminated-wbrt"
    bc = b.breast_cancer(pid, onset="2020-01-10")
    bm = b.brain_metastases(pid, onset="2022-05-01", primary=bc)
    whole_brain = b.rt_volume(pid, "vol-wbrt-1", whole_brain=True)
    resources: Resources = [
        b.patient(pid, birth_date="1980-02-29", family="Wisniewska", given="Marta"),
        bc, bm, whole_brain,
        *b.receptors(pid, her2="negative", er="negative", pr="negative", effective="2020-01-20"),
        b.karnofsky(pid, 80, effective="2024-03-01"),
        b.extracranial_metastasis(pid, onset="2021-11-01"),
        b.rt_course(pid, "wbrt-2022", whole_brain, 3000, 10, "2022-05-16", "2022-05-27", reason=bm),
    ]
    sizes = {"L1": (11, 17), "L2": (12, 18), "L3": (10, 16), "L4": (13, 19), "L5": (10, 15)}
    for name, (before, after) in sizes.items():
        lesion = b.tumor(pid, f"lesion-{name}")
        resources += [
            lesion,
            b.tumor_size(pid, lesion, "2022-08-01", before),
            b.tumor_size(pid, lesion, "2024-02-20", after),
        ]
    return resources


def leptomeningeal_after_srs() -> Resources:
    """Leptomeningeal disease diagnosed after SRS; KPS 60 (poor performance status)."""
    pid = "syn-leptomeningeal"
    bc = b.breast_cancer(pid, onset="2017-05-01")
    bm = b.brain_metastases(pid, onset="2023-01-05", primary=bc)
    lesion = b.tumor(pid, "lesion-D")
    volume = b.rt_volume(pid, "vol-srs-D", whole_brain=False, lesions=("lesion-D",))
    return [
        b.patient(pid, birth_date="1958-07-30", family="Lewandowska", given="Ewa"),
        bc, bm, lesion, volume,
        *b.receptors(pid, her2="negative", er="positive", pr="negative", effective="2017-05-20"),
        b.karnofsky(pid, 60, effective="2024-02-10"),
        b.tumor_size(pid, lesion, "2023-01-10", 14),
        b.rt_course(pid, "srs-2023-d", volume, 2200, 1, "2023-01-20", reason=bm),
        b.tumor_size(pid, lesion, "2023-05-01", 9),
        b.leptomeningeal(pid, onset="2024-02-01"),
        b.symptom(pid, "seizure-2024", onset="2024-01-28"),
    ]


def lung_cancer_with_brain_metastases() -> Resources:
    """Wrong population: NSCLC primary with brain metastases progressing after SRS → silent."""
    pid = "syn-lung"
    lung = b.lung_cancer(pid)
    bm = b.brain_metastases(pid, onset="2023-02-01", primary=lung)
    lesion = b.tumor(pid, "lesion-E")
    volume = b.rt_volume(pid, "vol-srs-E", whole_brain=False, lesions=("lesion-E",))
    return [
        b.patient(pid, birth_date="1955-03-03", gender="male", family="Kowalski", given="Jan"),
        lung, bm, lesion, volume,
        b.karnofsky(pid, 90, effective="2024-02-01"),
        b.tumor_size(pid, lesion, "2023-02-10", 12),
        b.rt_course(pid, "srs-lung", volume, 2000, 1, "2023-02-20", reason=bm),
        b.tumor_size(pid, lesion, "2023-06-01", 8),
        b.tumor_size(pid, lesion, "2024-01-20", 17),
        b.disease_status(pid, "ds-lung", "2024-01-22", "worsened", focus=(volume,),
                         qualifier="local"),
    ]


def breast_cancer_without_brain_metastases() -> Resources:
    """Wrong population: breast cancer with bone metastases only → silent."""
    pid = "syn-no-brain-mets"
    bc = b.breast_cancer(pid, onset="2021-02-01")
    return [
        b.patient(pid, birth_date="1969-12-12", family="Wojcik", given="Barbara"),
        bc,
        b.extracranial_metastasis(pid, onset="2023-04-01"),
        *b.receptors(pid, her2="positive", er="positive", pr="positive", effective="2021-02-10"),
        b.ecog(pid, 0, effective="2024-01-10"),
        b.medication_request(pid, "trastuzumab-nbm", "trastuzumab", authored="2021-03-01"),
    ]


def untreated_bcbm() -> Resources:
    """BCBM never treated locally: not a salvage situation → silent."""
    pid = "syn-untreated"
    bc = b.breast_cancer(pid, onset="2022-06-01")
    bm = b.brain_metastases(pid, onset="2024-01-15", primary=bc)
    lesion = b.tumor(pid, "lesion-F")
    return [
        b.patient(pid, birth_date="1975-08-08", family="Kaminska", given="Zofia"),
        bc, bm, lesion,
        *b.receptors(pid, her2="negative", er="negative", pr="negative", effective="2022-06-10"),
        b.karnofsky(pid, 90, effective="2024-01-20"),
        b.tumor_size(pid, lesion, "2024-01-15", 12),
        b.tumor_size(pid, lesion, "2024-02-20", 16),
    ]


def stable_bcbm_after_srs() -> Resources:
    """BCBM treated with SRS, shrinking since: no progression → silent."""
    pid = "syn-stable"
    bc = b.breast_cancer(pid, onset="2019-10-01")
    bm = b.brain_metastases(pid, onset="2023-05-01", primary=bc)
    lesion = b.tumor(pid, "lesion-G")
    volume = b.rt_volume(pid, "vol-srs-G", whole_brain=False, lesions=("lesion-G",))
    return [
        b.patient(pid, birth_date="1966-01-21", family="Szymanska", given="Krystyna"),
        bc, bm, lesion, volume,
        *b.receptors(pid, her2="positive", er="positive", pr="negative", effective="2019-10-15"),
        b.karnofsky(pid, 90, effective="2024-02-01"),
        b.tumor_size(pid, lesion, "2023-05-05", 16),
        b.rt_course(pid, "srs-stable", volume, 1800, 1, "2023-05-20", reason=bm),
        b.tumor_size(pid, lesion, "2023-09-01", 12),
        b.tumor_size(pid, lesion, "2024-01-20", 11),
        b.disease_status(pid, "ds-stable", "2024-01-22", "stable", focus=(volume,)),
    ]


def progressive_after_srs_out_of_field() -> Resources:
    """Luminal A patient: lesion A controlled after SRS 1 x 20 Gy, a new lesion B outside it."""
    pid = "syn-srs-out-of-field"
    bc = b.breast_cancer(pid, onset="2019-04-01")
    bm = b.brain_metastases(pid, onset="2023-02-01", primary=bc)
    lesion_a = b.tumor(pid, "lesion-A")
    lesion_b = b.tumor(pid, "lesion-B")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [
        b.patient(pid, birth_date="1964-06-11", family="Dabrowska", given="Anna"),
        bc, bm, lesion_a, lesion_b, volume,
        *b.receptors(pid, her2="negative", er="positive", pr="positive", effective="2019-04-15"),
        b.karnofsky(pid, 80, effective="2024-02-20"),
        b.tumor_size(pid, lesion_a, "2023-02-20", 15),
        b.rt_course(pid, "srs-2023-a", volume, 2000, 1, "2023-03-01", reason=bm),
        b.tumor_size(pid, lesion_a, "2023-06-01", 10),
        b.tumor_size(pid, lesion_a, "2024-02-01", 9),
        b.tumor_size(pid, lesion_b, "2024-02-01", 12),
    ]


def cavity_recurrence_after_surgery() -> Resources:
    """Luminal A patient: recurrence in the resection cavity after surgery alone."""
    pid = "syn-cavity"
    bc = b.breast_cancer(pid, onset="2020-03-01")
    bm = b.brain_metastases(pid, onset="2022-12-20", primary=bc)
    lesion = b.tumor(pid, "lesion-A")
    return [
        b.patient(pid, birth_date="1977-09-23", family="Grabowska", given="Ewa"),
        bc, bm, lesion,
        *b.receptors(pid, her2="negative", er="positive", pr="positive", effective="2020-03-10"),
        b.karnofsky(pid, 80, effective="2024-02-20"),
        b.tumor_size(pid, lesion, "2023-01-10", 28),
        b.surgery(pid, "resection", "2023-01-20", reason=bm, focus_lesions=(lesion,)),
        b.tumor_size(pid, lesion, "2023-05-01", 4),
        b.tumor_size(pid, lesion, "2024-02-01", 15),
    ]


def disseminated_after_srs() -> Resources:
    """Luminal B patient: five new lesions after SRS of one (disseminated after local therapy)."""
    pid = "syn-disseminated-srs"
    bc = b.breast_cancer(pid, onset="2019-08-01")
    bm = b.brain_metastases(pid, onset="2023-02-01", primary=bc)
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    lesion_a = b.tumor(pid, "lesion-A")
    resources: Resources = [
        b.patient(pid, birth_date="1971-01-05", family="Pawlowska", given="Maria"),
        bc, bm, volume, lesion_a,
        *b.receptors(pid, her2="positive", er="positive", pr="negative", effective="2019-08-10"),
        b.karnofsky(pid, 80, effective="2024-02-20"),
        b.rt_course(pid, "srs-2023-a", volume, 2000, 1, "2023-03-01", reason=bm),
        b.tumor_size(pid, lesion_a, "2023-06-01", 10),
        b.tumor_size(pid, lesion_a, "2024-02-01", 10),
    ]
    for i in range(5):
        lesion = b.tumor(pid, f"lesion-N{i + 1}")
        resources += [lesion, b.tumor_size(pid, lesion, "2024-02-01", 7 + i)]
    return resources


def _rewrite_references(value: object, renamed: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item in renamed:
                value[key] = renamed[item]
            else:
                _rewrite_references(item, renamed)
    elif isinstance(value, list):
        for item in value:
            _rewrite_references(item, renamed)


def namespaced(build: Callable[[], Resources]) -> Callable[[], Resources]:
    """Prefix every resource id with the patient id, so that all the synthetic patients can live
    in one FHIR server together (the builders' default ids, e.g. Condition/brain-mets, repeat)."""

    def build_namespaced() -> Resources:
        resources = build()
        pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
        renamed = {}
        for resource in resources:
            if resource["resourceType"] != "Patient" and not resource["id"].startswith(pid):
                new_id = f"{pid}-{resource['id']}"
                renamed[f"{resource['resourceType']}/{resource['id']}"] = \
                    f"{resource['resourceType']}/{new_id}"
                resource["id"] = new_id
        _rewrite_references(resources, renamed)
        return resources

    build_namespaced.__doc__ = build.__doc__
    return build_namespaced


PATIENTS: dict[str, Callable[[], Resources]] = {
    name: namespaced(build) for name, build in {
        "progressive-after-srs-in-field": progressive_after_srs_in_field,
        "progressive-after-wbrt-limited": progressive_after_wbrt_limited,
        "disseminated-after-wbrt": disseminated_after_wbrt,
        "leptomeningeal-after-srs": leptomeningeal_after_srs,
        "lung-cancer-with-brain-metastases": lung_cancer_with_brain_metastases,
        "breast-cancer-without-brain-metastases": breast_cancer_without_brain_metastases,
        "untreated-bcbm": untreated_bcbm,
        "stable-bcbm-after-srs": stable_bcbm_after_srs,
    }.items()
}

# The review's remaining situations, for demos only (the suite's goldens cover PATIENTS).
DEMO_ONLY: dict[str, Callable[[], Resources]] = {
    name: namespaced(build) for name, build in {
        "progressive-after-srs-out-of-field": progressive_after_srs_out_of_field,
        "cavity-recurrence-after-surgery": cavity_recurrence_after_surgery,
        "disseminated-after-srs": disseminated_after_srs,
    }.items()
}

# Every bundle of the package's demo data.
ALL_PATIENTS: dict[str, Callable[[], Resources]] = {**PATIENTS, **DEMO_ONLY}

# Patients for whom the service must stay silent on patient-view.
SILENT = frozenset({
    "lung-cancer-with-brain-metastases",
    "breast-cancer-without-brain-metastases",
    "untreated-bcbm",
    "stable-bcbm-after-srs",
})


def patient_id(name: str) -> str:
    return next(r["id"] for r in ALL_PATIENTS[name]() if r["resourceType"] == "Patient")


def resource(name: str, short_id: str) -> b.Resource:
    """One resource of a synthetic patient by its id before namespacing (e.g. "vol-wbrt")."""
    pid = patient_id(name)
    return next(r for r in PATIENTS[name]() if r["id"] in (short_id, f"{pid}-{short_id}"))


def bundle_path(name: str) -> Path:
    return PATIENT_DIR / f"{name}.json"


def load_bundle(name: str) -> b.Resource:
    return json.loads(bundle_path(name).read_text("utf-8"))


def write_all() -> None:
    PATIENT_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in ALL_PATIENTS.items():
        text = json.dumps(b.transaction(build()), indent=2, ensure_ascii=False) + "\n"
        bundle_path(name).write_text(text, "utf-8")


if __name__ == "__main__":
    write_all()
    print(f"wrote {len(ALL_PATIENTS)} bundles to {PATIENT_DIR}", file=sys.stderr)
