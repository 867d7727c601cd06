"""order-select: checks of a radiotherapy or drug order while it is being chosen.

The checks of clinical model §9 on `draftOrders`, restricted to the orders in `selections`: one
card per problem, with an `update` (or `delete`) suggestion carrying the corrected order; no card
when the order is fine, and none for a patient outside the service's population.
"""

from __future__ import annotations

from typing import Any

from cards.order_cards import order_cards
from cds_service.registry import HookCall, HookService
from hooks.pipeline import assess_call, incomplete_card, order_findings
from hooks.prefetch_templates import PATIENT_DATA_PREFETCH, REQUIRED_KEYS


def handle(call: HookCall) -> dict[str, Any]:
    result = assess_call(call)
    if not result.may_concern_service:
        return {"cards": []}
    if not result.in_scope:  # scope unknown: the Conditions were cut
        return {"cards": [incomplete_card(result, orders_checked=True)]}
    findings = order_findings(call, result, selections=call.context.get("selections"))
    cards = order_cards(findings, call.context.get("draftOrders"), record=result.record,
                        on=result.assessment.assessment_date)
    if result.data_gaps:  # an order that passed may conflict with what was not read
        cards.append(incomplete_card(result, orders_checked=True))
    return {"cards": cards}


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
