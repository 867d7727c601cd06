"""Typed, immutable input of the salvage model: one patient's facts, mapped from FHIR.

This module is the contract between the FHIR mapping (`cds_service.mapping`, which builds a
`PatientRecord`) and the salvage model (`cds_service.model`, which reads it). It is pure: no Flask,
no HTTP, no FHIR library. Every fact carries the FHIR references it came from (``"Observation/123"``)
so that cards can show their provenance, and nothing is guessed: a fact that was not found is
``None``/``UNKNOWN`` and named in ``PatientRecord.missing``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from cds_service.model.classify import TreatmentKind, classify_radiotherapy
from cds_service.model.constants import MEASUREMENT_QUANTUM_MM


class Presence(StrEnum):
    """Whether a condition is on record. ABSENT means "none recorded", never "proven absent"."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class ReceptorStatus(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    EQUIVOCAL = "equivocal"
    UNKNOWN = "unknown"


class Trend(StrEnum):
    """mCODE cancer disease status values (LOINC 97509-4)."""

    WORSENED = "worsened"
    STABLE = "stable"
    IMPROVED = "improved"
    UNDETERMINED = "undetermined"


class ProgressionQualifier(StrEnum):
    """CodeX codexrt-radiotherapy-disease-progression-qualifier."""

    LOCAL = "local"
    DISTANT = "distant"


class SteroidTrend(StrEnum):
    NONE = "none"  # no corticosteroid on record
    STABLE = "stable"
    DECREASED = "decreased"
    INCREASED = "increased"
    UNKNOWN = "unknown"  # in use, but the trend cannot be told


class TherapyClass(StrEnum):
    HER2_DIRECTED = "her2-directed"
    HORMONAL = "hormonal"
    CDK46 = "cdk4/6"
    CHEMOTHERAPY = "chemotherapy"
    IMMUNOTHERAPY = "immune-checkpoint-inhibitor"  # RANO-BM's new-lesion exception (Table 2)
    OTHER = "other"


@dataclass(frozen=True)
class ConditionFact:
    """A condition the rules need: whether it is on record, since when, and from which resources."""

    presence: Presence
    onset: date | None = None  # onset[x] (start) or recordedDate, whichever is given
    sources: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # "system|code" of the matching codings, for the card detail

    @property
    def present(self) -> bool:
        return self.presence is Presence.PRESENT


@dataclass(frozen=True)
class ReceptorReading:
    """One result of a receptor, with its specimen and date (`Receptor.readings` holds the
    definitive ones, positive / negative; `Receptor.results` every one, equivocal too)."""

    status: ReceptorStatus
    date: date | None  # the day, when the result names one
    specimen: str  # the specimen's display, the body site, else the Observation reference
    source: str = ""  # "Observation/x"
    # first day a partial effective date can mean (ordering, as-of); `dt.date`, as the field `date`
    # hides the type in the class body
    start: dt.date | None = None

    @property
    def when(self) -> dt.date | None:
        return self.start or self.date


@dataclass(frozen=True)
class Receptor:
    """Latest valid HER2/ER/PR result, and every definitive result on record (oldest first)."""

    status: ReceptorStatus
    date: date | None = None
    sources: tuple[str, ...] = ()
    readings: tuple[ReceptorReading, ...] = ()  # for receptor discordance (beyond the review)
    # every result of the marker, oldest first: `series.receptor_as_of` recomputes the status
    results: tuple[ReceptorReading, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class PerformanceScore:
    """One Karnofsky (0-100) or ECOG (0-5) score."""

    value: int
    date: date | None
    source: str
    start: dt.date | None = None  # as ReceptorReading.start

    @property
    def when(self) -> dt.date | None:
        return self.start or self.date


def mm(value: float | int | Decimal) -> Decimal:
    """A diameter as an exact decimal, rounded to 0.01 mm, so that 1.1 cm is exactly 11 mm and a
    20 % boundary is not lost to binary floating point."""
    return Decimal(repr(float(value))).quantize(MEASUREMENT_QUANTUM_MM)


@dataclass(frozen=True)
class Measurement:
    """One longest-diameter measurement of one lesion, always in millimetres."""

    date: date
    longest_diameter_mm: float
    source: str
    # the diameter as `mm` reads it, once per measurement: several rules compare the same series
    # (RANO-BM, the growth since each anchor, the SRS dose by diameter)
    diameter: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "diameter", mm(self.longest_diameter_mm))  # (frozen)


