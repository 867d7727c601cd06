"""order-select: checks of a radiotherapy or drug order while it is being chosen."""

from __future__ import annotations

from typing import Any

from cds_service.registry import HookCall, HookService
from hooks.prefetch_templates import PATIENT_DATA_PREFETCH, REQUIRED_KEYS


def handle(call: HookCall) -> dict[str, Any]:
    return {"cards": []}


SERVICE = HookService(
    id="bcbm-order-select",
    hook="order-select",
    title="BCBM salvage: radiotherapy and drug order checks (select)",
    description=(
        "Checks draft radiotherapy prescriptions and drug orders for a patient with progressive "
        "breast cancer brain metastases: SRS dose by lesion diameter, re-irradiation, "
        "WBRT after WBRT or surgery, hormonal therapy alone."
    ),
    handler=handle,
    prefetch=PATIENT_DATA_PREFETCH,
    required_prefetch=REQUIRED_KEYS,
)
