"""Local treatments of the brain: radiotherapy courses (one LocalTreatment per treated volume,
since dose and fractions are per volume) and brain surgery (fhir-input-profile.md, "Procedures").

A course counts when its status is completed or in-progress and it treated the brain: a volume
located in the brain, or, for a volume that is not in the data, a course whose reason is a
brain/leptomeningeal metastasis or whose bodySite is the brain. SRS/FSRT/WBRT comes from
`classify_radiotherapy` (the one rule); a brain course it cannot classify (volume or fractions
unknown) is kept as OTHER_RT — it still is prior brain irradiation — and named as missing.

A course in progress is classified by its planned fractions (CM §10): after the first of 5
fractions it has delivered 5 Gy x 1, which is not SRS. The plan is read from the ServiceRequest
the course is `basedOn` (CodeX planned course: dose-planned-to-volume `fractions`; course
prescription: dose-prescribed-to-volume `fractions`; phase/plan prescription:
fractions-prescribed). Without it the technique of a running focal course is unknown (OTHER_RT,
named as missing) — never guessed from the fractions delivered so far.

Versions of one course (course summaries sharing an identifier system|value, as the CodeX XRTS
examples "after 1 fraction" and "completely treated" do) count once: the completed version, else
the in-progress one, else the latest; the others are recorded as skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from cds_service.mapping import codes
from cds_service.mapping.conditions import matching_codes
from cds_service.mapping.context import Notes, ResourceIndex
from cds_service.mapping.lesions import BodyMap, in_brain, whole_brain
from cds_service.mapping.read import (
    FhirDate,
    Json,
    extensions,
    has_code,
    has_profile,
    integer,
    last_updated,
    obj,
    objs,
    period_bounds,
    quantity,
    ref_key,
    reference_of,
    refs,
    status_code,
    sub_extension,
    text,
    value_of,
)
from cds_service.model.classify import classify_radiotherapy
from cds_service.model.patient import (
    DiseaseStatus,
    LocalTreatment,
    ProgressionQualifier,
    TreatmentKind,
)

MISSING_TREATMENT_DATES = "local treatment dates"


def missing_rt_kind(source: str) -> str:
    return (f"radiotherapy technique (SRS/FSRT/WBRT) of {source}: "
            "treated volume or fractions unknown")


def coverage_from_statuses(statuses: Iterable[DiseaseStatus]) -> dict[str, frozenset[str]]:
    """Volume -> lesions, from disease statuses qualified *local* that name both (FIP)."""
    cover: dict[str, set[str]] = defaultdict(set)
    for status in statuses:
        if status.qualifier is ProgressionQualifier.LOCAL:
            for volume in status.volume_ids:
                cover[volume].update(status.lesion_ids)
    return {k: frozenset(v) for k, v in cover.items()}


def cns_reason(procedure: Json, cns_condition_refs: frozenset[str]) -> bool:
    if set(refs(procedure.get("reasonReference"))) & cns_condition_refs:
        return True
    return any(matching_codes(c, codes.BRAIN_METASTASIS) or matching_codes(c, codes.LEPTOMENINGEAL)
               for c in objs(procedure.get("reasonCode")))


def brain_site(procedure: Json) -> bool:
    return any(has_code(s, codes.SNOMED, codes.BRAIN_LOCATIONS)
               for s in objs(procedure.get("bodySite")))


def is_rt_course(procedure: Json) -> bool:
    return has_code(procedure.get("code"), codes.SNOMED, {codes.RT_COURSE_CODE}) or has_profile(
        procedure, *codes.RT_COURSE_PROFILE_SUFFIXES)


def is_brain_surgery(procedure: Json, cns_condition_refs: frozenset[str]) -> bool:
    if has_code(procedure.get("code"), codes.SNOMED, codes.BRAIN_SURGERY_CODES):
        return True
    return has_profile(procedure, codes.SURGERY_PROFILE_SUFFIX) and (
        brain_site(procedure) or cns_reason(procedure, cns_condition_refs))


def dose_cgy(element: Json, notes: Notes, source: Json) -> float | None:
    value = value_of(element, "Quantity")
    q = quantity(value)
    if q is None:
        return None
    factor = codes.DOSE_UNITS_CGY.get(q.unit or "")
    if factor is None:
        notes.skip(source, f"dose unit '{q.unit}' is not cGy or Gy: dose not read")
        return None
    return q.value * factor


def fraction_count(element: Json | None) -> int | None:
    if element is None:
        return None
    value = integer(value_of(element, "UnsignedInt", "PositiveInt", "Integer"))
    return value if value is not None and value >= 0 else None


def missing_planned_fractions(source: str) -> str:
    return (f"planned fractions of {source}, a course in progress (its prescription is not in "
            "the data): SRS/FSRT technique unknown")


def course_identifiers(procedure: Json) -> frozenset[str]:
    """"system|value" of each identifier: versions of one course share at least one."""
    keys = set()
    for identifier in objs(procedure.get("identifier")):
        value = text(identifier.get("value"))
        if value:
            keys.add(f"{text(identifier.get('system')) or ''}|{value}")
    return frozenset(keys)


def _version_rank(procedure: Json) -> tuple:
    """Sort key: the preferred version of a course sorts first."""
    status = status_code(procedure.get("status"))
    order = codes.RT_VERSION_STATUS_ORDER
    _, end = period_bounds(procedure, "performed")
    updated = last_updated(procedure)
    return (order.index(status) if status in order else len(order),
            -(end.day.toordinal() if end and end.day else 0),
            -(updated.timestamp() if updated else 0.0))


def one_version_per_course(courses: list[Json], notes: Notes) -> list[Json]:
    """The course summaries with each course once (versions grouped by a shared identifier)."""
    groups: list[tuple[set[str], list[Json]]] = []
    for course in courses:
        keys = set(course_identifiers(course))
        joined = [g for g in groups if keys and g[0] & keys]
        for group in joined:
            groups.remove(group)
            keys |= group[0]
        groups.append((keys, [course] + [c for g in joined for c in g[1]]))
    kept_ids = set()
    for _, versions in groups:
        # a course with one version (the usual case) is kept without reading its rank
        kept, *others = sorted(versions, key=_version_rank) if len(versions) > 1 else versions
        kept_ids.add(id(kept))
        for other in others:
            notes.skip(other, f"another version of the course {reference_of(kept)} (same "
                              "identifier): the course counts once")
    return [c for c in courses if id(c) in kept_ids]


def planned_fractions(procedure: Json, index: ResourceIndex, volume_key: str | None) -> int | None:
    """Fractions planned for `volume_key` by the request the course is basedOn (None if unknown)."""
    for reference in objs(procedure.get("basedOn")):
        request = index.resolve(reference, procedure)
        if request is None or request.get("resourceType") != "ServiceRequest":
            continue
        per_volume = (extensions(request, codes.DOSE_PLANNED_URL_SUFFIX)
                      + extensions(request, codes.DOSE_PRESCRIBED_URL_SUFFIX))
        for part in per_volume:
            target = ref_key(obj((sub_extension(part, "volume") or {}).get("valueReference")))
            if volume_key is None and len(per_volume) > 1:
                break  # several volumes and none to match: not this request's answer
            if volume_key is not None and target is not None and target != volume_key:
                continue
            found = fraction_count(sub_extension(part, "fractions"))
            if found:
                return found
        for part in extensions(request, codes.FRACTIONS_PRESCRIBED_URL_SUFFIX):
            found = fraction_count(part)
            if found:
                return found
    return None


def technique_fractions(in_progress: bool, delivered: int | None, planned: int | None
                        ) -> int | None:
    """The fraction count that tells SRS from FSRT: the plan while the course runs (CM §10)."""
    if in_progress:
        return planned
    return delivered if delivered is not None else planned


def reirradiation(resource: Json) -> bool | None:
    for extension in extensions(resource, codes.REIRRADIATION_URL_SUFFIX):
        value = extension.get("valueBoolean")
        if isinstance(value, bool):
            return value
    return None


def map_treatments(index: ResourceIndex, notes: Notes, bodies: BodyMap,
                   cns_condition_refs: frozenset[str], statuses: Iterable[DiseaseStatus]
                   ) -> tuple[LocalTreatment, ...]:
    cover = coverage_from_statuses(statuses)
    treatments: list[LocalTreatment] = []
    procedures = index.of_type("Procedure")
    courses = [p for p in procedures if is_rt_course(p)]
    course_ids = {id(c) for c in courses}  # is_rt_course, read once per Procedure
    counted = {id(c) for c in one_version_per_course(courses, notes)}
    for procedure in procedures:
        if id(procedure) in course_ids:
            if id(procedure) not in counted:
                continue  # another version of a course already counted
            found = notes.guard(procedure, _courses, procedure, index, notes, bodies,
                                cns_condition_refs, cover)
        elif is_brain_surgery(procedure, cns_condition_refs):
            found = notes.guard(procedure, _surgery, procedure, notes, bodies)
        else:
            continue
        treatments.extend(found or ())
    # stable: the volumes of one course keep the course's order
    treatments.sort(key=lambda t: (t.date is None, t.date or date.min, t.start or date.min,
                                   t.source))
    return tuple(treatments)


def _counted(procedure: Json, notes: Notes, counted_status: frozenset[str], what: str) -> bool:
    status = status_code(procedure.get("status"))
    if status in counted_status:
        return True
    notes.skip(procedure, f"{what} with status {status or 'missing'}: only "
                          f"{' or '.join(sorted(counted_status))} count")
    return False


def _dates(procedure: Json, notes: Notes) -> tuple[date | None, date | None]:
    start, end = period_bounds(procedure, "performed")
    start_day, end_day = _day(start), _day(end)
    if start_day is None and end_day is None:
        given = start or end
        notes.miss(MISSING_TREATMENT_DATES)
        notes.skip(procedure, "no performed date with a day: the treatment cannot be placed "
                              "in time" + (f" ('{given.raw}')" if given else ""))
    return start_day, end_day


def _day(point: FhirDate | None) -> date | None:
    return point.day if point else None


def _courses(procedure: Json, index: ResourceIndex, notes: Notes, bodies: BodyMap,
             cns_condition_refs: frozenset[str], cover: dict[str, frozenset[str]]
             ) -> list[LocalTreatment]:
    course_in_brain = cns_reason(procedure, cns_condition_refs) or brain_site(procedure)
    targets = _target_lesions(procedure, bodies)
    volumes = []  # (volume key, volume resource or None, dose cGy, fractions)
    for delivered in extensions(procedure, codes.DOSE_DELIVERED_URL_SUFFIX):
        reference = obj((sub_extension(delivered, "volume") or {}).get("valueReference"))
        volume = index.resolve(reference, procedure) if reference else None
        located = in_brain(volume, cns_condition_refs) if volume is not None else None
        if located is False or (located is None and not course_in_brain):
            continue  # a volume outside the brain (or a course that says nothing of the brain)
        dose_part = sub_extension(delivered, "totalDoseDelivered")
        volumes.append((index.key_of(reference, procedure) if reference else None, volume,
                        dose_cgy(dose_part, notes, procedure) if dose_part else None,
                        fraction_count(sub_extension(delivered, "fractionsDelivered"))))
    if not volumes and course_in_brain:
        volumes.append((None, None, None, None))  # a brain course with no volume on record
    if not volumes or not _counted(procedure, notes, codes.RT_COUNTED_STATUS,
                                   "brain radiotherapy course"):
        return []
    start, end = _dates(procedure, notes)
    source = reference_of(procedure)
    in_progress = status_code(procedure.get("status")) == codes.RT_IN_PROGRESS_STATUS
    out = []
    for key, volume, dose, fractions in volumes:
        whole = whole_brain(volume) if volume is not None else None
        planned = planned_fractions(procedure, index, key)
        kind = classify_radiotherapy(whole, technique_fractions(in_progress, fractions, planned))
        if kind is None:
            kind = TreatmentKind.OTHER_RT
            notes.miss(missing_planned_fractions(source) if in_progress and planned is None
                       and whole is False else missing_rt_kind(source))
        lesions = dict.fromkeys(targets)
        if volume is not None:
            lesions.update(dict.fromkeys(bodies.lesions_sharing(volume)))
        if key is not None:
            lesions.update(dict.fromkeys(sorted(cover.get(key, ()))))
        out.append(LocalTreatment(
            kind=kind, start=start, end=end, source=source, total_dose_cgy=dose,
            fractions=fractions, planned_fractions=planned, in_progress=in_progress,
            lesion_ids=tuple(lesions),
            volume_ids=(key,) if key else (), reirradiation=reirradiation(procedure)))
    return out


def _target_lesions(procedure: Json, bodies: BodyMap) -> tuple[str, ...]:
    """Lesions named by the core procedure-targetBodyStructure extension."""
    found: dict[str, None] = {}
    for extension in extensions(procedure, codes.TARGET_BODY_STRUCTURE_URL):
        key = ref_key(obj(extension.get("valueReference")))
        if key in bodies.lesion_of_body:
            found[bodies.lesion_of_body[key]] = None
    return tuple(found)


def _surgery(procedure: Json, notes: Notes, bodies: BodyMap) -> list[LocalTreatment]:
    if not _counted(procedure, notes, codes.SURGERY_COUNTED_STATUS, "brain surgery"):
        return []
    start, end = _dates(procedure, notes)
    return [LocalTreatment(kind=TreatmentKind.SURGERY, start=start, end=end,
                           source=reference_of(procedure),
                           lesion_ids=_target_lesions(procedure, bodies))]

