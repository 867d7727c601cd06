"""A hand-built PatientRecord and Assessment for the plan-page tests (independent of the model)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.model.assessment import (
    Assessment,
    Gpa,
    GpaFactor,
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
from cds_service.model.patient import (
    ConditionFact,
    Lesion,
    LocalTreatment,
    Measurement,
    PatientRecord,
    Presence,
    Receptor,
    ReceptorStatus,
    SkippedResource,
    TreatmentKind,
)
from cds_service.smart.data import PatientData

HOSTILE = '<script>alert("x")</script>'


def record(*, lesion_b_id: str = "lesion-B") -> PatientRecord:
    present = ConditionFact(Presence.PRESENT, date(2023, 2, 1), ("Condition/bm",))
    absent = ConditionFact(Presence.ABSENT)
    return PatientRecord(
        patient_id="p1",
        birth_date=date(1972, 4, 17),
        gender="female",
        breast_cancer=present,
        brain_metastases=present,
        leptomeningeal=absent,
        extracranial=absent,
        her2=Receptor(ReceptorStatus.POSITIVE),
        er=Receptor(ReceptorStatus.NEGATIVE),
        pr=Receptor(ReceptorStatus.NEGATIVE),
        lesions=(
            Lesion("lesion-A", (
                Measurement(date(2023, 2, 20), 15, "Observation/a1"),
                Measurement(date(2023, 6, 1), 10, "Observation/a2"),
                Measurement(date(2023, 9, 1), 11, "Observation/a3"),
                Measurement(date(2024, 2, 1), 18, "Observation/a4"),
            ), date(2023, 2, 20)),
            Lesion(lesion_b_id, (
                Measurement(date(2023, 6, 1), 6, "Observation/b1"),
                Measurement(date(2024, 2, 1), 7, "Observation/b2"),
            ), date(2023, 6, 1)),
        ),
        treatments=(
            LocalTreatment(TreatmentKind.SURGERY, date(2022, 11, 3), None, "Procedure/s"),
            LocalTreatment(TreatmentKind.SRS, date(2023, 3, 1), date(2023, 3, 1), "Procedure/srs",
                           total_dose_cgy=2000, fractions=1, lesion_ids=("lesion-A",)),
            LocalTreatment(TreatmentKind.WBRT, date(2023, 10, 2), date(2023, 10, 13),
                           "Procedure/wbrt", total_dose_cgy=3000, fractions=10),
        ),
        skipped=(SkippedResource("Observation/zz", "no unit"),),
    )


def assessment() -> Assessment:
    return Assessment(
        assessment_date=date(2024, 2, 10),
        situation=Situation(
            code="local-progression-after-srs-in-field",
            label="Progressive BCBM after SRS (in-field)",
            evidence=("lesion-A grew from 10 mm (2023-06-01) to 18 mm (2024-02-01) inside the SRS "
                      "volume of 2023-03-01", HOSTILE),
            progressing_lesions=("lesion-A",),
        ),
        performance_status=PerformanceStatus(kps=80, ecog=None, good=True),
        subtype=Subtype("her2", "positive", "negative", "negative"),
        gpa=Gpa(score=3.0, median_survival_months=23.5, factors=(
            GpaFactor("kps", "KPS 80", 0.5), GpaFactor("subtype", "HER2+ ER− PR−", 1.5),
            GpaFactor("age", "51 years", 0.5), GpaFactor("brain_metastases", "2 lesions", 0.0),
            GpaFactor("extracranial_metastases", "none recorded", 0.5)),
            notes=("extracranial metastases: none recorded",), references=(57,)),
        rano_bm=RanoBm(category="PD", baseline_sld_mm=15, nadir_sld_mm=10, current_sld_mm=18,
                       reasons=("sum 18 mm is +80 % from the nadir 10 mm",),
                       baseline_date=date(2023, 2, 20), current_date=date(2024, 2, 1),
                       lesions=(LesionResponse("lesion-A", 15, 10, 18, True, True),
                                LesionResponse("lesion-B", 6, 6, 7, False, False))),
        options=(
            Option("srs", 1, "Repeat SRS", "Limited in-field progression with good performance "
                   "status after excluding radionecrosis.", (30, 31),
                   regimens=(Regimen(20, 1, "lesion-A", "max diameter ≤ 2.0 cm"),
                             Regimen(24, 1, "lesion-A")), reirradiation=True,
                   lesions=("lesion-A",)),
            Option("surgery", 2, "Surgical resection", "Symptomatic or large lesion.", (20,),
                   selected_patients_only=True),
        ),
        systemic_regimens=(SystemicRegimen("tucatinib-trastuzumab-capecitabine",
                                           "Tucatinib + trastuzumab + capecitabine", (70,)),),
        warnings=(
            Warning("pseudoprogression-possible", "Enlargement after SRS may be radionecrosis.",
                    (23, 24), "warning"),
            Warning("radionecrosis-risk", "Repeat SRS to an irradiated volume.", (40, 42),
                    "critical"),
        ),
        missing_data=("no MRI perfusion study on record",),
        references=(20, 23, 24, 30, 31, 40, 42, 57, 70),
    )


def _bundle(resource_type: str, resource_id: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": {"resourceType": resource_type, "id": resource_id}}]}


def patient_data() -> PatientData:
    return PatientData(
        values={"patient": {"resourceType": "Patient", "id": "p1",
                            "name": [{"family": "Zielinska", "given": ["Halina"]}]},
                # the searches the situation rests on returned something (see data.unread)
                "observations": _bundle("Observation", "a1"),
                "procedures": _bundle("Procedure", "srs")},
        missing=["medicationStatements: the FHIR server answered 404"],
        notes=["observations: stopped after 10 pages; more data exists"],
    )
