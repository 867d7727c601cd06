"""The readers' fast paths (sixth performance round, docs/performance.md): a date with a day and no
time read by `date.fromisoformat`, a "Type/id" reference taken as its own key, `objs` without the
call to `items`. For any input their answers must be those of the general way."""

from __future__ import annotations

from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.mapping import codes
from cds_service.mapping.context import Notes
from cds_service.mapping.observations import (
    _has_receptor_component,
    _is_receptor,
    _receptor_result_list,
)
from cds_service.mapping.read import (
    EMPTY,
    FhirDate,
    _parse_date,
    codings,
    concept_words,
    items,
    key_of_path,
    loinc_codes,
    number,
    obj,
    objs,
    parse_date,
    ref_key,
    status_code,
    text,
)
from tests.mapping.test_unread_resources import CONCEPTS, LOINC_URI

CONCEPTS_WITH_TEXT = st.one_of(
    CONCEPTS,
    st.builds(lambda c, t, d: {**c, "text": t, "coding": [{**k, "display": d} for k in c["coding"]]},
              st.builds(lambda cs: {"coding": cs}, st.lists(
                  st.fixed_dictionaries({"code": st.sampled_from(["A", " b ", "", None, 5])}),
                  max_size=3)),
              st.sampled_from(["Text", " ", None, 3]), st.sampled_from(["Shown", "", None, 2])),
)
RECEPTOR_CONCEPTS = st.builds(
    lambda cs: {"coding": [{"system": s, "code": c} for s, c in cs]},
    st.lists(st.tuples(st.sampled_from([LOINC_URI, "http://loinc.org/", "http://snomed.info/sct"]),
                       st.sampled_from([*sorted(codes.RECEPTOR_RESULT_CODES),
                                        *sorted(codes.RECEPTOR_PERCENT_CODES), "21889-1",
                                        "33728-7"])), max_size=2))

DATE_CHARS = st.sampled_from(list("0123456789-T:Z+W ./") + ["٢", "５", "\n"])
DATES = st.one_of(
    st.text(DATE_CHARS, max_size=26),
    st.builds(lambda d: d.isoformat(), st.dates()),
    st.sampled_from(["2023-05-15", "2023-02-30", "2023-W01-1", "20230515", "0000-01-01",
                     "2023-13-01", "2023-05-1５", "٢٠٢٣-05-15", " 2023-05-15 ", "2023-05-15\n",
                     "2023-05", "2023", "2023-05-15T10:00:00Z", "2023-05-15Tjunk"]),
    st.sampled_from([None, 7, 2.5, [], {}]),
)


def general_parse_date(value: Any) -> FhirDate | None:
    """`parse_date` as it was before its fast path: the pattern for every value."""
    raw = text(value)
    return None if raw is None else _parse_date(raw)


@settings(max_examples=2000, deadline=None)
@given(value=DATES)
def test_parse_date_is_the_general_reading(value):
    assert parse_date(value) == general_parse_date(value)


def test_a_day_is_read_as_the_pattern_reads_it():
    assert parse_date("2023-05-15") == FhirDate(date(2023, 5, 15), "day", "2023-05-15")
    assert parse_date("2023-02-30") is None  # no such day, either way
    assert parse_date("2023-W01-1") is None  # an ISO week date is not a FHIR date
    assert parse_date("2023-05-15T10:00:00+02:00").day == date(2023, 5, 15)
    assert datetime.fromisoformat("2023-05-15T10:00:00+02:00")  # (the general path's check)


def general_ref_key(reference: Any) -> str | None:
    """`ref_key` as it was before its fast path."""
    value = text(reference.get("reference")) if isinstance(reference, (dict, MappingProxyType)) \
        else text(reference)
    if value is None:
        return None
    if value.startswith("#") or value.startswith("urn:"):
        return value
    return key_of_path(value)  # every path through the general reading


REFERENCE_TEXT = st.one_of(
    st.lists(st.sampled_from(list("ab/?#:_ ") + ["urn:", "_history", "Patient", "http:"]),
             max_size=8).map("".join),
    st.sampled_from(["Patient/p1", " Patient/p1 ", "Patient/", "/p1", "Patient//p1", "a/b/c/",
                     "http://ehr/fhir/Procedure/p?x=1", "Condition/x/_history/2", "#vol",
                     "urn:uuid:1", "Patient/p1?", "?/x", "/", "//"]),
    st.sampled_from([None, 5, [], {}]),
)
REFERENCES = st.one_of(
    REFERENCE_TEXT,
    st.builds(lambda r: {"reference": r}, REFERENCE_TEXT),
    st.builds(lambda r: MappingProxyType({"reference": r}), REFERENCE_TEXT),
)


@settings(max_examples=2000, deadline=None)
@given(reference=REFERENCES)
def test_ref_key_is_the_general_reading(reference):
    assert ref_key(reference) == general_ref_key(reference)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(st.none(), st.integers(), st.text(max_size=2),
                       st.lists(st.sampled_from([None, 1, "x", {}, {"a": 1},
                                                 MappingProxyType({"b": 2}), []]), max_size=4),
                       st.sampled_from([{}, {"a": 1}, MappingProxyType({"c": 3})])))
def test_objs_is_items_filtered(value):
    assert objs(value) == [v for v in items(value) if isinstance(v, (dict, MappingProxyType))]
    assert obj(value) is (value if isinstance(value, (dict, MappingProxyType)) else EMPTY)


@settings(max_examples=1000, deadline=None)
@given(concept=CONCEPTS_WITH_TEXT)
def test_status_code_and_concept_words_read_as_codings(concept):
    """Both read a concept's codings without building `Code`s: the answers `codings()` gives."""
    found = codings(concept)
    if not isinstance(concept, str):  # a string is a code element, read as itself
        assert status_code(concept) == (found[0].code.lower() if found else None)
    parts = [text(obj(concept).get("text")), *(c.display for c in found)]
    assert concept_words(concept) == " ".join(p for p in parts if p)


@st.composite
def receptor_observations(draw: st.DrawFn) -> dict[str, Any]:
    observation: dict[str, Any] = {"resourceType": "Observation", "id": "o1",
                                   "status": draw(st.sampled_from(["final", "cancelled"])),
                                   "code": draw(RECEPTOR_CONCEPTS)}
    component = draw(st.one_of(
        st.lists(st.builds(lambda c, v: {"code": c, **v}, RECEPTOR_CONCEPTS,
                           st.sampled_from([{}, {"valueString": "positive"}])), max_size=3),
        st.sampled_from([None, [], "x", {}, [None], {"code": {"coding": [
            {"system": LOINC_URI, "code": "48676-1"}]}}])))
    if component is not None:
        observation["component"] = component
    return observation


@settings(max_examples=1000, deadline=None)
@given(observation=receptor_observations())
def test_an_observation_passed_over_has_no_receptor_result(observation):
    """`map_receptors` reads only the Observations coded as a receptor result or with a component
    that is one: any other would give no result and no note."""
    notes = Notes()
    results = _receptor_result_list(observation, notes)
    read = _is_receptor(loinc_codes(observation["code"])) or _has_receptor_component(observation)
    if not read:
        assert results == [] and notes.skipped == ()



# -- numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 10**400, -(10**400),
                                   True, False, "12", None, [12]])
def test_a_number_nobody_measured_is_no_number(value: object) -> None:
    assert number(value) is None


@given(st.one_of(st.integers(-(10**300), 10**300), st.floats(allow_nan=False,
                                                               allow_infinity=False)))
def test_a_finite_number_is_read_as_its_float(value: float) -> None:
    assert number(value) == float(value)
