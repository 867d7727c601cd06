"""Synthetic demo patients for any FHIR R4 server: `salvage-cds demo load` and `demo request`.

The patients are transaction Bundles in `cds_service/ops/demo/patients/` (package data, their one
home: the test suite reads them from here too; `python -m tests.support.synthetic_patients` writes them).
Every resource is PUT at its own id, so loading twice leaves the server as loading once did.
Names and birth dates are invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

Resource = dict[str, Any]


@dataclass(frozen=True)
class DemoPatient:
    name: str  # the bundle's file name without .json
    patient_id: str
    situation: str  # the situation code the model assigns (cds_service.model.assessment)
    in_scope: bool  # False: the service answers {"cards": []} on patient-view
    summary: str


CATALOG: tuple[DemoPatient, ...] = (
    DemoPatient("progressive-after-srs-in-field", "syn-srs-in-field",
                "local-progression-after-srs-in-field", True,
                "HER2+, lesion grows inside its SRS volume"),
    DemoPatient("progressive-after-srs-out-of-field", "syn-srs-out-of-field",
                "local-progression-after-srs-out-of-field", True,
                "luminal A, new lesion outside the SRS volume"),
    DemoPatient("progressive-after-wbrt-limited", "syn-after-wbrt",
                "local-progression-after-wbrt", True,
                "luminal A on letrozole, two lesions grow after WBRT"),
    DemoPatient("cavity-recurrence-after-surgery", "syn-cavity",
                "local-progression-after-surgery", True,
                "luminal A, recurrence in the cavity after surgery alone"),
    DemoPatient("disseminated-after-wbrt", "syn-disseminated-wbrt",
                "disseminated-progression-after-wbrt", True,
                "triple-negative, five lesions grow after WBRT"),
    DemoPatient("disseminated-after-srs", "syn-disseminated-srs",
                "disseminated-progression-after-local", True,
                "luminal B, five new lesions after SRS"),
    DemoPatient("leptomeningeal-after-srs", "syn-leptomeningeal",
                "leptomeningeal-disease", True,
                "leptomeningeal disease after SRS, KPS 60"),
    DemoPatient("lung-cancer-with-brain-metastases", "syn-lung", "not-applicable", False,
                "out of scope: lung cancer primary"),
    DemoPatient("breast-cancer-without-brain-metastases", "syn-no-brain-mets", "not-applicable",
                False, "out of scope: no brain metastases"),
    DemoPatient("untreated-bcbm", "syn-untreated", "not-salvage", False,
                "out of scope: brain metastases never treated locally"),
    DemoPatient("stable-bcbm-after-srs", "syn-stable", "no-progression", False,
                "out of scope: stable after SRS"),
)


def bundle(name: str) -> Resource:
    """The transaction Bundle of one demo patient."""
    text = resources.files(__package__).joinpath("patients", f"{name}.json").read_text("utf-8")
    data: Resource = json.loads(text)
    return data


def bundle_names() -> list[str]:
    """The names of the bundles shipped with the package."""
    folder = resources.files(__package__).joinpath("patients")
    return sorted(entry.name.removesuffix(".json") for entry in folder.iterdir()
                  if entry.name.endswith(".json"))


def find(name_or_id: str) -> DemoPatient | None:
    return next((p for p in CATALOG if name_or_id in (p.name, p.patient_id)), None)
