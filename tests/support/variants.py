"""Small edits of the shared builders' resources, for the mapping's table-driven tests."""

from __future__ import annotations

import copy
from typing import Any

from tests.support import fhir_builders as b

PID = "p1"


def edited(resource: b.Resource, **changes: Any) -> b.Resource:
    """A deep copy with top-level keys replaced (None deletes the key)."""
    out = copy.deepcopy(resource)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def period_effective(resource: b.Resource, start: str, end: str | None = None) -> b.Resource:
    out = edited(resource, effectiveDateTime=None)
    out["effectivePeriod"] = {"start": start, **({"end": end} if end else {})}
    return out


def coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return b.cc(system, code, display)


def in_scope(*extra: b.Resource) -> list[b.Resource]:
    """Patient with breast cancer and brain metastases, plus `extra`."""
    return [b.patient(PID), b.breast_cancer(PID), b.brain_metastases(PID), *extra]
