"""Hand-built assessments for the card builders' unit tests (no mapping, no model involved)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from cds_service.model.assessment import (
    LOCAL_AFTER_SRS_IN_FIELD,
    Assessment,
    Gpa,
    GpaFactor,
    ImagingAge,
    LesionResponse,
    Option,
    PerformanceStatus,
    RanoBm,
    Regimen,
    Situation,
    Subtype,
    SystemicRegimen,
    Warning,
)

ON = date(2024, 3, 1)


def srs_in_field(lesion: str = "lesion-A", **changes) -> Assessment:
    """HER2+ patient, in-field progression of one lesion after SRS (the issue's example)."""
    assessment = Assessment(
        assessment_date=ON,
        situation=Situation(
            code=LOCAL_AFTER_SRS_IN_FIELD,
            label="Progressive BCBM after SRS (in-field)",
            evidence=(f"RANO-BM PD: {lesion} grew from 10 mm (2023-06-01) to 18 mm (2024-02-01)",
                      "Disease status worsened (local) on 2024-02-05"),
            sources=("Observation/ds-2024-02",),
            progressing_lesions=(lesion,),
        ),
        performance_status=PerformanceStatus(kps=80, ecog=None, good=True),
        subtype=Subtype(code="her2", her2="positive", er="negative", pr="negative"),
        gpa=Gpa(score=3.0, median_survival_months=23.5, factors=(
            GpaFactor("kps", "KPS 80", 0.5), GpaFactor("subtype", "HER2", 1.5),
            GpaFactor("age", "51 years", 0.5), GpaFactor("brain_metastases", "1 lesion", 0.5),
            GpaFactor("extracranial_metastases", "none recorded", 0.5)),
            notes=("extracranial metastases: none recorded",), references=(57,)),
        rano_bm=RanoBm(category="PD", baseline_sld_mm=10, nadir_sld_mm=10, current_sld_mm=18,
                       reasons=("SLD +80 % above nadir and lesion-A +8 mm",),
                       baseline_date=date(2023, 6, 1), current_date=date(2024, 2, 1),
                       lesions=(LesionResponse(lesion, 10, 10, 18, True, True),)),
        options=(
            Option("surgery", 1, "Surgical resection", "Mainstay for in-field progression",
                   (37, 38, 39), lesions=(lesion,)),
            Option("fsrt", 2, "Fractionated stereotactic radiotherapy",
                   "Preferred over SRS when the radionecrosis risk is significant", (15, 42),
                   regimens=(Regimen(30, 5, lesion), Regimen(27, 3, lesion)),
                   reirradiation=True, lesions=(lesion,)),
            Option("srs", 3, "Repeat stereotactic radiosurgery", "Possible, radionecrosis risk",
                   (40, 41, 42), regimens=(Regimen(24, 1, lesion), Regimen(20, 1, lesion)),
                   reirradiation=True, lesions=(lesion,)),
            Option("systemic-therapy", 4, "Systemic therapy", "HER2-directed", (70, 71)),
            Option("tumor-board", 5, "Multidisciplinary tumour board", "Decide together",
                   (82, 83, 84)),
        ),
        systemic_regimens=(
            SystemicRegimen("tucatinib-trastuzumab-capecitabine",
                            "Tucatinib + trastuzumab + capecitabine", (70,)),
            SystemicRegimen("trastuzumab-deruxtecan", "Trastuzumab deruxtecan", (71,)),
        ),
        warnings=(
            Warning("radionecrosis-risk", f"Repeat SRS/FSRT to {lesion} re-irradiates it",
                    (40, 42)),
            Warning("pseudoprogression-possible", f"{lesion} grew inside the SRS volume", (23,)),
        ),
        missing_data=("No steroid record",),
        references=(15, 17, 23, 37, 38, 39, 40, 41, 42, 57, 70, 71, 82, 83, 84),
        imaging=ImagingAge(latest_date=date(2024, 2, 1), age_days=29, limit_days=90),
    )
    return replace(assessment, **changes)


def whole_brain_option(code: str = "wbrt", reirradiation: bool = False) -> Option:
    regimens = (Regimen(20, 10),) if code == "re-wbrt" else (Regimen(20, 5), Regimen(30, 10))
    return Option(code, 1, "Whole-brain radiotherapy", "Numerous lesions", (16,),
                  regimens=regimens, reirradiation=reirradiation)
