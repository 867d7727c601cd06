"""The state of one mapping call: the resources by reference, and the notes (skipped resources,
missing fields) it collects. Built per call and thrown away: no module-level mutable state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from cds_service.mapping.read import Json, loinc_codes, obj, objs, ref_key, reference_of, text
from cds_service.model.patient import SkippedResource

T = TypeVar("T")
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
        self._loinc: dict[int, frozenset[str]] = {}  # id(resource) -> LOINC codes of its `code`
        self.by_ref: dict[str, Json] = {}
        self.by_type: dict[str, list[Json]] = defaultdict(list)
        for resource in self.all:
            rtype = text(resource.get("resourceType"))
            if rtype is None:
                continue
            self.by_type[rtype].append(resource)
            if text(resource.get("id")):
                self.by_ref.setdefault(reference_of(resource), resource)

    def of_type(self, rtype: str) -> list[Json]:
        return self.by_type.get(rtype, [])

    def loinc(self, resource: Json) -> frozenset[str]:
        """The LOINC codes of `resource.code`, read once per mapping call (every mapper filters
        every Observation by them). Keyed by id(): the index holds the resources alive."""
        key = id(resource)
        found = self._loinc.get(key)
        if found is None:
            found = self._loinc[key] = frozenset(loinc_codes(resource.get("code")))
        return found

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


def subject_key(resource: Json) -> str | None:
    """The patient a resource is about ("Patient/x"), from subject or patient."""
    for field in ("subject", "patient"):
        key = ref_key(obj(resource.get(field)))
        if key:
            return key
    return None
