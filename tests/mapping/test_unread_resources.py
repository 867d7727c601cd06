"""Resources the salvage model does not read (a chart's labs, vital signs...) cost little each:
the collector's walk, the LOINC codes read once per Observation and the mappers' lookups by code
are the general readers' answers for any input, and the record is the same with them or
without them, in any order."""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.mapping import codes, collect_resources, map_patient
from cds_service.mapping.collect import MAX_BUNDLE_DEPTH, walk_resources
from cds_service.mapping.context import ResourceIndex, loinc_set
from cds_service.mapping.read import loinc_codes, text
from tests.support import fhir_builders as b
from tests.support import synthetic_patients as sp
from tests.support.hook_requests import full_prefetch

LOINC_URI = "http://loinc.org"
SYSTEMS = st.sampled_from([LOINC_URI, "urn:oid:2.16.840.1.113883.6.1", "http://loinc.org/",
                           " http://loinc.org", "http://snomed.info/sct", "http://example.org",
                           "", None, 7])
CODES = st.sampled_from(["718-7", "89243-0", " 21889-1 ", "97509-4", "", "  ", None, 12])


@st.composite
def codings(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 11))
    if kind == 0:
        return draw(st.sampled_from([None, "coding", 3]))
    coding = {}
    system, code = draw(SYSTEMS), draw(CODES)
    if system is not None:
        coding["system"] = system
    if code is not None:
        coding["code"] = code
    return MappingProxyType(coding) if kind == 1 else coding


CONCEPTS = st.one_of(
    st.builds(lambda cs: {"coding": cs}, st.lists(codings(), max_size=4)),
    st.builds(lambda c: {"coding": c}, codings()),  # a coding where a list belongs
    st.sampled_from([None, "718-7", {}, {"text": "Haemoglobin"}, {"coding": None}]),
    st.builds(lambda cs: MappingProxyType({"coding": cs}), st.lists(codings(), max_size=2)),
)


@settings(max_examples=500, deadline=None)
@given(concept=CONCEPTS)
def test_loinc_set_is_the_set_of_loinc_codes(concept):
    assert loinc_set(concept) == frozenset(loinc_codes(concept))


READ_CODES = [codes.TUMOR_SIZE_CODE, codes.KPS_CODE, codes.ECOG_CODE,
              *sorted(codes.DISEASE_STATUS_CODES), *sorted(codes.RECEPTOR_RESULT_CODES),
              *sorted(codes.RECEPTOR_PERCENT_CODES)]


@st.composite
def observations(draw: st.DrawFn) -> dict[str, Any]:
    loincs = draw(st.lists(st.sampled_from([*READ_CODES, "718-7", "8867-4"]), max_size=3))
    observation: dict[str, Any] = {
        "resourceType": "Observation", "id": f"o{draw(st.integers(0, 10**6))}",
        "code": {"coding": [{"system": draw(st.sampled_from([LOINC_URI, "http://loinc.org/"])),
                             "code": c} for c in loincs]}}
    component = draw(st.sampled_from([None, [], [{"code": {"text": "x"}}], "x", {}]))
    if component is not None:
        observation["component"] = component
    return observation


@settings(max_examples=300, deadline=None)
@given(found=st.lists(observations(), max_size=12),
       asked=st.lists(st.sampled_from([*READ_CODES, "718-7"]), max_size=4, unique=True),
       with_components=st.booleans())
def test_observations_coded_are_those_a_loinc_filter_keeps_in_order(found, asked,
                                                                      with_components):
    index = ResourceIndex(found)
    expected = [o for o in index.of_type("Observation")
                if not loinc_set(o.get("code")).isdisjoint(asked)
                or (with_components and o.get("component"))]
    assert index.observations_coded(*asked, with_components=with_components) == expected


# -- the collector's walk ----------------------------------------------------------------------
def walk_by_definition(value: Any, depth: int = 0) -> list[Any]:
    """The walk one value at a time (what `walk_resources` answers), without its shortcuts;
    `urn:uuid:` Bundles are left out of the generated values (their rewriting is unchanged)."""
    if value is None or depth > MAX_BUNDLE_DEPTH:
        return []
    if isinstance(value, (list, tuple)):
        return [r for item in value for r in walk_by_definition(item, depth)]
    if not isinstance(value, Mapping) or not text(value.get("resourceType")):
        return []
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        entries = entries if isinstance(entries, list) else [] if entries is None else [entries]
        resources = [e.get("resource") for e in entries if isinstance(e, Mapping)]
        return [r for res in resources if isinstance(res, Mapping) and res
                for r in walk_by_definition(res, depth + 1)]
    return [value]


