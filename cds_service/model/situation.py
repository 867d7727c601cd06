"""Situation classifier (clinical-model §1-§3): one situation per assessment, first match wins.

Progression evidence (§2, any one suffices, each listed): RANO-BM PD; a documented *worsened*
disease status dated after the last local therapy; a new brain lesion first seen after it;
leptomeningeal disease diagnosed after it. Progressing lesions are the new lesions, the lesions a
worsened status names, and the lesions grown >= 5 mm over their own nadir after the last local
therapy (`ModelConfig.lesion_progression_min_mm`). More than `limited_lesion_max` progressing lesions
is disseminated progression; a progressing lesion inside a previously SRS/FSRT-irradiated volume (or a
worsened status with the *local* qualifier on such a volume) is in-field progression.

Each rule is a small function from facts to a finding, in the order of §3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cds_service.model.assessment import (
    DISSEMINATED_AFTER_LOCAL,
    DISSEMINATED_AFTER_WBRT,
    LEPTOMENINGEAL,
    LOCAL_AFTER_SRS_IN_FIELD,
    LOCAL_AFTER_SRS_OUT_OF_FIELD,
    LOCAL_AFTER_SURGERY,
    LOCAL_AFTER_WBRT,
    NO_PROGRESSION,
    NOT_APPLICABLE,
    NOT_SALVAGE,
    RanoBm,
    Situation,
)
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.facts import (
    FOCAL_RT_KINDS,
    cm_text,
    first_seen,
    focal_rt_lesions,
    grown_lesions,
    has_prior,
    in_scope,
    is_new_lesion,
    reference_date,
    treatments_of,
)
from cds_service.model.patient import (
    DiseaseStatus,
    PatientRecord,
    ProgressionQualifier,
    TreatmentKind,
    Trend,
)
from cds_service.model.rano_bm import PD

LABELS = {
    LEPTOMENINGEAL: "Leptomeningeal disease after local therapy of BCBM",
    DISSEMINATED_AFTER_WBRT: "Disseminated intracranial progression after WBRT",
    DISSEMINATED_AFTER_LOCAL: "Disseminated intracranial progression after surgery/SRS/FSRT",
    LOCAL_AFTER_SRS_IN_FIELD: "Local progression within a previously SRS/FSRT-irradiated volume",
    LOCAL_AFTER_SRS_OUT_OF_FIELD: "Limited progression outside the prior SRS/FSRT volumes",
    LOCAL_AFTER_WBRT: "Limited progression after WBRT",
    LOCAL_AFTER_SURGERY: "Limited progression after surgery without radiotherapy",
    NO_PROGRESSION: "BCBM treated locally, no progression on record",
    NOT_SALVAGE: "BCBM never treated locally: not a salvage situation",
    NOT_APPLICABLE: "Not breast cancer with brain metastases",
}


@dataclass
class Progression:
    """What the evidence of §2 establishes (a working value, not part of the output)."""

    evidence: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    lesions: set[str] = field(default_factory=set)
    in_field_lesions: set[str] = field(default_factory=set)
    in_field_volumes: set[str] = field(default_factory=set)
    pathology_confirmed: bool = False
    leptomeningeal: bool = False
    notes: list[str] = field(default_factory=list)  # facts that could not be used, and why
    missing: list[str] = field(default_factory=list)

    @property
    def established(self) -> bool:
        return bool(self.evidence)


def _rano_evidence(record: PatientRecord, rano: RanoBm, after: date, found: Progression) -> None:
    if rano.category != PD:
        return
    found.evidence.append("RANO-BM progressive disease: " + "; ".join(
        r for r in rano.reasons if not r.startswith("baseline")))
    found.dates.append(rano.current_date or after)
    found.lesions.update(rano.new_lesions)
    found.sources.extend(m.source for lesion in record.lesions for m in lesion.measurements
                         if m.date > after)


def _about_the_brain(record: PatientRecord, status: DiseaseStatus) -> bool:
    """A status is evidence of intracranial progression only when its focus is in the brain: a
    brain lesion, a treated brain volume, or the brain/leptomeningeal metastasis Condition. In
    mCODE a status about the primary (or without focus) usually reports whole-body disease."""
    if status.lesion_ids:
        return True
    brain_volumes = {v for t in record.treatments for v in t.volume_ids}
    if brain_volumes & set(status.volume_ids):
        return True
    cns_conditions = set(record.brain_metastases.sources) | set(record.leptomeningeal.sources)
    return bool(cns_conditions & set(status.focus))


def _status_evidence(record: PatientRecord, after: date, found: Progression) -> None:
    focal_volumes = {v: t for t in treatments_of(record, *FOCAL_RT_KINDS) for v in t.volume_ids}
    for status in record.disease_statuses:
        if status.trend is not Trend.WORSENED:
            continue
        if status.date is None:
            found.notes.append(f"worsened disease status {status.source} has no date: not used")
            continue
        if status.date <= after:
            continue
        if not _about_the_brain(record, status):
            found.notes.append(f"worsened disease status {status.source} is not about the brain "
                               "(its focus is not a brain lesion, volume or metastasis): not used")
            continue
        found.evidence.append(f"disease status 'worsened' on {status.date.isoformat()} "
                              f"({status.source})")
        found.sources.append(status.source)
        found.dates.append(status.date)
        found.lesions.update(status.lesion_ids)
        found.pathology_confirmed |= status.pathology_confirmed
        if status.qualifier is not ProgressionQualifier.DISTANT:
            for volume in status.volume_ids:
                if volume in focal_volumes:
                    found.in_field_volumes.add(volume)
                    found.in_field_lesions.update(focal_volumes[volume].lesion_ids)
                    found.lesions.update(focal_volumes[volume].lesion_ids)


def _new_lesion_evidence(record: PatientRecord, after: date, found: Progression) -> None:
    for lesion in record.lesions:
        if is_new_lesion(record, lesion, after):
            seen = first_seen(lesion)
            found.evidence.append(f"new brain lesion {lesion.id} first seen {seen.isoformat()}")
            found.dates.append(seen)
            found.lesions.add(lesion.id)
            found.sources.extend(m.source for m in lesion.measurements[:1])


def _leptomeningeal_evidence(record: PatientRecord, after: date, found: Progression) -> None:
    lmd = record.leptomeningeal
    if not lmd.present:
        return
    if lmd.onset is None:
        found.missing.append("date of the leptomeningeal disease diagnosis")
        found.notes.append("leptomeningeal disease on record without a date: cannot tell whether "
                           "it followed the last local therapy")
        return
    if lmd.onset > after:
        found.evidence.append(f"leptomeningeal disease diagnosed {lmd.onset.isoformat()}")
        found.sources.extend(lmd.sources)
        found.dates.append(lmd.onset)
        found.leptomeningeal = True


def _grown_lesions(record: PatientRecord, after: date, config: ModelConfig,
                   found: Progression) -> None:
    """Once progression is established, add the lesions that grew (they count as progressing)."""
    for lid, (nadir, latest) in grown_lesions(record, after,
                                              config.lesion_progression_min_mm).items():
        found.lesions.add(lid)
        found.notes.append(f"lesion {lid} grew from {cm_text(nadir)} to {cm_text(latest)}")


def progression_evidence(record: PatientRecord, rano: RanoBm,
                         config: ModelConfig = DEFAULT_CONFIG) -> Progression:
    found = Progression()
    after = reference_date(record)
    if after is None:
        found.missing.append("date of the last local therapy")
        found.notes.append("local therapy on record without a date: progression after it "
                           "cannot be established")
        return found
    _rano_evidence(record, rano, after, found)
    _status_evidence(record, after, found)
    _new_lesion_evidence(record, after, found)
    _leptomeningeal_evidence(record, after, found)
    if found.established:
        _grown_lesions(record, after, config, found)
        found.in_field_lesions |= found.lesions & focal_rt_lesions(record)
    elif rano.category is None and record.symptoms_after(after):
        found.missing.append("MRI after the last local therapy")
        found.notes.append("neurological symptoms after the last local therapy, but no lesion "
                           "measurement since: RANO-BM not assessable")
    return found


def _situation(code: str, **kw) -> Situation:  # noqa: ANN003 - Situation fields
    return Situation(code=code, label=LABELS[code], **kw)


def _progressive_code(record: PatientRecord, found: Progression, config: ModelConfig) -> str:
    if record.leptomeningeal.present:
        return LEPTOMENINGEAL
    prior_wbrt = has_prior(record, TreatmentKind.WBRT)
    if len(found.lesions) > config.limited_lesion_max:
        return DISSEMINATED_AFTER_WBRT if prior_wbrt else DISSEMINATED_AFTER_LOCAL
    if found.in_field_lesions or found.in_field_volumes:
        return LOCAL_AFTER_SRS_IN_FIELD
    if has_prior(record, *FOCAL_RT_KINDS):
        on_record = {lesion.id for lesion in record.lesions}
        if not found.lesions and on_record and on_record <= focal_rt_lesions(record):
            # No progressing lesion identified, and every lesion on record lies in a focal RT
            # volume: "out of field" would be unfounded, and would hide the radionecrosis and
            # pseudoprogression warnings that apply in field.
            return LOCAL_AFTER_SRS_IN_FIELD
        return LOCAL_AFTER_SRS_OUT_OF_FIELD
    if prior_wbrt:
        return LOCAL_AFTER_WBRT
    return LOCAL_AFTER_SURGERY


def classify(record: PatientRecord, rano: RanoBm, config: ModelConfig = DEFAULT_CONFIG
             ) -> tuple[Situation, Progression]:
    """The situation of `record` (already cut to the assessment date) and the evidence behind it."""
    found = Progression()
    if not record.breast_cancer.present:
        return _situation(NOT_APPLICABLE, evidence=("no active breast cancer on record",)), found
    if not in_scope(record):
        return _situation(NOT_APPLICABLE, evidence=("no brain metastases on record",)), found
    if not record.treatments:
        return _situation(NOT_SALVAGE, evidence=(
            "no local therapy (surgery, SRS, FSRT, WBRT) of the brain metastases on record",)), found
    found = progression_evidence(record, rano, config)
    after = reference_date(record)
    on_therapy = _on_systemic_therapy(record, found)
    symptomatic = bool(record.symptoms_after(after))
    if not found.established:
        return _situation(NO_PROGRESSION, evidence=tuple(
            ["no progression evidence after the last local therapy"
             + (f" ({after.isoformat()})" if after else "")] + found.notes),
            symptomatic=symptomatic), found
    code = _progressive_code(record, found, config)
    if not found.lesions and code != LEPTOMENINGEAL:
        found.missing.append("number and size of the progressing lesions")
        found.notes.append("progression is documented but no progressing lesion is identified: "
                           "classified as limited progression; confirm the lesion count")
    evidence = list(found.evidence) + found.notes
    if found.lesions and code != LEPTOMENINGEAL:
        evidence.append(f"{len(found.lesions)} progressing lesion(s): "
                        f"{', '.join(sorted(found.lesions))}")
    return _situation(
        code,
        evidence=tuple(evidence),
        sources=tuple(dict.fromkeys(found.sources)),
        progressing_lesions=tuple(sorted(found.lesions)),
        symptomatic=symptomatic,
        on_systemic_therapy=on_therapy,
    ), found


def _on_systemic_therapy(record: PatientRecord, found: Progression) -> bool:
    """Progression occurred during active systemic therapy (started before the first evidence)."""
    if not record.systemic_therapies:
        return False
    first = min(found.dates) if found.dates else None
    return any(t.start is None or first is None or t.start <= first
               for t in record.systemic_therapies)
