"""Brain lesions and their longest-diameter series: units, brain location, grouping, dates."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from tests.support import fhir_builders as b
from tests.support.variants import PID, coded, edited, in_scope, period_effective

LESION = b.tumor(PID, "L1")


def series(record, lesion_id="L1"):
    lesion = next(lesion for lesion in record.lesions if lesion.id == lesion_id)
    return [(m.date.isoformat(), m.longest_diameter_mm) for m in lesion.measurements]


def with_unit(size: b.Resource, code: str | None, unit: str | None) -> b.Resource:
    out = edited(size)
    quantity = {"value": out["component"][0]["valueQuantity"]["value"]}
    if code is not None:
        quantity["code"] = code
        quantity["system"] = b.UCUM
    if unit is not None:
        quantity["unit"] = unit
    out["component"][0]["valueQuantity"] = quantity
    return out


@pytest.mark.parametrize("value, code, unit, expected_mm", [
    (12, "mm", "mm", 12.0),
    (1.2, "cm", "cm", 12.0),
    (1.1, "cm", "centimeters", 11.0),  # 1.1 cm is exactly 11 mm, not 11.000000000000002
    (2.05, "cm", None, 20.5),
    (8, None, "mm", 8.0),  # unit text only
    (8, None, "millimeter", 8.0),
    (8, None, "Millimetres", 8.0),
    (1.5, None, "centimeter", 15.0),
    (0, "mm", None, 0.0),  # a lesion that disappeared
])
def test_accepted_units(value, code, unit, expected_mm):
    size = with_unit(b.tumor_size(PID, LESION, "2024-01-10", value), code, unit)
    record = map_patient(in_scope(LESION, size))
    assert series(record) == [("2024-01-10", expected_mm)]
    assert record.lesions[0].measurements[0].source == f"Observation/{size['id']}"


@pytest.mark.parametrize("code, unit, reason", [
    ("[in_i]", "in", "unit '[in_i]' is not mm or cm"),
    (None, "in", "unit 'in' is not mm or cm"),
    ("m", "m", "unit 'm' is not mm or cm"),
    (None, None, "longest dimension has no unit (mm or cm expected)"),
])
def test_unknown_units_are_rejected_with_the_unit(code, unit, reason):
    size = with_unit(b.tumor_size(PID, LESION, "2024-01-10", 1), code, unit)
    record = map_patient(in_scope(LESION, size))
    assert series(record) == []
    assert [(s.reference, s.reason) for s in record.skipped] == [(f"Observation/{size['id']}",
                                                                  reason)]
    assert "brain lesion measurements" in record.missing


def test_value_quantity_on_the_observation_is_a_fallback():
    size = edited(b.tumor_size(PID, LESION, "2024-01-10", 9), component=None,
                  valueQuantity={"value": 0.9, "code": "cm"})
    assert series(map_patient(in_scope(LESION, size))) == [("2024-01-10", 9.0)]


def test_no_longest_dimension_is_skipped():
    size = b.tumor_size(PID, LESION, "2024-01-10", 9)
    size["component"][0]["code"] = coded(b.LOINC, "33729-5")  # another dimension only
    record = map_patient(in_scope(LESION, size))
    assert series(record) == [] and "33728-7" in record.skipped[0].reason


def test_series_in_date_order_and_first_seen():
    sizes = [b.tumor_size(PID, LESION, d, v) for d, v in
             (("2024-03-01", 14), ("2023-01-01", 10), ("2023-06-01", 1.2))]
    for size in sizes[2:]:
        size["component"][0]["valueQuantity"].update(code="cm", unit="cm")
    record = map_patient(in_scope(LESION, *sizes))
    assert series(record) == [("2023-01-01", 10.0), ("2023-06-01", 12.0), ("2024-03-01", 14.0)]
    assert record.lesions[0].first_seen.isoformat() == "2023-01-01"
    assert record.lesions[0].body_structure_ids == ("BodyStructure/tumor-L1",)
    assert record.lesions[0].identifiers == ("L1",)


def test_period_and_datetime_effective():
    by_period = period_effective(b.tumor_size(PID, LESION, "x", 10, oid="s1"), "2024-01-01",
                                 "2024-01-02")
    by_time = b.tumor_size(PID, LESION, "2024-02-01T23:30:00-05:00", 11, oid="s2")
    assert series(map_patient(in_scope(LESION, by_period, by_time))) == [
        ("2024-01-02", 10.0), ("2024-02-01", 11.0)]  # the day as written, not moved to UTC


@pytest.mark.parametrize("effective", ["2024-01", "2024", "not a date", None])
def test_a_measurement_needs_a_day(effective):
    size = edited(b.tumor_size(PID, LESION, "2024-01-01", 10), effectiveDateTime=effective)
    record = map_patient(in_scope(LESION, size))
    assert series(record) == [] and "no effective date with a day" in record.skipped[0].reason


def test_lesions_are_grouped_by_tumor_identifier_across_body_structures():
    again = b.tumor(PID, "L1", bid="tumor-L1-other-system")
    two = b.tumor(PID, "L2")
    record = map_patient(in_scope(LESION, again, two,
                                  b.tumor_size(PID, LESION, "2024-01-01", 10),
                                  b.tumor_size(PID, again, "2024-02-01", 12),
                                  b.tumor_size(PID, two, "2024-02-01", 7)))
    assert [lesion.id for lesion in record.lesions] == ["L1", "L2"]
    assert series(record) == [("2024-01-01", 10.0), ("2024-02-01", 12.0)]
    assert record.lesions[0].body_structure_ids == ("BodyStructure/tumor-L1",
                                                    "BodyStructure/tumor-L1-other-system")


def test_tumor_without_identifier_is_keyed_by_its_id():
    anonymous = edited(b.tumor(PID, "x", bid="bs-7"), identifier=None)
    record = map_patient(in_scope(anonymous, b.tumor_size(PID, anonymous, "2024-01-01", 10)))
    assert [lesion.id for lesion in record.lesions] == ["bs-7"]


def test_tumor_without_measurements_is_still_a_lesion():
    record = map_patient(in_scope(LESION, b.tumor(PID, "L2")))
    assert [(lesion.id, lesion.measurements, lesion.first_seen) for lesion in record.lesions] == [
        ("L1", (), None), ("L2", (), None)]
    assert "brain lesion measurements" in record.missing


@pytest.mark.parametrize("code", ["12738006", "15926001", "5366008", "83678007", "113305005",
                                  "83251001", "16630005", "78277001", "31065004", "49557009"])
def test_brain_parts_are_brain(code):
    tumor = b.tumor(PID, "L1", location_code=code)
    record = map_patient(in_scope(tumor, b.tumor_size(PID, tumor, "2024-01-01", 10)))
    assert series(record) == [("2024-01-01", 10.0)]


def test_tumors_outside_the_brain_are_not_lesions():
    breast = b.tumor(PID, "B1", location_code="80248007", location_display="Left breast")
    record = map_patient(in_scope(breast, b.tumor_size(PID, breast, "2024-01-01", 25)))
    assert record.lesions == () and record.skipped == ()


def test_tumor_related_to_the_brain_metastasis_condition_is_in_the_brain():
    thalamus = b.tumor(PID, "T1", location_code="42695009")  # a part the table does not list
    thalamus["extension"] = [{"url": b.MCODE + "mcode-related-condition",
                              "valueReference": {"reference": "Condition/brain-mets"}}]
    record = map_patient(in_scope(thalamus, b.tumor_size(PID, thalamus, "2024-01-01", 10)))
    assert series(record, "T1") == [("2024-01-01", 10.0)]


def test_size_measured_on_a_specimen_is_not_a_brain_lesion():
    size = edited(b.tumor_size(PID, LESION, "2024-01-01", 25), focus=None,
                  specimen={"reference": "Specimen/s1"})
    record = map_patient(in_scope(size))
    assert record.lesions == () and record.skipped == ()


def test_focus_not_in_the_data_is_skipped_with_the_reason():
    size = b.tumor_size(PID, LESION, "2024-01-01", 10)
    record = map_patient(in_scope(size))  # the Tumor itself was not sent
    assert record.lesions == ()
    assert record.skipped[0].reason.startswith("focus BodyStructure/tumor-L1 is not in the data")


def test_focus_body_structure_without_location_is_skipped():
    nowhere = edited(b.tumor(PID, "N1"), location=None)
    record = map_patient(in_scope(nowhere, b.tumor_size(PID, nowhere, "2024-01-01", 10)))
    assert record.lesions == () and "has no location" in record.skipped[0].reason


def test_contained_tumor_in_the_focus():
    size = b.tumor_size(PID, LESION, "2024-01-01", 10)
    size["contained"] = [edited(LESION, id="t")]
    size["focus"] = [{"reference": "#t"}]
    assert series(map_patient(in_scope(size))) == [("2024-01-01", 10.0)]


def test_same_day_duplicates_keep_one_and_record_the_other():
    a = b.tumor_size(PID, LESION, "2024-01-01", 10, oid="a")
    c = b.tumor_size(PID, LESION, "2024-01-01", 12, oid="c")
    record = map_patient(in_scope(LESION, a, c))
    assert series(record) == [("2024-01-01", 12.0)]  # the larger, with no lastUpdated to tell
    assert record.skipped[0].reference == "Observation/a"
    a_newer = edited(a, meta={"lastUpdated": "2024-01-02T00:00:00Z"})
    assert series(map_patient(in_scope(LESION, a_newer, c))) == [("2024-01-01", 10.0)]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_entered_in_error_sizes_are_ignored(status):
    good = b.tumor_size(PID, LESION, "2024-01-01", 10)
    bad = edited(b.tumor_size(PID, LESION, "2024-02-01", 30), status=status)
    record = map_patient(in_scope(LESION, good, bad))
    assert series(record) == [("2024-01-01", 10.0)]
    assert record.skipped[0].reason == f"status {status}"


def test_volumes_are_not_lesions():
    volume = b.rt_volume(PID, "v1", whole_brain=False, lesions=("L1",))
    assert [lesion.id for lesion in map_patient(in_scope(LESION, volume)).lesions] == ["L1"]
