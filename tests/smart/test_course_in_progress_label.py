"""The SMART plan shows a course in progress as such: its dose so far is not the course's
(clinical-model §10: "A course in progress is classified by its prescribed/planned fractions")."""

from datetime import date

from cds_service.mapping import map_patient
from cds_service.smart.plan import _treatment_row, treatment_label
from tests.support import trust_patients as t


def test_in_progress_course_says_how_many_fractions_of_the_plan_were_given() -> None:
    record = map_patient(t.fsrt_course_in_progress("p1", date(2024, 3, 1)))
    srs, running = record.treatments
    assert treatment_label(running) == "FSRT 5 Gy/1 fx (in progress, 1 of 5 fractions)"
    assert _treatment_row(running).dose.endswith("(in progress, 1 of 5 fractions)")
    assert treatment_label(srs) == "SRS 20 Gy/1 fx"  # a completed course: no note
