"""Issue 20 item 1 (CM §10a): one as-of rule for every input, through the real mapping and the
model. Each vignette is assessed the day before and the day after a later entry that changes the
answer (tests/support/as_of_vignettes.py); the unit tests pin the series rules of `model/series.py`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.mapping import map_patient
from cds_service.model.assess import assess
from cds_service.model.facts import as_of
from cds_service.model.patient import SteroidTrend
from cds_service.model.series import MISSING_STEROID_TREND
from tests.support import as_of_vignettes as v
from tests.support import fhir_builders as b
from tests.support import synthetic_patients as syn

T = date(2024, 6, 1)
BEFORE, AFTER = T - timedelta(days=1), T + timedelta(days=1)
PID = "asof-unit"


@pytest.mark.parametrize("vignette", v.VIGNETTES, ids=[x.name for x in v.VIGNETTES])
def test_vignette_before_and_after_the_later_entry(vignette: v.AsOfVignette) -> None:
    record = map_patient(vignette.build(T))
    v.check(vignette.name, False, assess(record, BEFORE).to_json())
    v.check(vignette.name, True, assess(record, AFTER).to_json())


def test_the_score_current_on_the_date_is_used_not_none() -> None:
    record = map_patient([b.patient(PID), b.karnofsky(PID, 80, "2024-01-01", oid="k1"),
                          b.karnofsky(PID, 40, "2024-06-01", oid="k2"),
                          b.ecog(PID, 1, "2024-01-01", oid="e1"),
                          b.ecog(PID, 3, "2024-06-01", oid="e2")])
    assert (record.kps.value, record.ecog.value) == (40, 3)  # latest on record, unchanged
    view = as_of(record, BEFORE)
    assert (view.kps.value, view.kps.source) == (80, "Observation/k1")
    assert (view.ecog.value, view.ecog.source) == (1, "Observation/e1")
    assert as_of(record, date(2023, 12, 31)).kps is None  # before any score: none, named missing


def test_receptor_status_is_the_result_current_on_the_date() -> None:
    record = map_patient([b.patient(PID), b.receptor(PID, "her2", "negative", "2020-01-01"),
                          b.receptor(PID, "her2", "positive", "2024-06-01", oid="retest")])
    assert record.her2.status.value == "positive"
    before = as_of(record, BEFORE).her2
    assert (before.status.value, before.date) == ("negative", date(2020, 1, 1))
    assert [r.status.value for r in before.readings] == ["negative"]
    assert as_of(record, date(2019, 1, 1)).her2.status.value == "unknown"


def test_a_systemic_drug_reordered_later_is_still_in_use_before_the_new_order() -> None:
    record = map_patient([b.patient(PID),
                          b.medication_request(PID, "cap-1", "capecitabine", "2024-01-01"),
                          b.medication_request(PID, "cap-2", "capecitabine", "2024-06-01")])
    assert [t.source for t in record.systemic_therapies] == ["MedicationRequest/cap-2"]
    assert [t.source for t in as_of(record, BEFORE).systemic_therapies] == [
        "MedicationRequest/cap-1"]
    assert as_of(record, date(2023, 12, 31)).systemic_therapies == ()


def _dex(mid: str, authored: str, status: str, mg: float, end: str | None = None) -> b.Resource:
    res = b.medication_request(PID, mid, "dexamethasone", authored, status, dose_mg=mg)
    if end:
        res["dispenseRequest"] = {"validityPeriod": {"start": authored, "end": end}}
    return res


def test_steroid_trend_as_of_a_date_comes_from_the_orders_on_or_before_it() -> None:
    record = map_patient([b.patient(PID), _dex("d1", "2024-01-01", "stopped", 4),
                          _dex("d2", "2024-03-01", "stopped", 2),
                          _dex("d3", "2024-06-01", "active", 8)])
    assert record.steroids.trend is SteroidTrend.INCREASED
    before = as_of(record, BEFORE)
    # d2 is stopped today, but it was the order in effect before d3 replaced it: never "none"
    assert (before.steroids.trend, before.steroids.active) == (SteroidTrend.DECREASED, True)
    assert before.steroids.sources == ("MedicationRequest/d1", "MedicationRequest/d2")
    only_first = as_of(record, date(2024, 2, 1)).steroids
    assert (only_first.trend, only_first.active) == (SteroidTrend.UNKNOWN, True)
    assert MISSING_STEROID_TREND in as_of(record, date(2024, 2, 1)).missing
    assert MISSING_STEROID_TREND not in before.missing


def test_a_stopped_steroid_order_that_ended_before_the_date_is_not_in_use() -> None:
    record = map_patient([b.patient(PID), _dex("d1", "2024-01-01", "stopped", 4, "2024-01-20"),
                          _dex("d2", "2024-06-01", "active", 8)])
    on_date = as_of(record, BEFORE).steroids
    assert (on_date.trend, on_date.active) == (SteroidTrend.NONE, False)


def test_death_and_conditions_respect_the_date() -> None:
    death = map_patient(v.later_death(T))
    assert assess(death, BEFORE).situation.code != "not-applicable"
    assert assess(death, T).situation.code == "not-applicable"  # on the day of death
    onset = map_patient(v.later_brain_metastases(T))
    assert not as_of(onset, BEFORE).brain_metastases.present
    assert as_of(onset, T).brain_metastases.present


def test_a_course_running_on_the_date_counts_from_its_start_its_later_end_does_not_exist() -> None:
    whole = b.rt_volume("asof-course", "vol-wbrt-long", whole_brain=True)
    long_course = b.rt_course("asof-course", "wbrt-long", whole, 3000, 10, "2024-05-25",
                              "2024-06-07")
    record = map_patient([*v.later_course(T), whole, long_course])
    running = next(t for t in as_of(record, T).treatments if t.source == "Procedure/wbrt-long")
    assert (running.end, running.in_progress, running.date) == (None, True, date(2024, 5, 25))
    done = next(t for t in as_of(record, date(2024, 6, 7)).treatments
                if t.source == "Procedure/wbrt-long")
    assert (done.end, done.in_progress) == (date(2024, 6, 7), False)


@pytest.mark.parametrize("build", [*syn.PATIENTS.values(), *(x.build for x in v.VIGNETTES)],
                         ids=[*syn.PATIENTS, *(x.name for x in v.VIGNETTES)])
def test_latest_on_record_and_as_of_after_everything_follow_one_rule(build) -> None:
    resources = build(T) if build in {x.build for x in v.VIGNETTES} else build()
    record = map_patient(resources)
    view = as_of(record, date(2100, 1, 1))
    assert (view.kps, view.ecog) == (record.kps, record.ecog)
    assert (view.her2, view.er, view.pr) == (record.her2, record.er, record.pr)
    assert (view.steroids.trend, view.steroids.active, view.steroids.sources) == (
        record.steroids.trend, record.steroids.active, record.steroids.sources)
    assert view.systemic_therapies == record.systemic_therapies
    assert view.missing == record.missing
