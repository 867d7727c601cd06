"""Flatten whatever a hook call brought (prefetch values, search Bundles, draftOrders) into one
list of resource dicts, one per type/id.

Accepted: a resource; a Bundle of any type (entry[].resource, nested Bundles too); a list or tuple
of those; None (no data); a fhir.resources model (dumped to JSON). OperationOutcomes are kept in
the list so that the mapping can record them (they are never patient data). Duplicates by
type/id keep the copy with the latest meta.lastUpdated (the first one seen when that cannot tell).
The resources are the caller's own dicts, not copies: nothing downstream changes them. The result
is a `Collected` tuple, which collect_resources hands back as it is when given it again.

Transaction Bundles may name entries by ``urn:uuid:`` fullUrls and refer to them that way; those
references are rewritten to "Type/id" as a FHIR server does when it commits the transaction, so
that they still resolve once the Bundle is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cds_service.mapping.read import Json, last_updated, obj, objs, text

MAX_BUNDLE_DEPTH = 8  # Bundles nested deeper than this are not followed (defence against cycles)


class Collected(tuple):
    """What collect_resources returned: flat and de-duplicated already."""

    __slots__ = ()


def collect_resources(*values: Any) -> Collected:
    """Every resource in `values`, de-duplicated by type/id (see the module docstring)."""
    if len(values) == 1 and type(values[0]) is Collected:
        return values[0]
    return Collected(_dedupe(walk_resources(*values)))


def walk_resources(*values: Any) -> list[Json]:
    """Every resource in `values`, in order, duplicates included."""
    found: list[Json] = []
    for value in values:
        _walk(value, found, 0)
    return found


def _walk(value: Any, found: list[Json], depth: int) -> None:
    if value is None or depth > MAX_BUNDLE_DEPTH:
        return
    if hasattr(value, "model_dump") and not isinstance(value, Mapping):
        value = _dump_model(value)
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, found, depth)
        return
    if not isinstance(value, Mapping) or not text(value.get("resourceType")):
        return
    if value.get("resourceType") == "Bundle":
        if depth + 1 > MAX_BUNDLE_DEPTH:
            return
        for resource in _bundle_resources(value):
            # A dict resource other than a Bundle (most entries): what _walk would append,
            # taken without the call and its checks for other shapes
            rtype = resource.get("resourceType") if type(resource) is dict else None
            if type(rtype) is str and rtype != "Bundle" and rtype.strip():
                found.append(resource)
            else:
                _walk(resource, found, depth + 1)
        return
    found.append(value)


def _dump_model(model: Any) -> Any:
    try:
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    except Exception:  # noqa: BLE001 - a foreign object we cannot dump is no data
        return None


def _bundle_resources(bundle: Json) -> list[Json]:
    entries = objs(bundle.get("entry"))
    aliases: dict[str, str] = {}
    resources: list[Json] = []
    for entry in entries:
        resource = entry.get("resource")
        if type(resource) is not dict:  # obj(), its common case inline
            resource = obj(resource)
        if not resource:
            continue
        full_url = entry.get("fullUrl")
        if type(full_url) is str and "urn:uuid:" not in full_url:
            resources.append(resource)  # no alias to record (most entries)
            continue
        full_url = text(full_url)
        rtype = text(resource.get("resourceType"))
        if full_url and full_url.startswith("urn:uuid:") and rtype:
            rid = text(resource.get("id"))
            if rid is None:  # a POST entry: the server would give it an id; use the uuid
                rid = full_url.removeprefix("urn:uuid:")
                resource = {**resource, "id": rid}
            aliases[full_url] = f"{rtype}/{rid}"
        resources.append(resource)
    if aliases:
        resources = [_rewrite(r, aliases) for r in resources]
    return resources


def _rewrite(value: Any, aliases: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        out = {k: _rewrite(v, aliases) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in aliases:
            out["reference"] = aliases[ref]
        return out
    if isinstance(value, list):
        return [_rewrite(v, aliases) for v in value]
    return value


def _dedupe(found: Iterable[Json]) -> list[dict[str, Any]]:
    """Keep one resource per (type, id): the copy with the latest meta.lastUpdated, else the first.
    Keyed by the id alone until an id comes twice (most ids are unique), then by type as well."""
    by_id: dict[str, int] = {}  # id -> position of the first resource with it
    by_key: dict[tuple[str, str], int] = {}  # (type, id) -> position, for the ids seen twice
    out: list[dict[str, Any]] = []
    for resource in found:
        if type(resource) is not dict:
            resource = dict(resource)
        rid = text(resource.get("id"))
        if rid is None:
            out.append(resource)
            continue
        position = by_id.setdefault(rid, len(out))
        if position == len(out):  # a new id
            out.append(resource)
            continue
        # The kept copy at `position` may have been replaced, by one of the same type.
        by_key.setdefault((str(out[position].get("resourceType")), rid), position)
        key = (str(resource.get("resourceType")), rid)
        index = by_key.get(key)
        if index is None:  # the same id, another type
            by_key[key] = len(out)
            out.append(resource)
            continue
        newer, older = last_updated(resource), last_updated(out[index])
        if newer is not None and (older is None or newer > older):
            out[index] = resource
    return out
