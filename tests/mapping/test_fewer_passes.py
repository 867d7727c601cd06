"""The passes over every resource after the parse (the collector's de-duplication, `select`,
the index and its table of LOINC codes) read a resource's type, id, subject and codes inline
for the usual shapes: for any input their answers must be those of the general readers."""

from __future__ import annotations

from collections import defaultdict
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.mapping.collect import _dedupe
from cds_service.mapping.context import (
    Notes,
    ResourceIndex,
    loinc_codes_read,
    loinc_set,
    subject_key,
)
from cds_service.mapping.read import last_updated, loinc_codes, reference_of, text
from cds_service.mapping.selection import NOT_PATIENT_DATA, select
from tests.mapping.test_unread_resources import CONCEPTS


class Text(str):
    """A str subclass: the readers take it through text(), not the exact-str path."""


NAMES = st.sampled_from(["Observation", " Observation ", "Patient", "Condition", "Bundle",
                         "OperationOutcome", "", "  ", None, 7, ["Observation"],
                         Text("Observation"), Text(" Patient")])
IDS = st.sampled_from(["o1", " o1", "o1 ", "p1", "", " ", None, 3, Text("o1"), Text("p1 ")])
SUBJECTS = st.sampled_from([None, "x", {}, {"reference": "Patient/p1"}, {"reference": "Patient/p2"},
                            {"reference": " Patient/p1"}, {"reference": 5},
                            {"reference": "http://ehr/fhir/Patient/p1"},
                            MappingProxyType({"reference": "Patient/p1"})])
UPDATED = st.sampled_from([None, "2024-01-01T00:00:00Z", "2025-06-01T00:00:00+02:00",
                           "2024-01-01", "not a date", 7])


@st.composite
def resources(draw: st.DrawFn, hashable_type: bool = False) -> Any:
    resource: dict[str, Any] = {}
    name = draw(NAMES)
    if hashable_type and type(name) is list:
        name = "Observation"
    for field, value in (("resourceType", name), ("id", draw(IDS)),
                         ("subject", draw(SUBJECTS)), ("patient", draw(SUBJECTS))):
        if value is not None:
            resource[field] = value
    updated = draw(UPDATED)
    if updated is not None:
        resource["meta"] = {"lastUpdated": updated}
    if draw(st.booleans()):
        resource["code"] = draw(CONCEPTS)
    if draw(st.integers(0, 3)) == 0:
        resource["component"] = draw(st.sampled_from([[], [{"code": {"text": "x"}}], "x"]))
    return MappingProxyType(resource) if draw(st.integers(0, 7)) == 0 else resource


def dedupe_by_definition(found: list[Any]) -> list[dict[str, Any]]:
    """The de-duplication as the module docstring defines it, through the general readers."""
    kept: dict[tuple[str, str], int] = {}
    out: list[dict[str, Any]] = []
    for resource in (r if type(r) is dict else dict(r) for r in found):
        rid = text(resource.get("id"))
        if rid is None:
            out.append(resource)
            continue
        key = (str(resource.get("resourceType")), rid)
        if key not in kept:
            kept[key] = len(out)
            out.append(resource)
            continue
        newer, older = last_updated(resource), last_updated(out[kept[key]])
        if newer is not None and (older is None or newer > older):
            out[kept[key]] = resource
    return out


@settings(max_examples=400, deadline=None)
@given(found=st.lists(resources(), max_size=12))
def test_the_deduplication_keeps_what_its_definition_keeps(found):
    assert _dedupe(found) == dedupe_by_definition(found)


@settings(max_examples=400, deadline=None)
@given(found=st.lists(resources(), max_size=12))
def test_the_index_holds_what_the_general_readers_find(found):
    by_type: dict[str, list[Any]] = defaultdict(list)
    by_ref: dict[str, Any] = {}
    for resource in found:
        rtype = text(resource.get("resourceType"))
        if rtype is None:
            continue
        by_type[rtype].append(resource)
        if text(resource.get("id")):
            by_ref.setdefault(reference_of(resource), resource)
    index = ResourceIndex(found)
    assert dict(index.by_type) == dict(by_type)
    assert index.by_ref.keys() == by_ref.keys()
    assert all(index.by_ref[k] is v for k, v in by_ref.items())  # the first one, not an equal one


@settings(max_examples=500, deadline=None)
@given(concept=CONCEPTS)
def test_the_codes_read_without_the_set_are_the_loinc_codes(concept):
    assert set(loinc_codes_read(concept)) == frozenset(loinc_codes(concept)) == loinc_set(concept)


@settings(max_examples=400, deadline=None)
@given(found=st.lists(resources(), max_size=12),
       asked=st.lists(st.sampled_from(["718-7", "89243-0", "21889-1", "97509-4"]), max_size=3),
       with_components=st.booleans())
def test_observations_coded_are_a_loinc_filter_for_any_code(found, asked, with_components):
    index = ResourceIndex(found)
    expected = [o for o in index.of_type("Observation")
                if not loinc_set(o.get("code")).isdisjoint(asked)
                or (with_components and o.get("component"))]
    assert index.observations_coded(*asked, with_components=with_components) == expected


def select_by_definition(found: list[Any], me: str) -> list[Any]:
    """What `select` keeps given a patient id, through subject_key alone (no fast path)."""
    kept = []
    for resource in found:
        rtype = resource.get("resourceType")
        if rtype in NOT_PATIENT_DATA:
            continue
        if rtype == "Patient" and reference_of(resource) != me:
            continue
        subject = subject_key(resource)
        if not (subject and subject.startswith("Patient/") and subject != me):
            kept.append(resource)
    return kept


@settings(max_examples=400, deadline=None)
@given(found=st.lists(resources(hashable_type=True), max_size=12),
       patient_id=st.sampled_from(["p1", "Patient/p1", " p1 ", "p1?x", "a/b"]))
def test_select_keeps_what_the_full_reading_keeps(found, patient_id):
    kept, _ = select(found, patient_id, Notes())
    me = f"Patient/{patient_id.strip().removeprefix('Patient/')}"
    assert kept == select_by_definition(found, me)