@dataclass(frozen=True)
class Lesion:
    """One brain lesion tracked across scans by its mCODE Tumor identifier."""

    id: str  # Tumor identifier value (or the BodyStructure id when it has no identifier)
    measurements: tuple[Measurement, ...]  # date order, oldest first
    first_seen: date | None
    body_structure_ids: tuple[str, ...] = ()  # "BodyStructure/x" references that name this lesion
    identifiers: tuple[str, ...] = ()  # every identifier value of the Tumor(s)

    @property
    def latest(self) -> Measurement | None:
        return self.measurements[-1] if self.measurements else None


FOCAL_RT_KINDS = (TreatmentKind.SRS, TreatmentKind.FSRT, TreatmentKind.OTHER_RT)


@dataclass(frozen=True)
class LocalTreatment:
    """One completed (or running) local therapy of the brain: surgery or a radiotherapy course."""

    kind: TreatmentKind
    start: date | None
    end: date | None
    source: str
    total_dose_cgy: float | None = None
    fractions: int | None = None  # delivered so far
    planned_fractions: int | None = None  # from the course's plan/prescription, when on record
    in_progress: bool = False  # status in-progress: classified by planned_fractions (CM §10)
    lesion_ids: tuple[str, ...] = ()  # lesions (Lesion.id) the treated volume covers
    volume_ids: tuple[str, ...] = ()  # "BodyStructure/x" treated volumes
    reirradiation: bool | None = None

    @property
    def date(self) -> date | None:
        """The day the treatment ended (or started, when no end is known)."""
        return self.end or self.start

    @property
    def is_radiotherapy(self) -> bool:
        return self.kind is not TreatmentKind.SURGERY


@dataclass(frozen=True)
class DiseaseStatus:
    """A documented cancer disease status (mCODE / CodeX)."""

    date: date | None
    trend: Trend
    source: str
    qualifier: ProgressionQualifier | None = None
    focus: tuple[str, ...] = ()  # references as written ("Condition/x", "BodyStructure/y")
    lesion_ids: tuple[str, ...] = ()  # lesions the focus resolves to
    volume_ids: tuple[str, ...] = ()  # treated volumes the focus resolves to
    pathology_confirmed: bool = False


@dataclass(frozen=True)
class SteroidOrder:
    """One systemic corticosteroid order (MedicationRequest / MedicationStatement), its dose in
    dexamethasone-equivalent mg per day (per="day") or per dose (per="dose"), None if unreadable."""

    when: date | None  # authoredOn / effective start (first day a partial date can mean)
    active: bool  # status today (active, with a prescription intent)
    dex_mg: float | None
    per: str | None
    source: str
    end: date | None = None  # end of effectivePeriod / boundsPeriod / validityPeriod, if given


