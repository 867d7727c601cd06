"""Updated Breast GPA (Sperduto 2020 [57]; clinical-model §8) with median survival.

Points follow the authors' public calculator (brainmetgpa.com): KPS, subtype, age, number of brain
metastases, extracranial metastases; sums fall in 0.5 steps from 0 to 4.0. A factor that is not on
record is named in ``missing`` and the score is ``None``: nothing is guessed. Documented choices:
- ECOG stands in for KPS when the chosen performance score is ECOG (0 -> 90-100, 1 -> 70-80,
  >= 2 -> <= 60) and the result says so (``ecog_stand_in``);
- KPS between bands (e.g. 65, 85) falls in the band below the next threshold (< 70 -> 0 points);
- subtype with a receptor unknown is computable when every subtype the known receptors allow
  carries the same points (HER2+ with unknown ER/PR: HER2-enriched and luminal B both 1.5);
- HER2-enriched = 1.5 as in the calculator (`ModelConfig.gpa_her2_enriched_points`; the paper's
  worksheet may give 1.0 - unverified, see docs/clinical-model.md);
- brain metastases = distinct brain lesions on record at the assessment date;
- extracranial metastases absent when none is recorded, and the note says "none recorded".
Caveats carried in ``notes`` (docs/clinical-model.md §8):
- the score was derived at the first diagnosis of BCBM (2,473 patients with newly diagnosed brain
  metastases [57]), not at progression after local treatment: ``GPA_DERIVATION_NOTE`` always;
- leptomeningeal disease: the score is kept but the band's median survival is withheld
  (``median_withheld``), since the review calls the prognosis very poor (§4.4) and the GPA was
  not derived for it (``gpa_for_situation``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from cds_service.model.assessment import LEPTOMENINGEAL, Gpa, GpaFactor
from cds_service.model.constants import (
    DEFAULT_CONFIG,
    GPA_AGE_POINTS_YOUNG,
    GPA_AGE_YOUNG_BELOW,
    GPA_BANDS,
    GPA_ECOG_POINTS,
    GPA_ECOG_TO_KPS_BAND,
    GPA_KPS_POINTS,
    GPA_NO_EXTRACRANIAL_POINTS,
    GPA_SINGLE_BRAIN_METASTASIS_POINTS,
    GPA_SUBTYPE_POINTS,
    ModelConfig,
)
from cds_service.model.evidence import cite
from cds_service.model.patient import PatientRecord, Presence
from cds_service.model.performance import KPS, choose_score
from cds_service.model.receptors import possible_subtypes
from cds_service.model.vocabulary import (
    GPA_FACTOR_MISSING,
    GPA_SUBTYPE_NAMES,
    GpaFactorName,
    SubtypeCode,
)

GPA_REFERENCES = cite(57)
GPA_DERIVATION_NOTE = (
    "derived at first diagnosis of BCBM: approximate at progression")
# review §4.4: "In the case of primary leptomeningeal disease, the method of choice is WBRT.
# However, the real benefit of such a treatment is disputable, and the prognosis remains very poor."
GPA_MEDIAN_WITHHELD_LEPTOMENINGEAL = (
    "median survival not given for leptomeningeal disease: the review calls its prognosis very "
    "poor (review §4.4) and the Breast GPA was not derived for it; the score is shown for its "
    "factors only")
MEDIAN_WITHHELD_SITUATIONS: dict[str, str] = {LEPTOMENINGEAL: GPA_MEDIAN_WITHHELD_LEPTOMENINGEAL}


def kps_points(kps: int) -> float:
    for minimum, points in GPA_KPS_POINTS:
        if kps >= minimum:
            return points
    return 0.0


def ecog_points(ecog: int) -> float:
    for maximum, points in GPA_ECOG_POINTS:
        if ecog <= maximum:
            return points
    return 0.0


def band_of(score: float) -> tuple[float, float, float] | None:
    """The (lowest score, highest score, median months) band of `score`: the model's and the
    SMART chart's one band rule."""
    for band in GPA_BANDS:
        low, high, _ = band
        if low <= score <= high:
            return band
    return None


def median_survival(score: float) -> float | None:
    band = band_of(score)
    return None if band is None else band[2]


