"""order-select and order-sign: checks of radiotherapy and drug orders, one handler for both.

The checks of clinical model §9 on `draftOrders`: one card per problem, with an `update` (or
`delete`) suggestion carrying the corrected order; no card when the orders are fine, and none for a
patient outside the service's population. order-select checks the orders in `selections` (while
they are being chosen); order-sign checks every draft order (when they are signed).
"""

from __future__ import annotations

from typing import Any

from cards.order_cards import order_cards
from cds_service.assessment.pipeline import order_findings
from cds_service.assessment.queries import PATIENT_DATA_PREFETCH, REQUIRED_KEYS
from cds_service.protocol.registry import HookCall, HookService
from hooks.assess_call import assess_call, incomplete_card

ORDER_SELECT_HOOK = "order-select"  # the only one of the two whose context has `selections`


def handle(call: HookCall) -> dict[str, Any]:
    result = assess_call(call)
    if not result.may_concern_service:
        return {"cards": []}
    if not result.in_scope:  # scope unknown: the Conditions were cut
        return {"cards": [incomplete_card(result, orders_checked=True)]}
    selections = call.context.get("selections") if call.service.hook == ORDER_SELECT_HOOK else None
    drafts = call.context.get("draftOrders")
    findings = order_findings(result, drafts, on=call.today, selections=selections)
    cards = order_cards(findings, drafts, record=result.record,
                        on=result.assessment.assessment_date)
    if result.data_gaps:  # an order that passed may conflict with what was not read
        cards.append(incomplete_card(result, orders_checked=True))
    return {"cards": cards}


ORDER_SELECT = HookService(
    id="bcbm-order-select",
    hook=ORDER_SELECT_HOOK,
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

ORDER_SIGN = HookService(
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
