"""The state of one mapping call: the resources by reference, and the notes (skipped resources,
missing fields) it collects. Built per call and thrown away: no module-level mutable state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import ParamSpec, TypeVar

from cds_service.mapping.codes import LOINC, SYSTEM_KEYS
from cds_service.mapping.read import Json, loinc_codes, obj, objs, ref_key, reference_of, text
from cds_service.model.patient import SkippedResource

T = TypeVar("T")
_WITH_COMPONENTS = ""  # observations_coded's key for the Observations with components (no code)
P = ParamSpec("P")


class Notes:
    """What the mapping could not use (SkippedResource) and which needed fields it did not find."""

    def __init__(self) -> None:
        self._skipped: dict[tuple[str, str], None] = {}
        self._missing: dict[str, None] = {}

    def skip(self, resource: Json | str, reason: str) -> None:
        reference = resource if isinstance(resource, str) else reference_of(resource)
        self._skipped[(reference, reason)] = None

    def miss(self, name: str) -> None:
        self._missing[name] = None

    def guard(self, resource: Json, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """Run one resource's reader, `read(*args, **kwargs)`; a resource that breaks it is
        recorded, never fatal."""
        try:
            return read(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any malformed input must not crash the hook
            self.skip(resource, f"could not be read ({type(exc).__name__}: {exc})"[:300])
            return None

    @property
    def skipped(self) -> tuple[SkippedResource, ...]:
        return tuple(SkippedResource(ref, reason) for ref, reason in self._skipped)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(self._missing)


class ResourceIndex:
    """Resources by "Type/id" and by type; resolves references, contained ones included."""

    def __init__(self, resources: Iterable[Json]) -> None:
        self.all: list[Json] = list(resources)
        self.by_ref: dict[str, Json] = {}
        self.by_type: dict[str, list[Json]] = defaultdict(list)
        self._coded: dict[str, list[int]] | None = None  # observations_coded's table, once
        by_type, by_ref = self.by_type, self.by_ref
        for resource in self.all:
            rtype = resource.get("resourceType")  # text() of it, inline for an exact string
            rtype = (rtype.strip() or None) if type(rtype) is str else text(rtype)
            if rtype is None:
                continue
            by_type[rtype].append(resource)
            rid = resource.get("id")
            rid = rid.strip() if type(rid) is str else text(rid)  # text(), as its truth
            if rid and (ref := f"{rtype}/{rid}") not in by_ref:  # reference_of(resource)
                by_ref[ref] = resource

    def of_type(self, rtype: str) -> list[Json]:
        return self.by_type.get(rtype, [])

    def observations_coded(self, *loinc: str, with_components: bool = False) -> list[Json]:
        """The Observations whose `code` holds one of the LOINC codes `loinc` — with
        `with_components`, also every Observation with a (truthy) `component` — in the order of
        `of_type("Observation")`: what a mapper filtering every Observation by its LOINC codes
        reads, without walking the others (a chart's labs, vital signs...) once per mapper.
        Exactly those: `loinc_set(o.get("code"))` meets `loinc` for each one returned."""
        if self._coded is None:
            self._coded = self._observations_by_loinc()
        positions: set[int] = set()
        for code in loinc:
            positions.update(self._coded.get(code, ()))
        if with_components:
            positions.update(self._coded.get(_WITH_COMPONENTS, ()))
        observations = self.of_type("Observation")
        return [observations[i] for i in sorted(positions)]

    def _observations_by_loinc(self) -> dict[str, list[int]]:
        """Positions in of_type("Observation") by LOINC code (and `_WITH_COMPONENTS`)."""
        coded: dict[str, list[int]] = defaultdict(list)
        for position, observation in enumerate(self.of_type("Observation")):
            # No set kept per Observation: the table is the whole answer (a mapper does not
            # read an Observation's codes again to check it).
            for code in loinc_codes_read(observation.get("code")):
                coded[code].append(position)
            if observation.get("component"):
                coded[_WITH_COMPONENTS].append(position)
        return coded

    def resolve(self, reference: object, container: Json | None = None) -> Json | None:
        """The resource a Reference points to: "#id" in `container`, else "Type/id" here."""
        key = ref_key(reference)
        if key is None:
            return None
        if key.startswith("#"):
            if container is None:
                return None
            return next((c for c in objs(container.get("contained"))
                         if text(c.get("id")) == key[1:]), None)
        return self.by_ref.get(key)

    def key_of(self, reference: object, container: Json | None = None) -> str | None:
        """"Type/id" of a reference; a contained one is named after its container
        ("Procedure/p1#vol") so that it stays unique in the provenance."""
        key = ref_key(reference)
        if key and key.startswith("#") and container is not None:
            return f"{reference_of(container)}{key}"
        return key


def loinc_set(concept: object) -> frozenset[str]:
    """`frozenset(loinc_codes(concept))`, read in one loop when every coding is a dict whose
    system is spelled exactly as in the table of systems (a chart's usual coding); anything
    else goes to `loinc_codes` itself."""
    found = loinc_codes_read(concept)
    return found if type(found) is frozenset else frozenset(found)


def loinc_codes_read(concept: object) -> Collection[str]:
    """The LOINC codes of `concept`, as `loinc_set` finds them, without making the set when
    they are read in its one loop (a list then, which may repeat a code)."""
    coding = concept.get("coding") if type(concept) is dict else None
    if type(coding) is not list:
        return frozenset(loinc_codes(concept))
    found = []
    for item in coding:
        if type(item) is not dict:
            if isinstance(item, Mapping):
                return frozenset(loinc_codes(concept))
            continue  # not a coding: loinc_codes skips it too
        system = item.get("system")
        key = SYSTEM_KEYS.get(system) if type(system) is str else None
        if key is None:  # no system, or one the table does not spell exactly: normalised there
            return frozenset(loinc_codes(concept))
        code = item.get("code")
        if key == LOINC and type(code) is str and (code := code.strip()):
            found.append(code)
    return found


def subject_key(resource: Json) -> str | None:
    """The patient a resource is about ("Patient/x"), from subject or patient."""
    for field in ("subject", "patient"):
        key = ref_key(obj(resource.get(field)))
        if key:
            return key
    return None