LEAVES = st.sampled_from([
    {"resourceType": "Observation", "id": "a"}, {"resourceType": "Patient", "id": "p1"},
    {"resourceType": " ", "id": "blank"}, {"resourceType": " Bundle", "id": "sp"},
    {"resourceType": 7}, {"id": "untyped"}, MappingProxyType({"resourceType": "Condition"}),
    {}, None, "text",
])


def bundle_of(items: list[Any]) -> dict[str, Any]:
    entries: list[Any] = []
    for i, item in enumerate(items):
        entry = {"resource": item}
        if i % 3 == 1:
            entry["fullUrl"] = f"http://ehr.example/fhir/x/{i}"
        entries.append(entry if i % 5 != 4 else item)  # now and then not an entry at all
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(bundle_of),
    st.lists(inner, max_size=2).map(tuple)), max_leaves=20)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES)
def test_the_walk_finds_what_its_definition_finds(value):
    assert walk_resources(value) == walk_by_definition(value)


def test_the_walk_stops_at_the_nesting_limit():
    value: Any = b.karnofsky("p1", 80)
    for _ in range(MAX_BUNDLE_DEPTH + 2):
        value = bundle_of([value, b.patient("p1")])
    assert walk_resources(value) == walk_by_definition(value) != []


# -- the record --------------------------------------------------------------------------------
def unread(pid: str, i: int) -> dict[str, Any]:
    """Observations no mapper reads: labs and vital signs, a panel of unread components, an
    unread code entered in error; some spelled with an absolute subject reference."""
    kind = i % 5
    if kind == 0:
        res = b.observation(f"hb-{i}", pid, LOINC_URI, "718-7", "2024-01-02",
                            valueQuantity={"value": 12.5, "unit": "g/dL"})
    elif kind == 1:
        res = b.observation(f"bp-{i}", pid, LOINC_URI, "85354-9", "2024-01-03", component=[
            {"code": {"coding": [{"system": LOINC_URI, "code": "8480-6"}]},
             "valueQuantity": {"value": 120, "unit": "mm[Hg]"}}])
    elif kind == 2:
        res = b.observation(f"hr-{i}", pid, "http://snomed.info/sct", "364075005", "2024-01-04",
                            valueQuantity={"value": 70, "unit": "/min"})
    elif kind == 3:
        res = b.observation(f"na-{i}", pid, LOINC_URI, "2951-2", "2024-01-05",
                            status="entered-in-error")
    else:
        res = b.observation(f"wt-{i}", pid, LOINC_URI, "29463-7", "2024-01-06")
        res["subject"] = {"reference": f"http://ehr.example/fhir/Patient/{pid}"}
    return res


@pytest.mark.parametrize("name", sorted(sp.PATIENTS))
def test_unread_observations_change_no_record(name):
    resources = sp.PATIENTS[name]()
    pid = sp.patient_id(name)
    extra = [unread(pid, i) for i in range(40)]
    without = map_patient(full_prefetch(copy.deepcopy(resources)).values(), patient_id=pid)
    mixed = resources + extra
    random.Random(name).shuffle(mixed)
    with_them = map_patient(full_prefetch(mixed).values(), patient_id=pid)
    assert with_them == without


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_unread_observations_in_any_order_and_shape_change_no_record(data):
    name = data.draw(st.sampled_from(sorted(sp.PATIENTS)))
    resources = sp.PATIENTS[name]()
    pid = data.draw(st.sampled_from([sp.patient_id(name), None]))
    extra = [unread(sp.patient_id(name), i) for i in data.draw(
        st.lists(st.integers(0, 200), unique=True, max_size=30))]
    mixed = data.draw(st.permutations(resources + extra))
    shape = data.draw(st.sampled_from(["list", "collection", "searchsets"]))
    value: Any = {"list": mixed, "collection": b.collection(mixed),
                  "searchsets": list(full_prefetch(mixed).values())}[shape]
    assert map_patient(value, patient_id=pid) == map_patient(resources, patient_id=pid)
    assert len(collect_resources(value)) == len(resources) + len(extra)
