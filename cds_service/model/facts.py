"""Small facts the rules share: the record as of a date, the last local therapy, lesion series.

Every function here is pure and total: it never raises on missing data, it answers ``None`` (or an
empty tuple) and lets the calling rule name what is missing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from cds_service.model.patient import (
    FOCAL_RT_KINDS as FOCAL_RT_KINDS,  # re-exported: the rules import it from here
)
from cds_service.model.patient import (
    ConditionFact,
    Lesion,
    LocalTreatment,
    PatientRecord,
    PerformanceScore,
    Presence,
    SteroidTrend,
    SteroidUse,
    TherapyClass,
    TreatmentKind,
)
from cds_service.model.series import (
    MISSING_STEROID_TREND,
    on_or_before,
    receptor_as_of,
    score_as_of,
    steroids_as_of,
    systemic_as_of,
)


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _condition_as_of(fact: ConditionFact, on: date) -> ConditionFact:
    if fact.present and fact.onset is not None and fact.onset > on:
        return replace(fact, presence=Presence.ABSENT)
    return fact


def as_of(record: PatientRecord, on: date) -> PatientRecord:
    """The record as it stood on `on` — the one as-of rule (CM §10a): every input is taken as
    recorded or effective on or before `on`; later entries do not exist for this assessment.
    Conditions with a later onset, later measurements, treatments, statuses, symptoms are left
    out; KPS / ECOG, HER2 / ER / PR, the steroid trend and the systemic therapies are recomputed
    from their dated series as they were on `on` (`series.py`), so an earlier value is used, not
    none. Undated facts are kept (they cannot be placed, so rules that need a date ignore them).
    Deceased status is read against the date by `Deceased.on_or_before` (`data_age.py`)."""
    lesions = []
    for lesion in record.lesions:
        kept = tuple(m for m in lesion.measurements if m.date <= on)
        if not kept and lesion.first_seen is not None and lesion.first_seen > on:
            continue
        lesions.append(lesion if len(kept) == len(lesion.measurements)
                       else replace(lesion, measurements=kept))
    steroids = steroids_as_of(record.steroids, on)
    return replace(
        record,
        breast_cancer=_condition_as_of(record.breast_cancer, on),
        brain_metastases=_condition_as_of(record.brain_metastases, on),
        leptomeningeal=_condition_as_of(record.leptomeningeal, on),
        extracranial=_condition_as_of(record.extracranial, on),
        kps=_score_as_of(record.kps, record.kps_scores, on, higher_is_better=True),
        ecog=_score_as_of(record.ecog, record.ecog_scores, on, higher_is_better=False),
        lesions=tuple(lesions),
        treatments=tuple(_treatment_as_of(t, on) for t in record.treatments
                         if on_or_before(t.start or t.end, on)),
        disease_statuses=tuple(s for s in record.disease_statuses if on_or_before(s.date, on)),
        steroids=steroids,
        systemic_therapies=systemic_as_of(record.systemic_therapies, record.systemic_orders, on),
        symptoms=tuple(s for s in record.symptoms if on_or_before(s.date, on)),
        her2=receptor_as_of(record.her2, on),
        er=receptor_as_of(record.er, on),
        pr=receptor_as_of(record.pr, on),
        missing=_missing_as_of(record.missing, steroids) if record.steroids.orders
        else record.missing,
    )


def _treatment_as_of(treatment: LocalTreatment, on: date) -> LocalTreatment:
    """A course that started on or before `on` and ended after it was running on `on`: its later
    end does not exist yet (it counts from its start, as a course in progress, CM §10)."""
    if treatment.start is not None and treatment.end is not None and treatment.start <= on < \
            treatment.end:
        return replace(treatment, end=None, in_progress=True)
    return treatment


def _score_as_of(latest: PerformanceScore | None, scores: tuple[PerformanceScore, ...],
                 on: date, higher_is_better: bool) -> PerformanceScore | None:
    if not scores:  # hand-made records: only the latest is known
        return latest if latest and on_or_before(latest.when, on) else None
    return score_as_of(scores, on, higher_is_better)


def _missing_as_of(missing: tuple[str, ...], steroids: SteroidUse) -> tuple[str, ...]:
    """The steroid trend is named as missing when it is unknown on the date (and only then)."""
    if steroids.trend is not SteroidTrend.UNKNOWN:
        return tuple(m for m in missing if m != MISSING_STEROID_TREND)
    return missing if MISSING_STEROID_TREND in missing else (*missing, MISSING_STEROID_TREND)


def in_scope(record: PatientRecord) -> bool:
    """Breast cancer with brain metastases (leptomeningeal metastases count as CNS metastases)."""
    return record.breast_cancer.present and (
        record.brain_metastases.present or record.leptomeningeal.present)


def on_immunotherapy(record: PatientRecord) -> bool:
    """An active immune checkpoint inhibitor (review Table 2: new lesions are not PD on their own
    "in patients who receive immunotherapy")."""
    return any(t.therapy_class is TherapyClass.IMMUNOTHERAPY for t in record.systemic_therapies)


def last_local_treatment(record: PatientRecord) -> LocalTreatment | None:
    return record.last_local_treatment


def reference_date(record: PatientRecord) -> date | None:
    """The date of the last (dated) local therapy: "after the last local therapy" means after it."""
    last = record.last_local_treatment
    return last.date if last else None


def treatments_of(record: PatientRecord, *kinds: TreatmentKind) -> tuple[LocalTreatment, ...]:
    return tuple(t for t in record.treatments if t.kind in kinds)


def has_prior(record: PatientRecord, *kinds: TreatmentKind) -> bool:
    return bool(treatments_of(record, *kinds))


def focal_rt_courses(record: PatientRecord) -> tuple[LocalTreatment, ...]:
    """`treatments_of(record, *FOCAL_RT_KINDS)`, computed once per record."""
    return record.focal_rt_courses


def focal_rt_lesions(record: PatientRecord) -> frozenset[str]:
    """Lesions inside a previously irradiated focal volume (SRS, FSRT or other focal RT)."""
    return record.focal_rt_lesions


def focal_rt_volumes(record: PatientRecord) -> frozenset[str]:
    return frozenset(v for t in record.focal_rt_courses for v in t.volume_ids)






def latest_diameter(lesion: Lesion) -> Decimal | None:
    return lesion.latest.diameter if lesion.latest else None


def lesion_by_id(record: PatientRecord) -> dict[str, Lesion]:
    return {lesion.id: lesion for lesion in record.lesions}



def cm_text(value_mm: Decimal) -> str:
    """12 mm -> "1.2 cm", 20 mm -> "2.0 cm", 20.5 mm -> "2.05 cm" (never rounds a boundary away)."""
    value_cm = value_mm / 10
    if value_cm == value_cm.quantize(Decimal("0.1")):
        return f"{value_cm:.1f} cm"
    return f"{value_cm.normalize():f} cm"