def _performance_factor(record: PatientRecord) -> tuple[GpaFactor, bool]:
    score = choose_score(record)
    if score is None:
        return GpaFactor(GpaFactorName.KPS, None, None), False
    if score.scale == KPS:
        return GpaFactor(GpaFactorName.KPS, f"KPS {score.value}", kps_points(score.value)), False
    band = GPA_ECOG_TO_KPS_BAND.get(score.value, "<= 60")
    return GpaFactor(GpaFactorName.KPS, f"ECOG {score.value} (stands in for KPS {band})",
                     ecog_points(score.value)), True


def _subtype_factor(record: PatientRecord, config: ModelConfig) -> GpaFactor:
    points = dict(GPA_SUBTYPE_POINTS, **{SubtypeCode.HER2_ENRICHED: config.gpa_her2_enriched_points})
    subtypes = possible_subtypes(record.her2.status, record.er.status, record.pr.status)
    values = {points[s] for s in subtypes}
    if len(values) != 1:
        return GpaFactor(GpaFactorName.SUBTYPE, None, None)
    names = " or ".join(GPA_SUBTYPE_NAMES[s] for s in sorted(subtypes))
    if len(subtypes) > 1:
        names += " (same points either way)"
    return GpaFactor(GpaFactorName.SUBTYPE, names, values.pop())


def _age_factor(record: PatientRecord, on: date) -> GpaFactor:
    age = record.age_on(on)
    if age is None:
        return GpaFactor(GpaFactorName.AGE, None, None)
    return GpaFactor(GpaFactorName.AGE, f"{age} years",
                     GPA_AGE_POINTS_YOUNG if age < GPA_AGE_YOUNG_BELOW else 0.0)


def _brain_factor(record: PatientRecord) -> GpaFactor:
    count = len({lesion.id for lesion in record.lesions})
    if count == 0:
        return GpaFactor(GpaFactorName.BRAIN_METASTASES, None, None)
    return GpaFactor(GpaFactorName.BRAIN_METASTASES,
                     f"{count} lesion{'s' if count > 1 else ''} on record",
                     GPA_SINGLE_BRAIN_METASTASIS_POINTS if count == 1 else 0.0)


def _extracranial_factor(record: PatientRecord) -> GpaFactor:
    presence = record.extracranial.presence
    if presence is Presence.PRESENT:
        return GpaFactor(GpaFactorName.EXTRACRANIAL_METASTASES, "present", 0.0)
    if presence is Presence.ABSENT:
        return GpaFactor(GpaFactorName.EXTRACRANIAL_METASTASES, "absent (none recorded)",
                         GPA_NO_EXTRACRANIAL_POINTS)
    return GpaFactor(GpaFactorName.EXTRACRANIAL_METASTASES, None, None)




def breast_gpa(record: PatientRecord, on: date, config: ModelConfig = DEFAULT_CONFIG) -> Gpa:
    performance, stand_in = _performance_factor(record)
    factors = (performance, _subtype_factor(record, config), _age_factor(record, on),
               _brain_factor(record), _extracranial_factor(record))
    missing = tuple(f"GPA factor missing: {GPA_FACTOR_MISSING[f.name]}"
                    for f in factors if f.points is None)
    notes = [GPA_DERIVATION_NOTE]
    if stand_in:
        notes.append("ECOG stands in for KPS (ECOG 0 -> KPS 90-100, 1 -> 70-80, >= 2 -> <= 60)")
    if record.extracranial.presence is Presence.ABSENT:
        notes.append("extracranial metastases: none recorded (scored as absent)")
    if missing:
        return Gpa(score=None, median_survival_months=None, missing=missing, factors=factors,
                   ecog_stand_in=stand_in, notes=tuple(notes) + ("score not computable",),
                   references=GPA_REFERENCES)
    score = float(sum((Decimal(str(f.points)) for f in factors), Decimal(0)))
    return Gpa(score=score, median_survival_months=median_survival(score), missing=(),
               factors=factors, ecog_stand_in=stand_in, notes=tuple(notes),
               references=GPA_REFERENCES)


def gpa_for_situation(gpa: Gpa, situation_code: str) -> Gpa:
    """`gpa` as shown in this situation: in leptomeningeal disease the median is withheld."""
    reason = MEDIAN_WITHHELD_SITUATIONS.get(situation_code)
    if reason is None:
        return gpa
    return replace(gpa, median_survival_months=None, median_withheld=reason,
                   notes=gpa.notes + (reason,))
