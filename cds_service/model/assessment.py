"""Typed output of the salvage model: the assessment of one patient on one date.

Contract between the model (`cds_service.model.assess`), the assessment API, the cards and the
SMART app. `Assessment.to_json()` produces exactly the JSON of `POST /api/assessment` described in
`docs/api.md` (public names: add fields freely, never rename or remove).
Pure: no Flask, no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cds_service.model.patient import SkippedResource
from cds_service.model.vocabulary import (
    PERFORMANCE_VERDICTS,
    PROGRESSIVE_SITUATIONS,
    Severity,
    SituationCode,
)

# The situation codes under their historical names (the codes and labels live in vocabulary.py).
LEPTOMENINGEAL = SituationCode.LEPTOMENINGEAL
DISSEMINATED_AFTER_WBRT = SituationCode.DISSEMINATED_AFTER_WBRT
DISSEMINATED_AFTER_LOCAL = SituationCode.DISSEMINATED_AFTER_LOCAL
LOCAL_AFTER_SRS_IN_FIELD = SituationCode.LOCAL_AFTER_SRS_IN_FIELD
LOCAL_AFTER_SRS_OUT_OF_FIELD = SituationCode.LOCAL_AFTER_SRS_OUT_OF_FIELD
LOCAL_AFTER_WBRT = SituationCode.LOCAL_AFTER_WBRT
LOCAL_AFTER_SURGERY = SituationCode.LOCAL_AFTER_SURGERY
NO_PROGRESSION = SituationCode.NO_PROGRESSION
NOT_SALVAGE = SituationCode.NOT_SALVAGE
NOT_APPLICABLE = SituationCode.NOT_APPLICABLE


def assessment_date_at(instant: datetime) -> date:
    """The default assessment date of a call made at `instant`: its calendar day in UTC, the one
    definition for the hooks, `POST /api/assessment` and the SMART app (docs/api.md). The model
    reads no clock: the caller passes the instant (an aware datetime; a naive one is refused, it
    would silently mean the server's local day)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("the instant of a call must carry its time zone")
    return instant.astimezone(UTC).date()


@dataclass(frozen=True)
class Situation:
    code: str
    label: str  # human wording, e.g. "Progressive BCBM after SRS (in-field)"
    evidence: tuple[str, ...] = ()  # sentences naming dates, lesions, values
    sources: tuple[str, ...] = ()  # FHIR references behind the evidence
    progressing_lesions: tuple[str, ...] = ()  # Lesion.id
    symptomatic: bool = False
    on_systemic_therapy: bool = False  # progression occurred during active systemic therapy
    # Position of the progressing lesions relative to prior SRS/FSRT volumes (clinical-model §3,
    # §10): inside, outside (new or untreated), or not established from the data (then treated as
    # possibly inside: SRS/FSRT may re-irradiate, with the warnings).
    in_field_lesions: tuple[str, ...] = ()
    out_of_field_lesions: tuple[str, ...] = ()
    position_unknown: bool = False
    missing_link: str | None = None  # what would establish the position, when it is unknown
    imaging_stable: bool = False  # progression rests on clinical deterioration alone
    to_confirm: bool = False  # new lesion(s) under immunotherapy only: confirm with a repeat MRI

    @property
    def is_progressive(self) -> bool:
        return self.code in PROGRESSIVE_SITUATIONS


@dataclass(frozen=True)
class PerformanceStatus:
    kps: int | None
    ecog: int | None
    good: bool | None  # None when neither score is known
    basis: str | None = None  # the score that decided `good` (the more recent), e.g. "ECOG 3"

    def scores_text(self) -> str | None:
        """The scores on record for people, e.g. "KPS 80, ECOG 1"; None when there is none."""
        scores = [f"{name} {value}" for name, value in (("KPS", self.kps), ("ECOG", self.ecog))
                  if value is not None]
        return ", ".join(scores) or None

    def summary(self) -> str | None:
        """The scores with their verdict, e.g. "KPS 80, ECOG 1 (good)"; None when there is none."""
        scores = self.scores_text()
        return None if scores is None else f"{scores} ({PERFORMANCE_VERDICTS[self.good]})"

    def to_json(self) -> dict[str, Any]:
        return {"kps": self.kps, "ecog": self.ecog, "good": self.good, "basis": self.basis}


@dataclass(frozen=True)
class Subtype:
    code: str  # her2 | luminal-a | luminal-b | triple-negative | unknown
    her2: str
    er: str
    pr: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "her2": self.her2, "er": self.er, "pr": self.pr}


