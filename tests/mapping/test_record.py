"""map_patient as a whole: demographics, which patient, the missing list, never crashing."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.mapping import map_draft_orders, map_patient
from cds_service.model.patient import PatientRecord
from tests.support import fhir_builders as b
from tests.support import synthetic_patients as sp
from tests.support.variants import PID, edited, in_scope


@pytest.mark.parametrize("birth_date, expected, note", [
    ("1970-05-01", date(1970, 5, 1), None),
    ("1970-05", None, "birthDate '1970-05' has no day: age not computed"),
    ("1970", None, "birthDate '1970' has no day: age not computed"),
    ("1970-02-30", None, "birthDate '1970-02-30' is not a FHIR date"),
    (None, None, None),
])
def test_birth_date_precision_is_kept_honest(birth_date, expected, note):
    record = map_patient([b.patient(PID, birth_date=birth_date)])
    assert record.birth_date == expected
    assert ("birth date" in record.missing) is (expected is None)
    assert [s.reason for s in record.skipped] == ([note] if note else [])
    if expected:
        assert record.age_on(date(2024, 4, 30)) == 53


def test_gender_and_patient_id():
    record = map_patient([b.patient(PID, gender="female")])
    assert (record.patient_id, record.gender) == (PID, "female")
    assert map_patient([], patient_id="Patient/x").patient_id == "x"


def test_resources_of_another_patient_are_skipped():
    other = b.karnofsky("someone-else", 40, oid="k-other")
    record = map_patient([b.patient(PID), b.karnofsky(PID, 90), other, b.patient("someone-else")],
                         patient_id=PID)
    assert record.kps.value == 90
    assert {(s.reference, s.reason) for s in record.skipped} == {
        ("Observation/k-other", "about another patient (Patient/someone-else, not Patient/p1)"),
        ("Patient/someone-else",
         "about another patient (Patient/someone-else is not Patient/p1)")}


def test_without_patient_id_the_single_patient_decides():
    record = map_patient([b.patient(PID), b.karnofsky("x", 40)])
    assert record.patient_id == PID and record.kps is None


def test_several_patients_without_patient_id_are_not_guessed():
    record = map_patient([b.patient("a"), b.patient("b")])
    assert record.patient_id is None and record.birth_date is None
    assert len(record.skipped) == 2


def test_missing_names_every_needed_field():
    record = map_patient(in_scope())
    assert record.missing == ("HER2 status", "ER status", "PR status",
                              "Karnofsky or ECOG performance status",
                              "brain lesion measurements")
    complete = map_patient(sp.progressive_after_srs_in_field())
    assert complete.missing == () and complete.skipped == ()


def test_record_is_immutable_and_typed():
    record = map_patient(sp.progressive_after_wbrt_limited())
    assert isinstance(record, PatientRecord)
    with pytest.raises(AttributeError):
        record.gender = "x"  # type: ignore[misc]
    assert isinstance(record.lesions, tuple) and isinstance(record.treatments, tuple)


@pytest.mark.parametrize("name", sorted(sp.PATIENTS))
def test_synthetic_patients_map_the_same_from_resources_and_from_their_bundle(name):
    assert map_patient(sp.PATIENTS[name]()) == map_patient(sp.load_bundle(name))


def test_odd_values_are_recorded_not_fatal():
    odd = b.karnofsky(PID, 80)
    odd["code"] = {"coding": [{"system": b.LOINC, "code": "89243-0"}]}
    odd["valueQuantity"] = {"value": "eighty"}
    odd.pop("valueInteger")
    weird = b.tumor_size(PID, b.tumor(PID, "L1"), "2024-01-01", 10)
    weird["component"] = [{"code": "33728-7", "valueQuantity": [1, 2]}]
    record = map_patient(in_scope(b.tumor(PID, "L1"), odd, weird))
    assert record.kps is None and len(record.skipped) == 2


def test_a_reader_that_raises_is_caught_and_recorded(monkeypatch):
    from cds_service.mapping import observations

    def broken(*_args):
        raise ValueError("unexpected shape")

    monkeypatch.setattr(observations, "_score", broken)
    record = map_patient([b.patient(PID), b.karnofsky(PID, 80, oid="k")])
    assert record.kps is None
    assert ("Observation/k", "could not be read (ValueError: unexpected shape)") in {
        (s.reference, s.reason) for s in record.skipped}


def test_validate_mode_records_resources_that_are_not_valid_r4b():
    invalid = b.karnofsky(PID, 80)
    invalid["subject"] = "Patient/p1"  # a string where a Reference belongs
    valid = b.ecog(PID, 1)
    record = map_patient([b.patient(PID), invalid, valid], validate=True)
    assert record.kps.value == 80 and record.ecog.value == 1  # still mapped
    assert [s.reference for s in record.skipped] == [f"Observation/{invalid['id']}"]
    assert "not valid FHIR R4B" in record.skipped[0].reason
    assert map_patient(sp.progressive_after_srs_in_field(), validate=True).skipped == ()


# --- Property: whatever the JSON, the mapping answers -------------------------------------------
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=False),
                      st.text(max_size=8), st.sampled_from(["mm", "cm", "2024-01-01", "#x",
                                                            "Patient/p1", "active"]))
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
BASE = sp.progressive_after_srs_in_field()


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_corruption_of_a_resource_never_crashes(data):
    resources = copy.deepcopy(BASE)
    index = data.draw(st.integers(0, len(resources) - 1))
    paths = [p for p in _paths(resources[index]) if p and p[0] not in ("resourceType",)]
    path = data.draw(st.sampled_from(paths))
    target = resources[index]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(JSON)
    record = map_patient(resources)
    assert isinstance(record, PatientRecord)
    map_draft_orders(resources, context_resources=resources)


def test_mapping_and_model_never_import_flask_or_requests():
    code = ("import sys, json; import cds_service.mapping, cds_service.model.patient, "
            "cds_service.model.receptors, cds_service.model.classify; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'requests', 'werkzeug', 'urllib3'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_edited_helper_keeps_the_builder_untouched():
    original = b.karnofsky(PID, 80)
    edited(original, valueInteger=10)
    assert original["valueInteger"] == 80
