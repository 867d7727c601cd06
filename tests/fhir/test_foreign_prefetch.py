"""Prefetch about another patient than the context's (clinical-model §10), without a FHIR server:
the key is treated as absent — named as missing when optional, 412 when required.

CDS Hooks 2.0: "It is the CDS Service's responsibility to check prefetched data against its
template to determine what requests were satisfied (if any) ... If the CDS Service is unable to
obtain required data ... the service SHALL respond with an HTTP 412 Precondition Failed".
"""

from __future__ import annotations

import time

import pytest

from cds_service.config import ServiceConfig
from cds_service.errors import PreconditionFailed
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.foreign import about_another_patient
from cds_service.fhir.gather import gather
from hooks import patient_view
from tests.support import fhir_builders as b
from tests.support.hook_requests import full_prefetch, hook_request, searchset

PID = "p-own"


def gathered(prefetch: dict):
    config = ServiceConfig(database_url="sqlite://", auth_required=False)
    allowlist = FhirAllowlist.from_config(config.fhir_allowlist,
                                          config.fhir_allow_insecure_loopback)
    return gather(patient_view.SERVICE, hook_request(PID, prefetch=prefetch), config, allowlist,
                  time.monotonic() + 5)


def own_data() -> list[b.Resource]:
    return [b.patient(PID), b.breast_cancer(PID), b.karnofsky(PID, 80)]


def test_own_prefetch_is_used_as_sent() -> None:
    data = gathered(full_prefetch(own_data()))
    assert data.missing == () and data.notes == ()
    assert data.values["observations"]["entry"]


def test_optional_key_about_another_patient_is_discarded_and_named() -> None:
    prefetch = full_prefetch(own_data())
    prefetch["observations"] = searchset([b.karnofsky(PID, 90),
                                          b.karnofsky("p-other", 30, oid="k-other")])
    data = gathered(prefetch)
    assert data.values["observations"] is None  # none of the key is trusted, own KPS included
    assert data.notes == ("observations: the prefetched data held resources about another "
                          "patient (Observation/k-other): discarded, the key treated as not "
                          "prefetched",)
    assert data.missing == ("observations: not prefetched and the request has no fhirServer",)


@pytest.mark.parametrize("key, value", [
    ("patient", b.patient("p-other")),
    ("conditions", searchset([b.breast_cancer("p-other")])),
])
def test_required_key_about_another_patient_is_412(key: str, value: dict) -> None:
    prefetch = full_prefetch(own_data())
    prefetch[key] = value
    with pytest.raises(PreconditionFailed, match=key):
        gathered(prefetch)


def test_references_in_any_form_are_compared_by_patient_id() -> None:
    absolute = b.karnofsky(PID, 80)
    absolute["subject"] = {"reference": f"http://ehr.example/fhir/Patient/{PID}"}
    assert about_another_patient(searchset([absolute]), PID) == []
    assert about_another_patient(searchset([absolute]), f"Patient/{PID}") == []
    no_subject = {"resourceType": "Medication", "id": "m1"}
    assert about_another_patient(no_subject, PID) == []
    assert about_another_patient(b.patient("p-other"), PID) == ["Patient/p-other"]
