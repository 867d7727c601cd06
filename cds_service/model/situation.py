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
from typing import Any

from cds_service.model.anchoring import (
    Anchor,
    first_measured,
    grown_since_anchor,
    targets_unknown,
)
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
    cm_text,
    focal_rt_courses,
    focal_rt_lesions,
    has_prior,
    in_scope,
    on_immunotherapy,
    reference_date,
)
from cds_service.model.patient import (
    DiseaseStatus,
    PatientRecord,
    ProgressionQualifier,
    TreatmentKind,
    Trend,
)
from cds_service.model.rano_bm import PD
from cds_service.model.vocabulary import SITUATION_LABELS


@dataclass
class Progression:
    """What the evidence of §2 establishes (a working value, not part of the output)."""

    evidence: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    lesions: set[str] = field(default_factory=set)
    in_field_lesions: set[str] = field(default_factory=set)
    in_field_volumes: set[str] = field(default_factory=set)
    out_of_field_lesions: set[str] = field(default_factory=set)
    unresolved_local: list[str] = field(default_factory=list)  # local statuses naming no known volume
    distant: bool = False  # a worsened status qualified *distant* (outside the treated volumes)
    pathology_confirmed: bool = False
    leptomeningeal: bool = False
    imaging_stable: bool = False  # established by clinical deterioration alone
    to_confirm: bool = False  # established by new lesion(s) under immunotherapy alone
    notes: list[str] = field(default_factory=list)  # facts that could not be used, and why
    missing: list[str] = field(default_factory=list)

    @property
    def established(self) -> bool:
        return bool(self.evidence)


def _rano_evidence(record: PatientRecord, rano: RanoBm, after: date, found: Progression) -> None:
    if rano.category != PD:
        return
    found.evidence.append("RANO-BM progressive disease: " + "; ".join(
        r for r in rano.reasons if not r.startswith("baseline") and JUDGED_FROM not in r))
    found.dates.append(rano.current_date or after)
    found.lesions.update(rano.new_lesions)
    found.out_of_field_lesions.update(rano.new_lesions)
    found.lesions.update(_progressing_non_targets(rano))
    found.sources.extend(m.source for lesion in record.lesions for m in lesion.measurements
                         if m.date > after)
    found.imaging_stable = not _pd_by_imaging(rano)


JUDGED_FROM = " judged from the local therapy of "  # a cohort line of RANO-BM (not evidence)
NON_TARGET_PD = "unequivocal progression of non-target lesion "


def _pd_by_imaging(rano: RanoBm) -> bool:
    """PD by a measurement (SLD and a grown target, a non-target, a new lesion), not only by
    clinical deterioration."""
    return any(r.startswith(("new lesion", NON_TARGET_PD)) or (
        r.startswith("SLD ") and "a lesion grew" in r) for r in rano.reasons)


def _progressing_non_targets(rano: RanoBm) -> set[str]:
    """Lesions named by a non-target progression reason of RANO-BM."""
    return {r[len(NON_TARGET_PD):].split(":")[0] for r in rano.reasons
            if r.startswith(NON_TARGET_PD)}


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
    focal_volumes = {v: t for t in focal_rt_courses(record) for v in t.volume_ids}
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
        _localise_status(status, focal_volumes, found)


def _localise_status(status: DiseaseStatus, focal_volumes: dict, found: Progression) -> None:
    """A *local* (or unqualified) worsened status on an SRS/FSRT volume is in-field progression;
    a *distant* one names lesions outside; a *local* one whose volume is not a known SRS/FSRT
    volume leaves the position open (CodeX RadiotherapyDiseaseStatus)."""
    if status.qualifier is ProgressionQualifier.DISTANT:
        found.out_of_field_lesions.update(status.lesion_ids)
        found.distant = True
        return
    known = [v for v in status.volume_ids if v in focal_volumes]
    for volume in known:
        found.in_field_volumes.add(volume)
        found.in_field_lesions.update(focal_volumes[volume].lesion_ids)
        found.lesions.update(focal_volumes[volume].lesion_ids)
    if status.qualifier is ProgressionQualifier.LOCAL and not known:
        found.unresolved_local.append(status.source)


def _new_lesion_evidence(record: PatientRecord, rano: RanoBm, found: Progression) -> None:
    """The new lesions RANO-BM found (anchoring.new_lesions, computed once, there)."""
    lesions = {lesion.id: lesion for lesion in record.lesions}
    immunotherapy = on_immunotherapy(record)
    for lid in rano.new_lesions:
        seen = first_measured(lesions[lid])
        assert seen is not None  # a new lesion is a measured one (anchoring.is_new)
        if immunotherapy:
            found.evidence.append(
                f"new brain lesion {lid} first seen {seen.isoformat()} during immune checkpoint "
                "therapy: progression to be confirmed by a repeat MRI (RANO-BM, review Table 2: "
                "new lesions count 'except patients who receive immunotherapy')")
        else:
            found.evidence.append(f"new brain lesion {lid} first seen {seen.isoformat()}")
        found.dates.append(seen)
        found.lesions.add(lid)
        found.out_of_field_lesions.add(lid)
        found.sources.extend(m.source for m in lesions[lid].measurements[:1])


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


