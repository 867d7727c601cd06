"""Documented cancer disease status (mCODE 97509-4, CodeX radiotherapy disease status): trend,
local/distant qualifier, focus resolved to lesions and treated volumes, pathology confirmation."""

from __future__ import annotations

from datetime import date

from cds_service.mapping import codes
from cds_service.mapping.context import Notes, ResourceIndex
from cds_service.mapping.lesions import BodyMap, is_volume
from cds_service.mapping.observations import usable
from cds_service.mapping.read import (
    Json,
    codings,
    extensions,
    has_code,
    obj,
    objs,
    reference_of,
    timepoint,
)
from cds_service.model.patient import DiseaseStatus, ProgressionQualifier, Trend

_TRENDS = {
    codes.WORSENED: Trend.WORSENED,
    codes.STABLE: Trend.STABLE,
    codes.IMPROVED: Trend.IMPROVED,
    codes.UNDETERMINED: Trend.UNDETERMINED,
}
_QUALIFIERS = {codes.LOCAL: ProgressionQualifier.LOCAL, codes.DISTANT: ProgressionQualifier.DISTANT}


def map_disease_statuses(index: ResourceIndex, notes: Notes, bodies: BodyMap
                         ) -> tuple[DiseaseStatus, ...]:
    statuses: list[DiseaseStatus] = []
    for observation in index.observations_coded(*codes.DISEASE_STATUS_CODES):
        if not usable(observation, notes):
            continue
        status = notes.guard(observation, _status, observation, index, notes, bodies)
        if status is not None:
            statuses.append(status)
    statuses.sort(key=lambda s: (s.date is None, s.date or date.min, s.source))
    return tuple(statuses)


def _status(observation: Json, index: ResourceIndex, notes: Notes, bodies: BodyMap
            ) -> DiseaseStatus | None:
    value = obj(observation.get("valueCodeableConcept"))
    trend = next((_TRENDS[codes.TREND_CODES[c.code]] for c in codings(value)
                  if c.system == codes.SNOMED and c.code in codes.TREND_CODES), None)
    if trend is None:
        shown = ", ".join(c.code for c in codings(value)) or "no coded value"
        notes.skip(observation, f"disease status value not a known trend ({shown})")
        return None
    when = timepoint(observation, "effective")
    focus, lesion_ids, volume_ids = resolve_focus(observation, index, bodies)
    return DiseaseStatus(
        date=when.day if when else None,
        trend=trend,
        source=reference_of(observation),
        qualifier=_qualifier(observation, value),
        focus=focus,
        lesion_ids=lesion_ids,
        volume_ids=volume_ids,
        pathology_confirmed=any(
            has_code(obj(e.get("valueCodeableConcept")), codes.SNOMED, codes.PATHOLOGY_EVIDENCE)
            for e in extensions(observation, codes.EVIDENCE_TYPE_URL_SUFFIX)),
    )


def _qualifier(observation: Json, value: Json) -> ProgressionQualifier | None:
    """CodeX puts the qualifier on valueCodeableConcept; some senders put it on the
    Observation itself: both are read, the value's first."""
    for holder in (value, observation):
        for extension in [e for suffix in codes.PROGRESSION_QUALIFIER_URL_SUFFIXES
                          for e in extensions(holder, suffix)]:
            for coding in codings(extension.get("valueCodeableConcept")):
                if coding.system == codes.SNOMED and coding.code in codes.QUALIFIER_CODES:
                    return _QUALIFIERS[codes.QUALIFIER_CODES[coding.code]]
    return None


def resolve_focus(observation: Json, index: ResourceIndex, bodies: BodyMap
                  ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(focus as written, lesions, treated volumes). A volume in the focus — or, the CodeX way,
    in the codexrt-radiotherapy-volume-extension — also brings the lesions it covers by a shared
    identifier."""
    focus: dict[str, None] = {}
    lesions: dict[str, None] = {}
    volumes: dict[str, None] = {}
    volume_extensions = [obj(e.get("valueReference"))
                         for e in extensions(observation, codes.STATUS_VOLUME_URL_SUFFIX)]
    for reference in [*objs(observation.get("focus")), *volume_extensions]:
        key = index.key_of(reference, observation)
        if key is None:
            continue
        focus[key] = None
        if key in bodies.lesion_of_body:
            lesions[bodies.lesion_of_body[key]] = None
        body = bodies.volumes.get(key) or index.resolve(reference, observation)
        if body is not None and body.get("resourceType") == "BodyStructure" and is_volume(body):
            volumes[key] = None
            lesions.update((lid, None) for lid in bodies.lesions_sharing(body))
    return tuple(focus), tuple(lesions), tuple(volumes)
