"""The benchmark's realistic progressive-BCBM patient (about 60 FHIR resources).

HER2-positive, three brain lesions measured on four MRI scans each, three radiotherapy courses
(WBRT 10 x 3 Gy, then SRS 1 x 20 Gy, then FSRT 5 x 6 Gy), one resection, receptor tests at
diagnosis and on the resected metastasis, KPS and ECOG series, steroids and HER2-directed therapy.
"""

from __future__ import annotations

from tests.support import fhir_builders as b


def realistic_patient() -> list[b.Resource]:
    pid = "bench-patient"
    bc = b.breast_cancer(pid, onset="2019-02-01")
    bm = b.brain_metastases(pid, onset="2021-10-01", primary=bc)
    resources: list[b.Resource] = [
        b.patient(pid, birth_date="1968-06-15", family="Benchmark", given="Beata"),
        bc, bm,
        b.extracranial_metastasis(pid, "bone", onset="2020-05-01"),
        b.extracranial_metastasis(pid, "liver", code="94381002", onset="2021-01-01"),
        b.symptom(pid, "seizure", onset="2024-02-10"),
        *b.receptors(pid, her2="positive", er="positive", pr="negative", effective="2019-02-10"),
        *b.receptors(pid, her2="positive", er="positive", pr="negative", effective="2022-01-20"),
        b.karnofsky(pid, 90, effective="2021-10-05", oid="kps-1"),
        b.karnofsky(pid, 80, effective="2023-01-05", oid="kps-2"),
        b.karnofsky(pid, 80, effective="2024-02-15", oid="kps-3"),
        b.ecog(pid, 1, effective="2024-02-15", oid="ecog-1"),
        b.receptor(pid, "her2", "positive", "2019-02-10", oid="her2-ihc-1", code="85319-2"),
        b.receptor(pid, "her2", "positive", "2019-02-12", oid="her2-ish-1", code="85318-4"),
        b.receptor(pid, "her2", "positive", "2022-01-20", oid="her2-ihc-2", code="85319-2"),
        b.receptor(pid, "er", "positive", "2022-01-20", oid="er-interp-2", code="16112-5"),
        b.ecog(pid, 0, effective="2021-10-05", oid="ecog-0"),
        b.ecog(pid, 1, effective="2023-01-05", oid="ecog-0b"),
        b.karnofsky(pid, 90, effective="2022-06-01", oid="kps-1b"),
        b.disease_status(pid, "ds-0", "2022-06-01", "improved"),
        b.disease_status(pid, "ds-1", "2023-03-01", "stable"),
        b.condition("htn", pid, b.SNOMED, "38341003", "Hypertension", onset="2015-01-01"),
    ]
    whole_brain = b.rt_volume(pid, "vol-wb", whole_brain=True)
    lesions = [b.tumor(pid, name) for name in ("lesion-1", "lesion-2", "lesion-3")]
    srs_volume = b.rt_volume(pid, "vol-srs-1", whole_brain=False, lesions=("lesion-1",))
    fsrt_volume = b.rt_volume(pid, "vol-fsrt-2", whole_brain=False, lesions=("lesion-2",))
    resources += [whole_brain, srs_volume, fsrt_volume, *lesions]
    resources += [
        b.rt_course(pid, "wbrt", whole_brain, 3000, 10, "2021-10-11", "2021-10-22", reason=bm),
        b.surgery(pid, "resection", "2022-01-15", reason=bm),
        b.rt_course(pid, "srs", srs_volume, 2000, 1, "2022-09-01", reason=bm, reirradiation=True),
        b.rt_course(pid, "fsrt", fsrt_volume, 3000, 5, "2023-04-03", "2023-04-07", reason=bm,
                    reirradiation=True),
    ]
    scans = ("2023-05-15", "2023-08-20", "2023-11-25", "2024-02-12")
    sizes = {"lesion-1": (12, 11, 12, 19), "lesion-2": (15, 13, 13, 14), "lesion-3": (10, 10, 12, 16)}
    for lesion in lesions:
        for scan, size in zip(scans, sizes[lesion["identifier"][0]["value"]], strict=True):
            resources.append(b.tumor_size(pid, lesion, scan, size))
    resources += [
        b.disease_status(pid, "ds-2", "2024-02-14", "worsened", focus=(srs_volume,),
                         qualifier="local"),
        b.medication_request(pid, "dex-1", "dexamethasone", authored="2024-01-10", dose_mg=4,
                             status="completed"),
        b.medication_request(pid, "dex-2", "dexamethasone", authored="2024-02-12", dose_mg=8),
        b.medication_request(pid, "paclitaxel", "paclitaxel", authored="2019-03-01",
                             status="completed"),
        b.medication_request(pid, "trastuzumab-1", "trastuzumab", authored="2019-03-01",
                             status="completed"),
        b.medication_request(pid, "anastrozole", "anastrozole", authored="2020-01-01",
                             status="stopped"),
        b.medication_request(pid, "trastuzumab", "trastuzumab", authored="2022-02-01"),
        b.medication_request(pid, "tucatinib", "tucatinib", authored="2023-06-01"),
        b.medication_request(pid, "capecitabine", "capecitabine", authored="2023-06-01"),
    ]
    return resources
