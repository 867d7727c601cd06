"""FHIR R4 (mCODE STU4 / CodeX RT STU2) -> the typed input of the salvage model.

No Flask, no HTTP: plain functions over resource dicts. See docs/fhir-mapping.md for the codes,
profiles and rules.

- `collect_resources(*values)`: flatten prefetch values, Bundles, lists, None into resource dicts.
- `map_patient(resources, patient_id=None)`: one patient's resources -> `PatientRecord`.
- `map_draft_orders(bundle_or_resources, context_resources=())`: draftOrders -> `DraftOrders`.
"""

from cds_service.mapping.collect import collect_resources
from cds_service.mapping.drafts import map_draft_orders
from cds_service.mapping.record import map_patient

__all__ = ["collect_resources", "map_draft_orders", "map_patient"]