@dataclass(frozen=True)
class GpaFactor:
    name: str  # "kps" | "subtype" | "age" | "brain_metastases" | "extracranial_metastases"
    value: str | None  # what was used, in words ("KPS 80", "2 lesions"); None when missing
    points: float | None


@dataclass(frozen=True)
class Gpa:
    score: float | None
    median_survival_months: float | None
    missing: tuple[str, ...] = ()
    factors: tuple[GpaFactor, ...] = ()
    ecog_stand_in: bool = False  # KPS band taken from ECOG
    notes: tuple[str, ...] = ()  # e.g. "extracranial metastases: none recorded"
    references: tuple[int, ...] = ()
    # why the band's median survival is not given as this patient's prognosis (leptomeningeal
    # disease); None when it is given
    median_withheld: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "median_survival_months": self.median_survival_months,
            "median_withheld": self.median_withheld,
            "missing": list(self.missing),
            "factors": [
                {"name": f.name, "value": f.value, "points": f.points} for f in self.factors
            ],
            "ecog_stand_in": self.ecog_stand_in,
            "notes": list(self.notes),
            "references": list(self.references),
        }


@dataclass(frozen=True)
class LesionResponse:
    lesion: str
    baseline_mm: float | None
    nadir_mm: float | None
    current_mm: float | None
    target: bool
    measurable: bool
    anchor_date: date | None = None  # the local therapy this lesion is judged from
    baseline_date: date | None = None  # its first measurement after that therapy


@dataclass(frozen=True)
class RanoBm:
    category: str | None  # CR | PR | SD | PD, None when not assessable
    baseline_sld_mm: float | None = None
    nadir_sld_mm: float | None = None
    current_sld_mm: float | None = None
    reasons: tuple[str, ...] = ()
    baseline_date: date | None = None
    current_date: date | None = None
    lesions: tuple[LesionResponse, ...] = ()
    new_lesions: tuple[str, ...] = ()
    # new lesions under immune checkpoint therapy: not PD on their own, to be confirmed (Table 2)
    to_confirm: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "baseline_sld_mm": self.baseline_sld_mm,
            "nadir_sld_mm": self.nadir_sld_mm,
            "current_sld_mm": self.current_sld_mm,
            "reasons": list(self.reasons),
            "baseline_date": self.baseline_date.isoformat() if self.baseline_date else None,
            "current_date": self.current_date.isoformat() if self.current_date else None,
            "lesions": [
                {
                    "lesion": item.lesion,
                    "baseline_mm": item.baseline_mm,
                    "nadir_mm": item.nadir_mm,
                    "current_mm": item.current_mm,
                    "target": item.target,
                    "measurable": item.measurable,
                    "anchor_date": item.anchor_date.isoformat() if item.anchor_date else None,
                    "baseline_date": item.baseline_date.isoformat() if item.baseline_date else None,
                }
                for item in self.lesions
            ],
            "new_lesions": list(self.new_lesions),
            "new_lesions_to_confirm": list(self.to_confirm),
        }


@dataclass(frozen=True)
class Regimen:
    total_dose_gy: float
    fractions: int
    lesion: str | None = None  # Lesion.id when the dose follows that lesion's diameter
    note: str | None = None  # e.g. "max diameter 2.5 cm"

    @property
    def dose_per_fraction_gy(self) -> float:
        return self.total_dose_gy / self.fractions

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "total_dose_gy": self.total_dose_gy,
            "fractions": self.fractions,
            "lesion": self.lesion,
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Option:
    code: str  # salvage-option code: surgery | srs | fsrt | wbrt | re-wbrt | systemic-therapy | ...
    rank: int  # 1 = first choice
    title: str
    rationale: str
    references: tuple[int, ...]
    selected_patients_only: bool = False
    regimens: tuple[Regimen, ...] = ()
    reirradiation: bool = False  # the option irradiates a previously irradiated volume
    lesions: tuple[str, ...] = ()  # lesions the option targets
    note: str | None = None  # one sentence the point-of-care card says with the option

    def to_json(self) -> dict[str, Any]:
        return {
            "note": self.note,
            "code": self.code,
            "rank": self.rank,
            "title": self.title,
            "selected_patients_only": self.selected_patients_only,
            "regimens": [r.to_json() for r in self.regimens],
            "rationale": self.rationale,
            "references": list(self.references),
            "reirradiation": self.reirradiation,
            "lesions": list(self.lesions),
        }


