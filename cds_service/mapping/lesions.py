"""Brain lesions and treated volumes (BodyStructure) and the tumour-size series of each lesion
(fhir-input-profile.md, "Lesions and treated volumes" and the tumour-size row).

A lesion is an mCODE Tumor in the brain, identified across scans by its identifier (the "usual"
one, else the first; the BodyStructure id when it has none). Tumour-size Observations (21889-1)
are grouped by the Tumor their `focus` names; a size measured on a `specimen` (pathology) or on a
Tumor outside the brain is not a brain lesion. The longest dimension (component 33728-7) is kept
in millimetres; cm is converted, any other or missing unit is skipped with its reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from cds_service.mapping import codes
from cds_service.mapping.context import Notes, ResourceIndex, loinc_codes_read
from cds_service.mapping.observations import usable
from cds_service.mapping.read import (
    Json,
    codings,
    extensions,
    has_code,
    has_profile,
    last_updated,
    obj,
    objs,
    quantity,
    ref_key,
    reference_of,
    text,
    timepoint,
)
from cds_service.model.patient import Lesion, Measurement


def is_volume(body: Json) -> bool:
    return has_profile(body, codes.VOLUME_PROFILE_SUFFIX) or has_code(
        body.get("morphology"), codes.SNOMED, codes.VOLUME_MORPHOLOGY)


def in_brain(body: Json, cns_condition_refs: frozenset[str] = frozenset()) -> bool | None:
    """True/False from the location code; a Tumor whose related Condition is a brain metastasis
    is in the brain too. None when nothing tells (no location we know, no such Condition)."""
    if has_code(body.get("location"), codes.SNOMED, codes.BRAIN_LOCATIONS):
        return True
    related = {ref_key(obj(e.get("valueReference")))
               for e in extensions(body, codes.RELATED_CONDITION_URL_SUFFIX)}
    if related & cns_condition_refs:
        return True
    return False if any(True for _ in codings(body.get("location"))) else None


def identifier_values(body: Json) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in (text(i.get("value")) for i in
                                           objs(body.get("identifier"))) if v))


def lesion_key(body: Json) -> str:
    identifiers = objs(body.get("identifier"))
    usual = [text(i.get("value")) for i in identifiers if i.get("use") == "usual"]
    for value in (*usual, *(text(i.get("value")) for i in identifiers)):
        if value:
            return value
    return text(body.get("id")) or reference_of(body)


def whole_brain(volume: Json) -> bool | None:
    """Entire (255503000) -> True, Partial (255609007) -> False, neither -> None."""
    qualifiers = objs(volume.get("locationQualifier"))
    if any(has_code(q, codes.SNOMED, {codes.WHOLE_ORGAN_QUALIFIER}) for q in qualifiers):
        return True
    if any(has_code(q, codes.SNOMED, {codes.PARTIAL_QUALIFIER}) for q in qualifiers):
        return False
    return None


@dataclass
class _LesionBuilder:
    key: str
    bodies: dict[str, None] = field(default_factory=dict)
    identifiers: dict[str, None] = field(default_factory=dict)
    # day -> (measurement, tie-break key: lastUpdated timestamp, diameter)
    by_day: dict[date, tuple[Measurement, tuple[float, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class BodyMap:
    """Lesions and the lookups treatments and disease statuses need."""

    lesions: tuple[Lesion, ...]
    lesion_of_body: dict[str, str]  # "BodyStructure/x" -> Lesion.id (brain Tumors only)
    lesions_by_identifier: dict[str, frozenset[str]]  # identifier value -> Lesion.ids
    volumes: dict[str, Json]  # "BodyStructure/x" -> treated volume

    def lesions_sharing(self, body: Json) -> tuple[str, ...]:
        """Lesions that share an identifier value with `body` (a treated volume)."""
        found: dict[str, None] = {}
        for value in identifier_values(body):
            found.update((lid, None) for lid in sorted(self.lesions_by_identifier.get(value, ())))
        return tuple(found)


def map_lesions(index: ResourceIndex, notes: Notes, cns_condition_refs: frozenset[str]
                ) -> BodyMap:
    builders: dict[str, _LesionBuilder] = {}
    lesion_of_body: dict[str, str] = {}
    volumes: dict[str, Json] = {}

    def add_tumor(body: Json) -> str:
        ref = reference_of(body)
        key = lesion_key(body)
        builder = builders.setdefault(key, _LesionBuilder(key))
        builder.bodies[ref] = None
        builder.identifiers.update((v, None) for v in identifier_values(body))
        lesion_of_body[ref] = key
        return key

    # (in the brain?, a treated volume?) of each BodyStructure a size Observation names: several
    # sizes name the same lesion, read once per call. Keyed by id(): the index (or, for a
    # contained one, its container in the index) holds the body alive for the whole call.
    placed: dict[int, tuple[bool | None, bool]] = {}

    def placement(body: Json) -> tuple[bool | None, bool]:
        found = placed.get(id(body))
        if found is None:
            found = placed[id(body)] = (in_brain(body, cns_condition_refs), is_volume(body))
        return found

    for body in index.of_type("BodyStructure"):
        if is_volume(body):
            volumes[reference_of(body)] = body
        elif has_profile(body, codes.TUMOR_PROFILE_SUFFIX):  # a Tumor (and not a volume)
            brain = in_brain(body, cns_condition_refs)
            placed[id(body)] = (brain, False)  # placement(body), for the sizes that name it
            if brain:
                add_tumor(body)

    for observation in index.observations_coded(codes.TUMOR_SIZE_CODE):
        notes.guard(observation, _add_size, observation, index, notes, builders, lesion_of_body,
                    add_tumor, placement)

    lesions = tuple(_build(b) for b in sorted(builders.values(), key=_order))
    by_identifier: dict[str, set[str]] = defaultdict(set)
    for lesion in lesions:
        for value in (lesion.id, *lesion.identifiers):
            by_identifier[value].add(lesion.id)
    return BodyMap(lesions, lesion_of_body,
                   {k: frozenset(v) for k, v in by_identifier.items()}, volumes)


def _add_size(observation: Json, index: ResourceIndex, notes: Notes,
              builders: dict[str, _LesionBuilder], lesion_of_body: dict[str, str],
              add_tumor: Callable[[Json], str],
              placement: Callable[[Json], tuple[bool | None, bool]]) -> None:
    focus = objs(observation.get("focus"))
    if not focus:
        return  # a size measured on a specimen (pathology), not a tracked brain lesion
    bodies = [(f, index.resolve(f, observation)) for f in focus]
    resolved = [(f, b) for f, b in bodies
                if b is not None and b.get("resourceType") == "BodyStructure"]
    if not resolved:
        notes.skip(observation, f"focus {ref_key(focus[0]) or focus[0]} is not in the data: "
                                "cannot tell which lesion, or whether it is in the brain")
        return
    body = resolved[0][1]
    brain, volume = placement(body)  # in_brain(body, ...), is_volume(body)
    if brain is False or volume:
        return  # a tumour outside the brain
    if brain is None:
        notes.skip(observation, f"{reference_of(body)} has no location: cannot tell whether "
                                "the lesion is in the brain")
        return
    if not usable(observation, notes):
        return
    key = lesion_of_body.get(reference_of(body)) or add_tumor(body)
    when = timepoint(observation, "effective")
    if when is None or when.day is None:
        notes.skip(observation, "no effective date with a day"
                   + (f" ('{when.raw}')" if when else ""))
        return
    size_mm, reason = _longest_diameter_mm(observation)
    if size_mm is None:
        notes.skip(observation, reason)
        return
    measurement = Measurement(when.day, size_mm, reference_of(observation))
    stamp = last_updated(observation)
    rank = (stamp.timestamp() if stamp else float("-inf"), size_mm)
    builder = builders[key]
    previous = builder.by_day.get(when.day)
    if previous is not None:
        loser = previous if rank > previous[1] else (measurement, rank)
        notes.skip(loser[0].source, f"another measurement of lesion {key} on {when.day} "
                                    "was used (the latest updated, else the largest)")
        if rank <= previous[1]:
            return
    builder.by_day[when.day] = (measurement, rank)


def _longest_diameter_mm(observation: Json) -> tuple[float | None, str]:
    component = next((c for c in objs(observation.get("component"))
                      if codes.LONGEST_DIMENSION_CODE in loinc_codes_read(c.get("code"))), None)
    # mCODE puts the size in component 33728-7; some senders use value[x] of 21889-1 itself
    source = component if component is not None else observation
    if "valueQuantity" not in source:
        return None, "no longest dimension (component 33728-7 with a valueQuantity)"
    q = quantity(source.get("valueQuantity"))
    if q is None:
        return None, "longest dimension has no numeric value"
    if q.unit is None:
        return None, "longest dimension has no unit (mm or cm expected)"
    factor = codes.LENGTH_UNITS_MM.get(q.unit)
    if factor is None:
        return None, f"unit '{q.unit}' is not mm or cm"
    if q.value < 0:
        return None, f"negative size {q.value}"
    return round(q.value * factor, 6), ""


def _order(builder: _LesionBuilder) -> tuple[date, str]:
    first = min(builder.by_day) if builder.by_day else date.max
    return first, builder.key


def _build(builder: _LesionBuilder) -> Lesion:
    measurements = tuple(m for _, (m, _) in sorted(builder.by_day.items()))
    return Lesion(
        id=builder.key,
        measurements=measurements,
        first_seen=measurements[0].date if measurements else None,
        body_structure_ids=tuple(builder.bodies),
        identifiers=tuple(builder.identifiers),
    )
