"""The demo bundles of the package (cds_service/ops/demo/patients/) are exactly what
tests/support/synthetic_patients.py builds."""

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.support import fhir_builders as b
from tests.support.synthetic_patients import ALL_PATIENTS, bundle_path


@pytest.mark.parametrize("name", sorted(ALL_PATIENTS))
def test_bundle_file_matches_builder(name: str) -> None:
    on_disk = json.loads(bundle_path(name).read_text("utf-8"))
    assert on_disk == b.transaction(ALL_PATIENTS[name]()), (
        f"{bundle_path(name)} is stale: run `python -m tests.support.synthetic_patients`"
    )


@pytest.mark.parametrize("name", sorted(ALL_PATIENTS))
def test_bundle_is_valid_fhir_r4(name: str) -> None:
    bundle = Bundle.model_validate(json.loads(bundle_path(name).read_text("utf-8")))
    assert bundle.type == "transaction"
    assert sum(1 for e in bundle.entry if e.resource.__resource_type__ == "Patient") == 1


def test_resource_ids_are_unique_across_patients() -> None:
    """All the synthetic patients can be loaded into one FHIR server without overwriting."""
    seen: dict[str, str] = {}
    for name, build in ALL_PATIENTS.items():
        for resource in build():
            key = f"{resource['resourceType']}/{resource['id']}"
            assert key not in seen, f"{key} in both {seen.get(key)} and {name}"
            seen[key] = name