@dataclass(frozen=True)
class SystemicRegimen:
    code: str  # systemic-regimen code (clinical-model §5b)
    title: str
    references: tuple[int, ...]
    investigational: bool = False
    note: str | None = None  # e.g. "switch the systemic line: progression on current therapy"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "title": self.title,
            "references": list(self.references),
            "investigational": self.investigational,
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Warning:
    code: str  # salvage-warning code
    message: str
    references: tuple[int, ...] = ()
    severity: str = Severity.WARNING  # info | warning | critical (maps to the card indicator)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "references": list(self.references),
            "severity": self.severity,
        }


@dataclass(frozen=True)
class FirstStep:
    """A step that comes before the choice among the options (e.g. a work-up for radionecrosis
    when the imaging is stable, or a repeat MRI to confirm progression)."""

    code: str  # radionecrosis-work-up | confirm-progression-mri
    text: str
    references: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "references": list(self.references)}


@dataclass(frozen=True)
class ImagingAge:
    """How old the latest brain imaging is on the assessment date (CM §10): one home for the
    cards and the SMART app."""

    latest_date: date
    age_days: int
    limit_days: int  # ModelConfig.outdated_imaging_days

    @property
    def outdated(self) -> bool:
        return self.age_days > self.limit_days

    def to_json(self) -> dict[str, Any]:
        return {"latest_date": self.latest_date.isoformat(), "age_days": self.age_days,
                "limit_days": self.limit_days, "outdated": self.outdated}


@dataclass(frozen=True)
class BeyondReview:
    """A guideline point beyond the review, with its source (model/beyond_review.py)."""

    topic: str  # ha-wbrt-memantine | litt | radionecrosis-management | receptor-discordance
    text: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text, "source": self.source}


@dataclass(frozen=True)
class Assessment:
    assessment_date: date
    situation: Situation
    performance_status: PerformanceStatus
    subtype: Subtype
    gpa: Gpa
    rano_bm: RanoBm
    options: tuple[Option, ...] = ()
    systemic_regimens: tuple[SystemicRegimen, ...] = ()
    warnings: tuple[Warning, ...] = ()
    missing_data: tuple[str, ...] = ()
    references: tuple[int, ...] = field(default=())  # every reference cited anywhere above
    first_steps: tuple[FirstStep, ...] = ()  # what to do before choosing among the options
    imaging: ImagingAge | None = None  # None: no brain imaging on record (named as missing)
    skipped: tuple[SkippedResource, ...] = ()  # resources not used, and why
    # guideline points beyond the review, each with its source (model/beyond_review.py)
    beyond_review: tuple[BeyondReview, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "assessment_date": self.assessment_date.isoformat(),
            "situation": {
                "code": self.situation.code,
                "label": self.situation.label,
                "evidence": list(self.situation.evidence),
                "progressing_lesions": list(self.situation.progressing_lesions),
                "symptomatic": self.situation.symptomatic,
                "in_field_lesions": list(self.situation.in_field_lesions),
                "out_of_field_lesions": list(self.situation.out_of_field_lesions),
                "position_unknown": self.situation.position_unknown,
                "missing_link": self.situation.missing_link,
                "imaging_stable": self.situation.imaging_stable,
                "to_confirm": self.situation.to_confirm,
            },
            "first_steps": [f.to_json() for f in self.first_steps],
            "performance_status": self.performance_status.to_json(),
            "subtype": self.subtype.to_json(),
            "gpa": self.gpa.to_json(),
            "rano_bm": self.rano_bm.to_json(),
            "options": [o.to_json() for o in self.options],
            "systemic_regimens": [r.to_json() for r in self.systemic_regimens],
            "warnings": [w.to_json() for w in self.warnings],
            "missing_data": list(self.missing_data),
            "references": list(self.references),
            "imaging": self.imaging.to_json() if self.imaging else None,
            "skipped": [{"resource": s.reference, "reason": s.reason} for s in self.skipped],
            "beyond_review": [b.to_json() for b in self.beyond_review],
        }


@dataclass(frozen=True)
class OrderCorrection:
    """How a draft order should change. Values are what the corrected order must carry."""

    action: str  # "update" | "delete"
    total_dose_cgy: float | None = None
    fractions: int | None = None
    reirradiation: bool | None = None
    description: str = ""
    option_code: str | None = None  # salvage-option the corrected order is (srs, fsrt, re-wbrt)


@dataclass(frozen=True)
class OrderFinding:
    """One problem found in one draft order (clinical-model §9)."""

    code: str  # salvage-warning code, or salvage-option code for an info ("srs" preferred...)
    message: str
    resource_id: str  # "ServiceRequest/x" | "MedicationRequest/y"
    severity: str = Severity.WARNING  # info | warning | critical
    references: tuple[int, ...] = ()
    corrections: tuple[OrderCorrection, ...] = ()  # one suggestion each; empty = advice only