def _grown_lesions(record: PatientRecord, config: ModelConfig, found: Progression,
                   by_lesion: dict[str, Anchor] | None) -> None:
    """Once progression is established, add the lesions that grew since the therapy that covered
    them (they count as progressing)."""
    grown = grown_since_anchor(record, config.lesion_progression_min_mm, by_lesion)
    for lid, (nadir, latest) in grown.items():
        found.lesions.add(lid)
        found.imaging_stable = False
        found.notes.append(f"lesion {lid} grew from {cm_text(nadir)} to {cm_text(latest)}")


def _only_new_lesions_under_immunotherapy(record: PatientRecord, rano: RanoBm,
                                          found: Progression) -> bool:
    return bool(rano.to_confirm) and rano.category != PD and len(found.evidence) == len(
        rano.to_confirm)


def progression_evidence(record: PatientRecord, rano: RanoBm,
                         config: ModelConfig = DEFAULT_CONFIG,
                         by_lesion: dict[str, Anchor] | None = None) -> Progression:
    found = Progression()
    after = reference_date(record)
    if after is None:
        found.missing.append("date of the last local therapy")
        found.notes.append("local therapy on record without a date: progression after it "
                           "cannot be established")
        return found
    _rano_evidence(record, rano, after, found)
    _status_evidence(record, after, found)
    _new_lesion_evidence(record, rano, found)
    _leptomeningeal_evidence(record, after, found)
    found.to_confirm = _only_new_lesions_under_immunotherapy(record, rano, found)
    if found.established:
        _grown_lesions(record, config, found, by_lesion)
        found.in_field_lesions |= found.lesions & focal_rt_lesions(record)
        found.imaging_stable &= not (found.in_field_volumes or found.leptomeningeal
                                     or any("disease status" in e for e in found.evidence))
    elif rano.category is None and record.symptoms_after(after):
        found.missing.append("MRI after the last local therapy")
        found.notes.append("neurological symptoms after the last local therapy, but no lesion "
                           "measurement since: RANO-BM not assessable")
    return found


def _situation(code: str, **kw: Any) -> Situation:  # kw: the other Situation fields
    return Situation(code=code, label=SITUATION_LABELS[code], **kw)


@dataclass(frozen=True)
class Position:
    """Where the progressing lesions lie relative to the prior SRS/FSRT volumes (§3, §10)."""

    inside: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()
    unknown: bool = False
    missing_link: str | None = None
    # no progressing lesion identified, but every lesion on record lies in a named SRS/FSRT
    # volume: in-field, without a lesion to target
    every_lesion_in_field: bool = False


def _focal_courses_text(record: PatientRecord) -> str:
    courses = [t for t in focal_rt_courses(record) if targets_unknown(t)]
    return ", ".join(dict.fromkeys(
        f"{t.kind.value.upper()} {t.date.isoformat() if t.date else 'undated'}" for t in courses))


def localise(record: PatientRecord, found: Progression) -> Position:
    """Inside: a progressing lesion the SRS/FSRT course names (or a local status on its volume).
    Outside: a new lesion, a lesion named by a *distant* status, or — when every SRS/FSRT course
    names its targets — a lesion none of them names. Anything else is not established: never
    "outside" by default; the missing link is named (clinical-model §10)."""
    if not focal_rt_courses(record):
        return Position(outside=tuple(sorted(found.lesions)))
    on_record = {lesion.id for lesion in record.lesions}
    if (not found.lesions and not found.in_field_volumes and not found.distant and on_record
            and on_record <= focal_rt_lesions(record) and not _focal_courses_text(record)):
        return Position(every_lesion_in_field=True)
    inside = set(found.in_field_lesions) | (found.lesions & focal_rt_lesions(record))
    outside = set(found.out_of_field_lesions) - inside
    open_ = found.lesions - inside - outside
    courses_unlinked = _focal_courses_text(record)
    if not courses_unlinked:
        outside |= open_
        open_ = set()
    links: list[str] = []
    if open_:
        links.append(f"lesion(s) {', '.join(sorted(open_))} vs {courses_unlinked}: its volume "
                     "shares no identifier with a lesion and no disease status names it")
    if found.unresolved_local and not (inside or found.in_field_volumes):
        links.append("the treated volume named by the local-progression disease status (not on "
                     "record as an SRS/FSRT volume)")
    distant_only = found.distant and not found.unresolved_local
    if not found.lesions and not found.in_field_volumes and not distant_only:
        # (a *distant* status says where the progression is: outside the treated volumes)
        links.append("not established: no progressing lesion identified")
    unknown = bool(links) and not (inside or found.in_field_volumes) or bool(open_)
    return Position(tuple(sorted(inside | open_)), tuple(sorted(outside)), unknown,
                    "; ".join(links) or None)


