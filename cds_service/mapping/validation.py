"""Optional strict validation with fhir.resources (R4B), for integrators testing their feeds.

The hot path reads the JSON defensively instead (validating every resource costs far more than
the whole call). With `map_patient(..., validate=True)` every resource the mapping
reads is also validated; a failure is recorded as a SkippedResource whose reason says the resource
is not valid R4B and was read from its JSON anyway — never a crash, never a silent drop.
"""

from __future__ import annotations

from collections.abc import Iterable

from cds_service.mapping.context import Notes
from cds_service.mapping.read import Json, text

# The resource types the mapping reads (others are not worth the validation time).
VALIDATED_TYPES = frozenset({
    "Patient", "Condition", "Observation", "Procedure", "BodyStructure", "MedicationRequest",
    "MedicationStatement", "Medication", "ServiceRequest",
})
MAX_REASON = 300


def validate_resources(resources: Iterable[Json], notes: Notes) -> None:
    from fhir.resources.R4B import get_fhir_model_class  # imported only when asked for

    for resource in resources:
        rtype = text(resource.get("resourceType"))
        if rtype not in VALIDATED_TYPES:
            continue
        try:
            get_fhir_model_class(rtype).model_validate(dict(resource))
        except Exception as exc:  # noqa: BLE001 - pydantic ValidationError and friends
            reason = f"not valid FHIR R4B ({_first_error(exc)}); read from its JSON anyway"
            notes.skip(resource, reason[:MAX_REASON])


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return f"{len(errors())} error(s), first at {where}: {first.get('msg')}"[:200]
        except Exception:  # noqa: BLE001
            pass
    return f"{type(exc).__name__}: {exc}"[:200]
