"""The example requests of the README walkthrough (docs/examples/), built from the synthetic patients.

`python -m tests.support.readme_examples` rewrites them; `test_readme_examples.py` checks that the files
are current and that the service answers them as the README says.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import fhir_builders as b
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, patient_id, resource

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PATIENT_VIEW = "progressive-after-srs-in-field"
ORDER_SIGN = "progressive-after-wbrt-limited"


def patient_view_example() -> dict:
    body = hook_request(patient_id(PATIENT_VIEW), prefetch=full_prefetch(PATIENTS[PATIENT_VIEW]()))
    body["hookInstance"] = "3f0f6f0e-8c1d-4a53-9d53-0e6b7a0c2b11"
    return body


def order_sign_example() -> dict:
    pid = patient_id(ORDER_SIGN)
    draft = b.rt_prescription(pid, "wbrt-again", resource(ORDER_SIGN, "vol-wbrt"), 3000, 10)
    body = hook_request(pid, "order-sign", prefetch=full_prefetch(PATIENTS[ORDER_SIGN]()),
                        draft_orders=b.draft_orders([draft]))
    body["hookInstance"] = "8d2a4c55-1f6e-4b7e-a7f4-5b1c9e2d3a44"
    return body


FILES = {
    "patient-view-request.json": patient_view_example,
    "order-sign-request.json": order_sign_example,
}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, build in FILES.items():
        (EXAMPLES / name).write_text(render(build), "utf-8")
