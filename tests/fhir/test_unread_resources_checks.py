"""The safety checks that must see every resource of a prefetch value, however large (CM §10,
the truncation accounting), read the common case in one pass: their answers are those of the
general walk for any Bundle, whatever its entries hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.fhir.client import _matches, short_of_total
from cds_service.fhir.foreign import about_another_patient
from tests.support import fhir_builders as b

PID = "p-own"
ME = f"Patient/{PID}"

SUBJECTS = st.just({"reference": ME}) | st.sampled_from([  # half of them the common case
    {"reference": f"http://ehr.example/fhir/{ME}"},
    {"reference": f" {ME} "},
    {"reference": f"{ME}/_history/2"},
    {"reference": "Patient/p-other"},
    {"reference": "urn:uuid:0000-p"},
    {"reference": "Group/g1"},
    {"display": "no reference"},
    "Patient/p-own",  # not a Reference
    None,
])
# half of them the types the one-pass check must leave to the walk
TYPES = st.sampled_from(["Patient", "Bundle"]) | st.sampled_from([
    "Observation", "Condition", "Procedure", " ", " Bundle", "Patient ", "", None, 7])


@st.composite
def resources(draw: st.DrawFn) -> Any:
    resource: dict[str, Any] = {"resourceType": draw(TYPES), "id": draw(st.sampled_from(
        ["r1", "r2", PID, "p-other", None]))}
    subject = draw(SUBJECTS)
    if subject is not None:
        resource[draw(st.sampled_from(["subject", "subject", "patient"]))] = subject
    if resource["resourceType"] == "Bundle":
        resource["entry"] = [{"resource": b.karnofsky(draw(st.sampled_from([PID, "p-other"])),
                                                      80)}]
    return resource


@st.composite
def entries(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, "entry", {}, {"resource": None}, {"resource": {}}]))
    entry: dict[str, Any] = {"resource": draw(resources())}
    entry["fullUrl"] = draw(st.sampled_from([
        "http://ehr.example/fhir/Observation/r1", "urn:uuid:0000-p", None]))
    if draw(st.booleans()):
        entry["search"] = draw(st.sampled_from([{"mode": "match"}, {"mode": "include"},
                                                {"mode": "outcome"}, "include", None]))
    return entry


def own(resource_id: str) -> dict[str, Any]:
    return {"fullUrl": f"http://ehr.example/fhir/Observation/{resource_id}",
            "resource": {**b.observation(resource_id, PID, "http://loinc.org", "718-7",
                                         "2024-01-01")}}


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly entries about the context patient spelled as the one-pass check reads them, with
    now and then one of anything else among them."""
    mixed = [own(f"o{i}") for i in range(draw(st.integers(0, 5)))]
    for _ in range(draw(st.integers(0, 2))):
        mixed.insert(draw(st.integers(0, len(mixed))), draw(entries()))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": mixed,
                              "total": draw(st.integers(0, 8))}
    if draw(st.integers(0, 9)) == 0:
        bundle["entry"] = draw(st.sampled_from([None, {"resource": b.patient(PID)}, "x"]))
    return bundle


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=bundles(), patient_id=st.sampled_from([PID, ME, "p-other", " p-own ",
                                                      "p own", None]))
def test_the_foreign_check_answers_as_the_walk_for_any_bundle(bundle, patient_id):
    # wrapped in a list, the value goes through the general walk, never the one-pass check
    assert about_another_patient(bundle, patient_id) == about_another_patient([bundle],
                                                                              patient_id)


def test_one_foreign_resource_among_thousands_is_still_found():
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [own(f"o{i}") for i in range(3000)]}
    assert about_another_patient(bundle, PID) == []
    bundle["entry"].insert(1234, {"resource": b.karnofsky("p-other", 30, oid="k-other")})
    assert about_another_patient(bundle, PID) == ["Observation/k-other"]


def _matches_by_definition(entries: list[Any]) -> int:
    return sum(1 for e in entries
               if not (isinstance(e, Mapping) and isinstance(e.get("search"), Mapping)
                       and e["search"].get("mode") in ("include", "outcome")))


@settings(max_examples=300, deadline=None)
@given(bundle=bundles())
def test_the_entries_counted_against_total_are_those_of_the_definition(bundle):
    entries = bundle["entry"] if isinstance(bundle["entry"], list) else []
    assert _matches(entries) == _matches_by_definition(entries)
    cut = short_of_total(bundle)
    short = bundle["total"] > _matches_by_definition(entries)
    assert (cut is not None) == short


TRICKY = {
    "nested bundle spelled as about me": {
        "resourceType": "Bundle", "subject": {"reference": ME},
        "entry": [{"resource": b.karnofsky("p-other", 30, oid="k-other")}]},
    "patient resource spelled as about me": {**b.patient("p-other"), "subject": {"reference": ME}},
    "other patient": b.karnofsky("p-other", 30, oid="k-other"),
    "other patient in `patient`": {"resourceType": "MedicationStatement", "id": "m1",
                                   "patient": {"reference": "Patient/p-other"}},
    "absolute reference to me": {**b.karnofsky(PID, 30, oid="k-abs"),
                                 "subject": {"reference": f"http://ehr.example/fhir/{ME}"}},
    "no subject": {"resourceType": "Medication", "id": "m1"},
    "blank type": {**b.karnofsky("p-other", 30, oid="k-other"), "resourceType": " "},
}


@pytest.mark.parametrize("name", sorted(TRICKY))
@pytest.mark.parametrize("patient_id", [PID, ME])
def test_an_entry_the_one_pass_check_cannot_vouch_for_goes_to_the_walk(name, patient_id):
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [own("o1"), {"resource": TRICKY[name]}, own("o2")]}
    assert about_another_patient(bundle, patient_id) == about_another_patient([bundle],
                                                                              patient_id)
