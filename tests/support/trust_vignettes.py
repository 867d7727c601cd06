"""Vignettes of issue 13 ("Clinical trust II", items 1, 6, 7, 8), as FHIR resources.

Each is written from a sentence of the review (Spalek & Mandat 2022) or of the cited guideline;
the tests quote that sentence next to their expectation (tests/web/test_assessment_api.py through
/api/assessment, tests/hooks/test_end_to_end.py through patient-view with no prefetch).
"""

from __future__ import annotations

from tests.support import fhir_builders as b
from tests.support import synthetic_patients as syn

Resources = list[b.Resource]


def her2_progressing_on_tucatinib() -> Resources:
    """HER2+ (ER-, PR-): in-field progression after SRS during tucatinib + trastuzumab +
    capecitabine (the synthetic in-field patient with the HER2CLIMB regimen active)."""
    pid = "syn-srs-in-field"
    return [
        *syn.progressive_after_srs_in_field(),
        b.medication_request(pid, "tucatinib-rx", "tucatinib", authored="2023-06-01"),
        b.medication_request(pid, "capecitabine-rx", "capecitabine", authored="2023-06-01"),
    ]


def disseminated_after_srs(*, with_kps: bool = True) -> Resources:
    """Luminal B, age 50, KPS 90, no extracranial metastasis: lesion L1 treated with SRS in
    2022, five lesions progress in 2024 (disseminated progression after local treatment, a
    first-course WBRT is an option)."""
    pid = "syn-disseminated-srs"
    bc = b.breast_cancer(pid, onset="2020-01-10")
    bm = b.brain_metastases(pid, onset="2022-05-01", primary=bc)
    first = b.tumor(pid, "lesion-L1")
    volume = b.rt_volume(pid, "vol-srs-L1", whole_brain=False, lesions=("lesion-L1",))
    resources: Resources = [
        b.patient(pid, birth_date="1974-01-15", family="Kowalczyk", given="Anna"),
        bc, bm, volume,
        *b.receptors(pid, her2="positive", er="positive", pr="negative", effective="2020-01-20"),
        b.rt_course(pid, "srs-2022", volume, 2000, 1, "2022-05-16", reason=bm),
    ]
    if with_kps:
        resources.append(b.karnofsky(pid, 90, effective="2024-03-01"))
    sizes = {"L1": (11, 17), "L2": (12, 18), "L3": (10, 16), "L4": (13, 19), "L5": (10, 15)}
    for name, (before, after) in sizes.items():
        lesion = first if name == "L1" else b.tumor(pid, f"lesion-{name}")
        resources += [
            lesion,
            b.tumor_size(pid, lesion, "2022-08-01", before),
            b.tumor_size(pid, lesion, "2024-02-20", after),
        ]
    return resources


def triple_negative_primary_her2_positive_metastasis() -> Resources:
    """The triple-negative disseminated-after-WBRT patient, whose brain metastasis specimen
    (resected 2024-02-25) is HER2-positive: the receptor results differ between specimens."""
    pid = "syn-disseminated-wbrt"
    resources = syn.disseminated_after_wbrt()
    for resource in resources:
        if resource["resourceType"] == "Observation" and resource["id"].startswith(
                ("her2-", "er-", "pr-")):
            resource["specimen"] = {"display": "primary breast tumour core biopsy"}
    metastasis = b.receptor(pid, "her2", "positive", effective="2024-02-25",
                            oid="her2-brain-2024")
    metastasis["specimen"] = {"display": "brain metastasis resection"}
    return [*resources, metastasis]
