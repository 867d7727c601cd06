"""`map_draft_orders`: the draftOrders of an order-select / order-sign call -> `DraftOrders`.

Radiotherapy orders are CodeX course prescriptions (ServiceRequest with the
codexrt-radiotherapy-dose-prescribed-to-volume extension: volume, totalDose, fractions); one
DraftRadiotherapyOrder per prescribed volume (dose and fractions are per volume). The volume may
be contained in the ServiceRequest, another draft, or among the patient's resources
(`context_resources`). Drugs are MedicationRequests: one DraftMedicationOrder per drug found (a
combination product gives several), and one with drug None when no drug of the table is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cds_service.mapping import codes
from cds_service.mapping.collect import collect_resources
from cds_service.mapping.conditions import BRAIN, LMD, kinds_of
from cds_service.mapping.context import Notes, ResourceIndex
from cds_service.mapping.drugs import medication_info, systemic_route
from cds_service.mapping.lesions import BodyMap, in_brain, map_lesions, whole_brain
from cds_service.mapping.read import (
    Json,
    extensions,
    has_code,
    has_profile,
    obj,
    reference_of,
    status_code,
    sub_extension,
)
from cds_service.mapping.treatments import (
    brain_site,
    cns_reason,
    dose_cgy,
    fraction_count,
    reirradiation,
)
from cds_service.model.patient import DraftMedicationOrder, DraftOrders, DraftRadiotherapyOrder


def map_draft_orders(bundle_or_resources: Any, context_resources: Iterable[Any] = ()
                     ) -> DraftOrders:
    notes = Notes()
    drafts = collect_resources(bundle_or_resources)
    context = collect_resources(context_resources)
    index = ResourceIndex([*drafts, *context])  # a draft wins over a stored copy of the same id
    cns_refs = frozenset(reference_of(c) for c in index.of_type("Condition")
                         if {BRAIN, LMD} & set(kinds_of(c)))
    bodies = map_lesions(index, Notes(), cns_refs)  # lesions only for coverage; notes not ours

    radiotherapy: list[DraftRadiotherapyOrder] = []
    medications: list[DraftMedicationOrder] = []
    for draft in drafts:
        rtype = draft.get("resourceType")
        if rtype == "ServiceRequest" and _is_rt_prescription(draft):
            if _orderable(draft, notes):
                radiotherapy += notes.guard(draft, _rt_orders, draft, index, notes, bodies,
                                            cns_refs) or []
        elif rtype == "MedicationRequest":
            if _orderable(draft, notes):
                medications += notes.guard(draft, _medication_orders, draft, index) or []
    return DraftOrders(tuple(radiotherapy), tuple(medications), notes.skipped)


def _is_rt_prescription(request: Json) -> bool:
    return bool(extensions(request, codes.DOSE_PRESCRIBED_URL_SUFFIX)) or has_profile(
        request, codes.RT_PRESCRIPTION_PROFILE_SUFFIX) or has_code(
        request.get("code"), codes.SNOMED, {codes.RT_COURSE_CODE})


def _orderable(draft: Json, notes: Notes) -> bool:
    status = status_code(draft.get("status"))
    if status is None or status in codes.DRAFT_ORDER_STATUS:
        return True
    notes.skip(draft, f"draft order with status {status}: not an order being placed")
    return False


def _rt_orders(request: Json, index: ResourceIndex, notes: Notes, bodies: BodyMap,
               cns_refs: frozenset[str]) -> list[DraftRadiotherapyOrder]:
    order_in_brain = cns_reason(request, cns_refs) or brain_site(request)
    source = reference_of(request)
    again = reirradiation(request)
    orders = []
    prescribed = extensions(request, codes.DOSE_PRESCRIBED_URL_SUFFIX)
    for part in prescribed:
        reference = obj((sub_extension(part, "volume") or {}).get("valueReference"))
        volume = index.resolve(reference, request) if reference else None
        located = in_brain(volume, cns_refs) if volume is not None else None
        if located is False and volume is not None:  # (False only for a found volume)
            notes.skip(source, f"prescribed volume {reference_of(volume)} is not in the brain")
            continue
        if located is None and not order_in_brain:
            notes.skip(source, "prescribed volume not in the data and no brain reason or site: "
                               "cannot tell whether the order is for the brain")
            continue
        dose_part = sub_extension(part, "totalDose")
        key = index.key_of(reference, request) if reference else None
        orders.append(DraftRadiotherapyOrder(
            resource_id=source,
            total_dose_cgy=dose_cgy(dose_part, notes, request) if dose_part else None,
            fractions=fraction_count(sub_extension(part, "fractions")),
            whole_brain=whole_brain(volume) if volume is not None else None,
            volume_ids=(key,) if key else (),
            lesion_ids=bodies.lesions_sharing(volume) if volume is not None else (),
            reirradiation=again,
        ))
    if not prescribed:
        if order_in_brain:
            orders.append(DraftRadiotherapyOrder(source, None, None, None, reirradiation=again))
        else:
            notes.skip(source, "radiotherapy order without a prescribed volume, brain reason or "
                               "brain site: cannot tell whether it is for the brain")
    return orders


def _medication_orders(request: Json, index: ResourceIndex) -> list[DraftMedicationOrder]:
    info = medication_info(request, index)
    source = reference_of(request)
    if not info.hits:
        return [DraftMedicationOrder(source, None, None)]
    systemic = systemic_route(request, info)
    return [DraftMedicationOrder(source, hit.drug.name, hit.drug.therapy_class,
                                 is_steroid=hit.drug.is_steroid and systemic)
            for hit in info.hits]
