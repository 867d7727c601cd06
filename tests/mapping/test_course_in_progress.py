"""Courses in progress and course versions (clinical-model §10) in the CodeX RT STU2 shapes:
the planned course (dose-planned-to-volume `fractions`, as RadiotherapyPlannedCourse-XRTS-05),
the course prescription (dose-prescribed-to-volume `fractions`), a phase/plan prescription
(codexrt-radiotherapy-fractions-prescribed). Review §2: "SRS is delivered in a single fraction
... FSRT could be given in three, five, or more fractions"."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import TreatmentKind as K
from tests.support import fhir_builders as b
from tests.support import trust_patients as t
from tests.support.variants import PID, in_scope

FOCAL = b.rt_volume(PID, "v-focal", whole_brain=False, lesions=("L1",))
OTHER = b.rt_volume(PID, "v-other", whole_brain=False, lesions=("L2",))
WHOLE = b.rt_volume(PID, "v-whole", whole_brain=True)


def running(volume, planned=None, delivered_fractions: int = 1):
    return t.codex_course_summary(PID, "run", volume, 500 * delivered_fractions,
                                  delivered_fractions, "2024-02-26", "2024-02-27",
                                  status="in-progress", course_id="C1", planned=planned)


def kind_of(*resources):
    [treatment] = map_patient(in_scope(*resources)).treatments
    return treatment.kind


def test_planned_course_of_the_codex_example_shape() -> None:
    planned = t.codex_planned_course(PID, "plan", FOCAL, 2500, 5, "C1")
    assert kind_of(FOCAL, planned, running(FOCAL, planned)) is K.FSRT


def test_course_prescription_fractions() -> None:
    prescription = b.rt_prescription(PID, "rx", FOCAL, 2500, 5, status="active")
    assert kind_of(FOCAL, prescription, running(FOCAL, prescription)) is K.FSRT


def test_phase_prescription_fractions_prescribed() -> None:
    phase = {"resourceType": "ServiceRequest", "id": "phase", "status": "active",
             "intent": "filler-order", "subject": {"reference": f"Patient/{PID}"},
             "extension": [{"url": b.CODEXRT + "codexrt-radiotherapy-fractions-prescribed",
                            "valuePositiveInt": 3}]}
    assert kind_of(FOCAL, phase, running(FOCAL, phase)) is K.FSRT


def test_a_planned_single_fraction_in_progress_is_srs() -> None:
    planned = t.codex_planned_course(PID, "plan", FOCAL, 2000, 1, "C1")
    assert kind_of(FOCAL, planned, running(FOCAL, planned)) is K.SRS


def test_several_planned_volumes_are_matched_by_volume() -> None:
    planned = t.codex_planned_course(PID, "plan", OTHER, 2000, 1, "C1")
    planned["extension"].append({
        "url": b.CODEXRT + "codexrt-radiotherapy-dose-planned-to-volume",
        "extension": [{"url": "volume", "valueReference": b.ref(FOCAL)},
                      {"url": "fractions", "valuePositiveInt": 5}]})
    assert kind_of(FOCAL, OTHER, planned, running(FOCAL, planned)) is K.FSRT


@pytest.mark.parametrize("delivered", [1, 2, 4])
def test_without_a_plan_a_focal_course_in_progress_is_unknown(delivered: int) -> None:
    record = map_patient(in_scope(FOCAL, running(FOCAL, delivered_fractions=delivered)))
    assert [x.kind for x in record.treatments] == [K.OTHER_RT]
    assert any(m.startswith("planned fractions of Procedure/run") for m in record.missing)


def test_whole_brain_course_in_progress_is_wbrt_without_a_plan() -> None:
    record = map_patient(in_scope(WHOLE, running(WHOLE)))
    assert [x.kind for x in record.treatments] == [K.WBRT]
    assert not any("planned fractions" in m for m in record.missing)


def test_completed_course_keeps_its_delivered_fractions() -> None:
    planned = t.codex_planned_course(PID, "plan", FOCAL, 2500, 5, "C1")
    done = t.codex_course_summary(PID, "done", FOCAL, 2000, 1, "2024-02-26", "2024-02-26",
                                  status="completed", course_id="C1", planned=planned)
    assert kind_of(FOCAL, planned, done) is K.SRS  # what was delivered, not what was planned


def test_latest_version_wins_between_two_in_progress_snapshots() -> None:
    first = running(FOCAL)
    first["meta"]["lastUpdated"] = "2024-02-26T10:00:00Z"
    second = t.codex_course_summary(PID, "run-2", FOCAL, 1000, 2, "2024-02-26", "2024-02-28",
                                    status="in-progress", course_id="C1",
                                    last_updated="2024-02-28T10:00:00Z")
    record = map_patient(in_scope(FOCAL, first, second))
    assert [x.source for x in record.treatments] == ["Procedure/run-2"]
    assert [s.reference for s in record.skipped] == ["Procedure/run"]
