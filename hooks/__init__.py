"""CDS Hooks services, one module per service: each declares its `SERVICE` (discovery entry,
prefetch templates, handler). `load_services()` is the registry's single source."""

from __future__ import annotations

from cds_service.registry import HookService


def load_services() -> tuple[HookService, ...]:
    from hooks import order_select, order_sign, patient_view

    return (patient_view.SERVICE, order_select.SERVICE, order_sign.SERVICE)