def _progressive_code(record: PatientRecord, found: Progression, position: Position,
                      config: ModelConfig) -> str:
    if record.leptomeningeal.present:
        return LEPTOMENINGEAL
    prior_wbrt = has_prior(record, TreatmentKind.WBRT)
    if len(found.lesions) > config.limited_lesion_max:
        return DISSEMINATED_AFTER_WBRT if prior_wbrt else DISSEMINATED_AFTER_LOCAL
    if (position.inside or found.in_field_volumes or position.unknown
            or position.every_lesion_in_field):
        return LOCAL_AFTER_SRS_IN_FIELD
    if focal_rt_courses(record):
        return LOCAL_AFTER_SRS_OUT_OF_FIELD
    if prior_wbrt:
        return LOCAL_AFTER_WBRT
    return LOCAL_AFTER_SURGERY


POSITION_UNKNOWN_LABEL = ("Limited progression after SRS/FSRT, position vs the prior volumes not "
                          "established: possibly in-field")
MIXED_LABEL = "In-field progression after SRS/FSRT, and new or untreated lesion(s) outside"
STABLE_IMAGING_LABEL = "Clinical deterioration after SRS/FSRT with stable imaging"


def _label(code: str, position: Position, imaging_stable: bool = False) -> str:
    if code != LOCAL_AFTER_SRS_IN_FIELD:
        return SITUATION_LABELS[code]
    if imaging_stable:
        return STABLE_IMAGING_LABEL
    if position.unknown and not position.outside:
        return POSITION_UNKNOWN_LABEL
    if position.outside:
        return MIXED_LABEL
    return SITUATION_LABELS[code]


def classify(record: PatientRecord, rano: RanoBm, config: ModelConfig = DEFAULT_CONFIG,
             by_lesion: dict[str, Anchor] | None = None) -> tuple[Situation, Progression]:
    """The situation of `record` (already cut to the assessment date) and the evidence behind it;
    `by_lesion`: the lesions' anchors (`anchoring.anchors`), the ones RANO-BM was judged by."""
    found = Progression()
    if not record.breast_cancer.present:
        return _situation(NOT_APPLICABLE, evidence=("no active breast cancer on record",)), found
    if not in_scope(record):
        return _situation(NOT_APPLICABLE, evidence=("no brain metastases on record",)), found
    if not record.treatments:
        return _situation(NOT_SALVAGE, evidence=(
            "no local therapy (surgery, SRS, FSRT, WBRT) of the brain metastases on record",)), found
    found = progression_evidence(record, rano, config, by_lesion)
    after = reference_date(record)
    on_therapy = _on_systemic_therapy(record, found)
    symptomatic = bool(record.symptoms_after(after))
    if not found.established:
        return _situation(NO_PROGRESSION, evidence=tuple(
            ["no progression evidence after the last local therapy"
             + (f" ({after.isoformat()})" if after else "")] + found.notes),
            symptomatic=symptomatic), found
    position = localise(record, found)
    code = _progressive_code(record, found, position, config)
    local = code in (LOCAL_AFTER_SRS_IN_FIELD, LOCAL_AFTER_SRS_OUT_OF_FIELD)
    if not found.lesions and code != LEPTOMENINGEAL and not found.imaging_stable:
        found.missing.append("number and size of the progressing lesions")
        found.notes.append("progression documented, no progressing lesion identified: handled "
                           "as limited; confirm the lesion count")
    if local and position.unknown and position.missing_link:
        found.missing.append("position relative to the prior SRS/FSRT volumes: "
                             + position.missing_link)
        found.notes.append("the position of the progression relative to the prior SRS/FSRT "
                           "volumes is not established: SRS/FSRT are treated as possible "
                           "re-irradiation, with the radionecrosis and pseudoprogression warnings")
    evidence = list(found.evidence) + found.notes
    if found.lesions and code != LEPTOMENINGEAL:
        evidence.append(f"{len(found.lesions)} progressing lesion(s): "
                        f"{', '.join(sorted(found.lesions))}")
    return Situation(
        code=code,
        label=_label(code, position, found.imaging_stable),
        evidence=tuple(evidence),
        sources=tuple(dict.fromkeys(found.sources)),
        progressing_lesions=tuple(sorted(found.lesions)),
        symptomatic=symptomatic,
        on_systemic_therapy=on_therapy,
        in_field_lesions=position.inside if local else (),
        out_of_field_lesions=position.outside if local else (),
        position_unknown=local and position.unknown,
        missing_link=position.missing_link if local and position.unknown else None,
        imaging_stable=found.imaging_stable,
        to_confirm=found.to_confirm,
    ), found


def _on_systemic_therapy(record: PatientRecord, found: Progression) -> bool:
    """Progression occurred during active systemic therapy (started before the first evidence)."""
    if not record.systemic_therapies:
        return False
    first = min(found.dates) if found.dates else None
    return any(t.start is None or first is None or t.start <= first
               for t in record.systemic_therapies)
