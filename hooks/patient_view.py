"""patient-view: salvage options when a patient with progressive BCBM is opened."""

from __future__ import annotations

from typing import Any

from cds_service.registry import HookCall, HookService
from hooks.prefetch_templates import PATIENT_DATA_PREFETCH, REQUIRED_KEYS


def handle(call: HookCall) -> dict[str, Any]:
    # Cards are built in issue 5 (cards/); until then the service answers no card.
    return {"cards": []}


SERVICE = HookService(
    id="bcbm-salvage",
    hook="patient-view",
    title="Progressive breast cancer brain metastases: salvage options",
    description=(
        "For a patient whose previously treated breast cancer brain metastases are progressing, "
        "names the clinical situation and the salvage options of Spalek & Mandat (Cancers 2022) "
        "with dose regimens, warnings, Breast GPA and RANO-BM response."
    ),
    handler=handle,
    prefetch=PATIENT_DATA_PREFETCH,
    required_prefetch=REQUIRED_KEYS,
)
