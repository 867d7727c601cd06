"""Hand-built `PatientRecord`s for unit tests of single rules (vignettes use FHIR bundles)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.model.patient import (
    ConditionFact,
    DiseaseStatus,
    DraftMedicationOrder,
    DraftRadiotherapyOrder,
    Lesion,
    LocalTreatment,
    Measurement,
    PatientRecord,
    PerformanceScore,
    Presence,
    ProgressionQualifier,
    Receptor,
    ReceptorStatus,
    SteroidTrend,
    SteroidUse,
    Symptom,
    SystemicTherapy,
    TherapyClass,
    TreatmentKind,
    Trend,
)

ON = date(2024, 3, 1)


def d(text: str) -> date:
    return date.fromisoformat(text)


def present(onset: str | None = None) -> ConditionFact:
    return ConditionFact(Presence.PRESENT, d(onset) if onset else None, ("Condition/x",))


ABSENT = ConditionFact(Presence.ABSENT)
UNKNOWN = ConditionFact(Presence.UNKNOWN)


def receptor(status: str) -> Receptor:
    return Receptor(ReceptorStatus(status))


def lesion(lid: str, *sizes: tuple[str, float], first_seen: str | None = None) -> Lesion:
    measurements = tuple(Measurement(d(day), float(v), f"Observation/{lid}-{day}")
                         for day, v in sizes)
    seen = d(first_seen) if first_seen else (measurements[0].date if measurements else None)
    return Lesion(id=lid, measurements=measurements, first_seen=seen)


def treatment(kind: str, day: str | None, lesions: tuple[str, ...] = (), *,
              dose_cgy: float | None = None, fractions: int | None = None,
              volumes: tuple[str, ...] = ()) -> LocalTreatment:
    defaults = {"srs": (2000, 1), "fsrt": (3000, 5), "wbrt": (3000, 10), "surgery": (None, None)}
    dose, fx = defaults.get(kind, (None, None))
    when = d(day) if day else None
    return LocalTreatment(kind=TreatmentKind(kind), start=when, end=when,
                          source=f"Procedure/{kind}-{day}",
                          total_dose_cgy=dose_cgy if dose_cgy is not None else dose,
                          fractions=fractions if fractions is not None else fx,
                          lesion_ids=lesions,
                          volume_ids=volumes or ((f"BodyStructure/vol-{kind}-{day}",)
                                                 if kind != "surgery" else ()))


def status(day: str | None, trend: str = "worsened", *, lesions: tuple[str, ...] = (),
           volumes: tuple[str, ...] = (), qualifier: str | None = None,
           pathology: bool = False, focus: tuple[str, ...] = ("Condition/x",)) -> DiseaseStatus:
    """A disease status; by default about the brain metastasis Condition (`present()`'s source)."""
    return DiseaseStatus(date=d(day) if day else None, trend=Trend(trend),
                         source=f"Observation/ds-{day}",
                         qualifier=ProgressionQualifier(qualifier) if qualifier else None,
                         focus=focus, lesion_ids=lesions, volume_ids=volumes,
                         pathology_confirmed=pathology)


def kps(value: int, day: str = "2024-02-01") -> PerformanceScore:
    return PerformanceScore(value, d(day), "Observation/kps")


def ecog(value: int, day: str = "2024-02-01") -> PerformanceScore:
    return PerformanceScore(value, d(day), "Observation/ecog")


def drug(name: str, cls: str, start: str | None = "2023-01-01") -> SystemicTherapy:
    return SystemicTherapy(drug=name, therapy_class=TherapyClass(cls),
                           source=f"MedicationRequest/{name}", start=d(start) if start else None)


def symptom(day: str | None, display: str = "Seizure") -> Symptom:
    return Symptom(code="91175000", display=display, date=d(day) if day else None,
                   source="Condition/symptom")


def steroids(trend: str, active: bool = True) -> SteroidUse:
    return SteroidUse(SteroidTrend(trend), active)


def record(*, her2: str = "positive", er: str = "negative", pr: str = "negative",
           birth: str | None = "1972-04-17", **kw: Any) -> PatientRecord:
    fields: dict[str, Any] = {
        "patient_id": "p1", "birth_date": d(birth) if birth else None, "gender": "female",
        "breast_cancer": present("2019-03-01"), "brain_metastases": present("2023-01-01"),
        "leptomeningeal": ABSENT, "extracranial": ABSENT,
        "her2": receptor(her2), "er": receptor(er), "pr": receptor(pr),
        "kps": kps(80),
    }
    fields.update(kw)
    return PatientRecord(**fields)


def rt_order(rid: str, total_cgy: float | None, fractions: int | None, *,
             whole_brain: bool | None = False, lesions: tuple[str, ...] = (),
             volumes: tuple[str, ...] = (),
             reirradiation: bool | None = None) -> DraftRadiotherapyOrder:
    return DraftRadiotherapyOrder(resource_id=f"ServiceRequest/{rid}", total_dose_cgy=total_cgy,
                                  fractions=fractions, whole_brain=whole_brain,
                                  volume_ids=volumes, lesion_ids=lesions,
                                  reirradiation=reirradiation)


def med_order(mid: str, name: str | None, cls: str | None,
              steroid: bool = False) -> DraftMedicationOrder:
    return DraftMedicationOrder(resource_id=f"MedicationRequest/{mid}", drug=name,
                                therapy_class=TherapyClass(cls) if cls else None,
                                is_steroid=steroid)
