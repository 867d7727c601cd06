"""Conditions: primary breast cancer, brain and leptomeningeal metastases, extracranial metastases
and neurological symptoms (fhir-input-profile.md, "Conditions").

A Condition counts when its clinicalStatus is active, recurrence or relapse and its
verificationStatus is not refuted or entered-in-error. A Condition without clinicalStatus counts
unless it has an abatement (mCODE requires the status; a sender that omits it is describing a
current problem-list entry). One exception, for the primary only: a breast cancer recorded as in
remission/inactive still counts when an active metastasis names it as its primary
(condition-related extension), because metastatic disease from it is then on record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from cds_service.mapping import codes
from cds_service.mapping.context import Notes, ResourceIndex
from cds_service.mapping.read import (
    Code,
    Json,
    codings,
    extensions,
    has_profile,
    obj,
    objs,
    parse_date,
    period_bounds,
    ref_key,
    reference_of,
    status_code,
)
from cds_service.model.patient import ConditionFact, Presence, Symptom

BREAST, BRAIN, LMD, EXTRACRANIAL = "breast", "brain", "leptomeningeal", "extracranial"
KINDS: dict[str, codes.CodeSet] = {
    BREAST: codes.BREAST_CANCER,
    BRAIN: codes.BRAIN_METASTASIS,
    LMD: codes.LEPTOMENINGEAL,
    EXTRACRANIAL: codes.EXTRACRANIAL_METASTASIS,
}
SECONDARY_KINDS = (BRAIN, LMD, EXTRACRANIAL)


@dataclass(frozen=True)
class ConditionFacts:
    breast_cancer: ConditionFact
    brain_metastases: ConditionFact
    leptomeningeal: ConditionFact
    extracranial: ConditionFact
    symptoms: tuple[Symptom, ...]
    # "Condition/x" of every brain/leptomeningeal metastasis Condition (whatever its status): a
    # procedure whose reason points there treated the brain
    cns_condition_refs: frozenset[str]


def matching_codes(concept: object, code_set: codes.CodeSet) -> list[Code]:
    return [c for c in codings(concept) if code_set.matches(c.system, c.code)]


def kinds_of(condition: Json, code_codings: Sequence[Code] | None = None) -> dict[str, list[Code]]:
    """What the Condition is (BREAST, BRAIN, LMD, EXTRACRANIAL) with the codes that say so;
    `code_codings`: `codings(condition.code)` when the caller has read them already."""
    if code_codings is None:
        code_codings = list(codings(condition.get("code")))
    found: dict[str, list[Code]] = {}
    for kind, code_set in KINDS.items():
        hits = [c for c in code_codings if code_set.matches(c.system, c.code)]
        if hits:
            found[kind] = hits
    if BREAST not in found:
        general = [c for c in code_codings
                   if c.system == codes.SNOMED and c.code in codes.GENERAL_PRIMARY_CANCER]
        primary = general or has_profile(condition, codes.PRIMARY_CANCER_PROFILE_SUFFIX)
        sites = [c for site in objs(condition.get("bodySite")) for c in codings(site)
                 if c.system == codes.SNOMED and c.code in codes.BREAST_SITES]
        if primary and sites and not found:
            found[BREAST] = general + sites  # a primary cancer coded by its site: the breast
    return found


def void_reason(condition: Json) -> str | None:
    """Why a Condition is void (refuted / entered in error), else None."""
    verification = status_code(condition.get("verificationStatus"))
    if verification in codes.VOID_VERIFICATION_STATUS:
        return f"verificationStatus {verification}"
    return None


def inactive_reason(condition: Json) -> str | None:
    """Why a (non-void) Condition does not count as current, else None."""
    clinical = status_code(condition.get("clinicalStatus"))
    if clinical is None:
        has_abatement = any(k.startswith("abatement") for k in condition)
        return "no clinicalStatus and an abatement date: not current" if has_abatement else None
    if clinical not in codes.ACTIVE_CLINICAL_STATUS:
        return f"clinicalStatus {clinical} (only active, recurrence or relapse count)"
    return None


def onset_day(condition: Json) -> date | None:
    """onset[x] (a Period's start) or, when no onset is given, recordedDate."""
    point = period_bounds(condition, "onset")[0] or parse_date(condition.get("recordedDate"))
    return point.day if point else None


def related_primaries(condition: Json) -> list[str]:
    return [k for k in (ref_key(obj(e.get("valueReference")))
                        for e in extensions(condition, codes.CONDITION_RELATED_URL)) if k]


def _other_primary(index: ResourceIndex, metastasis: Json) -> str | None:
    """The related primary of a metastasis when it is on record and is not a breast cancer."""
    for reference in related_primaries(metastasis):
        primary = index.resolve({"reference": reference})
        if primary is None or primary.get("resourceType") != "Condition":
            continue  # a link we cannot follow says nothing
        if BREAST not in (kinds_of(primary) or {}):
            return reference
    return None


@dataclass
class _Tally:
    """What the Conditions establish so far (a working value of `map_conditions`)."""

    counted: dict[str, list[tuple[Json, list[Code]]]] = field(
        default_factory=lambda: {k: [] for k in KINDS})
    # breast cancers not current, counted only when an active metastasis names them as its primary
    waiting_breast: list[tuple[Json, list[Code], str]] = field(default_factory=list)
    cns_refs: set[str] = field(default_factory=set)
    linked_primaries: set[str] = field(default_factory=set)
    symptoms: list[Symptom] = field(default_factory=list)


def map_conditions(index: ResourceIndex, notes: Notes) -> ConditionFacts:
    conditions = index.of_type("Condition")
    tally = _Tally()
    for condition in conditions:
        _read_condition(index, notes, condition, tally)
    _count_linked_primaries(notes, tally)
    return _condition_facts(tally, no_conditions=not conditions)


def _read_condition(index: ResourceIndex, notes: Notes, condition: Json, tally: _Tally) -> None:
    """One Condition: what it is, whether it counts, and what it adds to `tally`."""
    code_codings = list(codings(condition.get("code")))  # read once: kinds and symptoms
    found = notes.guard(condition, kinds_of, condition, code_codings) or {}
    if BRAIN in found or LMD in found:
        tally.cns_refs.add(reference_of(condition))
    symptom_hits = _symptom_codes(code_codings)
    if not found and not symptom_hits:
        return
    void = void_reason(condition)
    if void:
        notes.skip(condition, void)
        return
    found = _without_other_primary_metastases(index, notes, condition, found)
    if not found and not symptom_hits:
        return
    inactive = inactive_reason(condition)
    _count_kinds(notes, condition, found, inactive, tally)
    if symptom_hits:
        if inactive:
            notes.skip(condition, inactive)
        else:
            tally.symptoms.extend(_symptoms(condition, symptom_hits))


def _without_other_primary_metastases(index: ResourceIndex, notes: Notes, condition: Json,
                                      found: dict[str, list[Code]]) -> dict[str, list[Code]]:
    """A brain metastasis of another cancer (say, lung) is not BCBM, even in a patient who also
    has breast cancer: firing on it would be advice for the wrong population."""
    if BRAIN not in found and LMD not in found:
        return found
    other_primary = _other_primary(index, condition)
    if other_primary is None:
        return found
    notes.skip(condition, f"metastasis of another primary cancer ({other_primary})")
    return {k: v for k, v in found.items() if k not in (BRAIN, LMD)}


def _count_kinds(notes: Notes, condition: Json, found: dict[str, list[Code]],
                 inactive: str | None, tally: _Tally) -> None:
    """Count a current Condition under each of its kinds; keep a breast cancer that is not
    current for `_count_linked_primaries`; skip any other that is not current."""
    for kind, hits in found.items():
        if inactive is None:
            tally.counted[kind].append((condition, hits))
        elif kind == BREAST:
            tally.waiting_breast.append((condition, hits, inactive))
        else:
            notes.skip(condition, inactive)
    if inactive is None and any(k in found for k in SECONDARY_KINDS):
        tally.linked_primaries.update(related_primaries(condition))


def _count_linked_primaries(notes: Notes, tally: _Tally) -> None:
    """A breast cancer recorded as not current still counts as the primary of an active
    metastasis that names it (metastatic disease from it is on record)."""
    for condition, hits, reason in tally.waiting_breast:
        if reference_of(condition) in tally.linked_primaries:
            tally.counted[BREAST].append((condition, hits))
        else:
            notes.skip(condition, reason)


def _condition_facts(tally: _Tally, no_conditions: bool) -> ConditionFacts:
    """`no_conditions`: no problem list at all, so nothing can be said "absent"."""
    symptoms = sorted(tally.symptoms, key=lambda s: (s.date is None, s.date or date.min, s.source))
    return ConditionFacts(
        breast_cancer=_fact(tally.counted[BREAST], no_conditions),
        brain_metastases=_fact(tally.counted[BRAIN], no_conditions),
        leptomeningeal=_fact(tally.counted[LMD], no_conditions),
        extracranial=_fact(tally.counted[EXTRACRANIAL], no_conditions),
        symptoms=tuple(symptoms),
        cns_condition_refs=frozenset(tally.cns_refs),
    )


def _fact(found: list[tuple[Json, list[Code]]], no_conditions: bool) -> ConditionFact:
    if not found:
        return ConditionFact(Presence.UNKNOWN if no_conditions else Presence.ABSENT)
    onsets = [d for d in (onset_day(c) for c, _ in found) if d is not None]
    labels: dict[str, None] = {}
    for _, hits in found:
        labels.update((h.label, None) for h in hits)
    return ConditionFact(
        presence=Presence.PRESENT,
        onset=min(onsets) if onsets else None,
        sources=tuple(dict.fromkeys(reference_of(c) for c, _ in found)),
        codes=tuple(labels),
    )


def _symptom_codes(code_codings: Sequence[Code]) -> list[tuple[codes.SymptomCode, Code]]:
    """The neurological symptoms among a Condition's codes (`codings(condition.code)`)."""
    hits = []
    for entry in codes.NEUROLOGICAL_SYMPTOMS:
        for coding in code_codings:
            if entry.codes.matches(coding.system, coding.code):
                hits.append((entry, coding))
                break
    return hits


def _symptoms(condition: Json, hits: Iterable[tuple[codes.SymptomCode, Code]]) -> list[Symptom]:
    day = onset_day(condition)
    return [Symptom(code=coding.code, display=coding.display or entry.display, date=day,
                    source=reference_of(condition)) for entry, coding in hits]