@dataclass(frozen=True)
class SteroidUse:
    trend: SteroidTrend
    active: bool
    sources: tuple[str, ...] = ()
    # every systemic steroid order, oldest first: `series.steroids_as_of` recomputes the trend
    orders: tuple[SteroidOrder, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class SystemicTherapy:
    """An active anti-cancer drug (MedicationRequest / MedicationStatement)."""

    drug: str  # normalised generic name, e.g. "trastuzumab"
    therapy_class: TherapyClass
    source: str
    rxnorm: str | None = None
    start: date | None = None


@dataclass(frozen=True)
class Symptom:
    """A neurological symptom condition (seizure, hemiparesis, oedema, raised ICP)."""

    code: str
    display: str
    date: date | None
    source: str


@dataclass(frozen=True)
class SkippedResource:
    """A resource the mapping could not use, and why (never silently dropped)."""

    reference: str
    reason: str


@dataclass(frozen=True)
class Deceased:
    """Patient.deceased[x] on record: true, or the date of death (CM §10)."""

    source: str  # "Patient/x"
    since: date | None = None  # first day the (possibly partial) date can mean; None = boolean
    raw: str | None = None  # the deceasedDateTime as written

    def on_or_before(self, day: date) -> bool:
        """Deceased as of `day`: a boolean true always; a date only when it is not after `day`
        (a later date means the patient was alive on `day`)."""
        return self.since is None or self.since <= day

    def text(self) -> str:
        return f"patient deceased ({self.raw})" if self.raw else "patient deceased"


@dataclass(frozen=True)
class PatientRecord:
    """Everything the salvage model reads about one patient."""

    patient_id: str | None
    birth_date: date | None
    gender: str | None
    breast_cancer: ConditionFact
    brain_metastases: ConditionFact
    leptomeningeal: ConditionFact
    extracranial: ConditionFact
    her2: Receptor
    er: Receptor
    pr: Receptor
    kps: PerformanceScore | None = None  # latest on record (facts.as_of: latest on the date)
    ecog: PerformanceScore | None = None
    lesions: tuple[Lesion, ...] = ()
    treatments: tuple[LocalTreatment, ...] = ()  # date order, oldest first
    disease_statuses: tuple[DiseaseStatus, ...] = ()  # date order, oldest first
    steroids: SteroidUse = field(default_factory=lambda: SteroidUse(SteroidTrend.NONE, False))
    systemic_therapies: tuple[SystemicTherapy, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    missing: tuple[str, ...] = ()
    skipped: tuple[SkippedResource, ...] = ()
    deceased: Deceased | None = None  # None: not recorded as deceased
    # Dated series behind the "latest on record" fields above (CM §10a, `model/series.py`):
    # every KPS / ECOG score and every active systemic-therapy order. Empty in hand-made records,
    # where `facts.as_of` then filters the latest values instead.
    kps_scores: tuple[PerformanceScore, ...] = ()
    ecog_scores: tuple[PerformanceScore, ...] = ()
    systemic_orders: tuple[SystemicTherapy, ...] = ()

    def age_on(self, day: date) -> int | None:
        """Age in whole years on `day`; None when the birth date is unknown."""
        if self.birth_date is None:
            return None
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @cached_property  # many rules ask, once per record: SRS/FSRT courses decide re-irradiation
    def focal_rt_courses(self) -> tuple[LocalTreatment, ...]:
        """The focal radiotherapy courses (SRS, FSRT, other focal RT), in record order."""
        return tuple(t for t in self.treatments if t.kind in FOCAL_RT_KINDS)

    @cached_property
    def focal_rt_lesions(self) -> frozenset[str]:
        """Lesions inside a previously irradiated focal volume (SRS, FSRT or other focal RT)."""
        return frozenset(lid for t in self.focal_rt_courses for lid in t.lesion_ids)

    @cached_property  # several rules ask; a record is never changed (`as_of` makes a new one)
    def last_local_treatment(self) -> LocalTreatment | None:
        latest = max(((t.date, t) for t in self.treatments if t.date is not None),
                     key=lambda dated: dated[0], default=None)
        return latest[1] if latest else None

    def symptoms_after(self, day: date | None) -> tuple[Symptom, ...]:
        """Neurological symptoms recorded after `day` (all of them when `day` is None)."""
        if day is None:
            return self.symptoms
        return tuple(s for s in self.symptoms if s.date is None or s.date > day)


@dataclass(frozen=True)
class DraftRadiotherapyOrder:
    """A CodeX radiotherapy course prescription from a hook's draftOrders."""

    resource_id: str  # "ServiceRequest/x"
    total_dose_cgy: float | None
    fractions: int | None
    whole_brain: bool | None  # from the prescribed volume's locationQualifier; None if unknown
    volume_ids: tuple[str, ...] = ()
    lesion_ids: tuple[str, ...] = ()
    reirradiation: bool | None = None

    @property
    def kind(self) -> TreatmentKind | None:
        return classify_radiotherapy(self.whole_brain, self.fractions)


@dataclass(frozen=True)
class DraftMedicationOrder:
    resource_id: str  # "MedicationRequest/x"
    drug: str | None
    therapy_class: TherapyClass | None
    is_steroid: bool = False


@dataclass(frozen=True)
class DraftOrders:
    radiotherapy: tuple[DraftRadiotherapyOrder, ...] = ()
    medications: tuple[DraftMedicationOrder, ...] = ()
    skipped: tuple[SkippedResource, ...] = ()
