"""CDS Hooks services: patient-view (`patient_view`) and the two order hooks (`orders`), each a
`SERVICE` record (discovery entry, prefetch templates, handler). `load_services()` is the
registry's single source."""

from __future__ import annotations

from cds_service.protocol.registry import HookService
from hooks import orders, patient_view


def load_services() -> tuple[HookService, ...]:
    return (patient_view.SERVICE, orders.ORDER_SELECT, orders.ORDER_SIGN)
