"""Patients of issue 13 "Clinical trust II" (clinical-model §10), built relative to a given
assessment date so that the same patient is current or outdated on purpose, plus the CodeX RT
STU2 radiotherapy shapes of the guide's brain example XRTS-05 (course 1: 2500 cGy in 5 fractions,
an "after 1 fraction" in-progress course summary and its completely treated version, both
`basedOn` the planned course, sharing the course identifiers).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from tests.support import fhir_builders as b

# Identifiers as in the CodeX XRTS-05 examples (course id + DICOM UID of the course summary).
COURSE_ID_SYSTEM = "http://varian.com/fhir/identifier/radiotherapyCourseId"
DICOM_UID_SYSTEM = "urn:dicom:uid"


def day(on: date, days_before: int) -> str:
    return (on - timedelta(days=days_before)).isoformat()


def srs_in_field(pid: str, on: date, scan_age_days: int = 20) -> list[b.Resource]:
    """HER2+ patient whose lesion A, treated with SRS 1 x 20 Gy 400 days before the latest MRI,
    grows in field on that MRI, taken `scan_age_days` before `on`."""
    latest = scan_age_days
    bc = b.breast_cancer(pid)
    bm = b.brain_metastases(pid, onset=day(on, latest + 420), primary=bc)
    lesion = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, f"{pid}-vol-srs", whole_brain=False, lesions=("lesion-A",))
    return [
        b.patient(pid), bc, bm, lesion, volume,
        *b.receptors(pid, her2="positive", er="negative", pr="negative"),
        b.karnofsky(pid, 80, effective=day(on, latest), oid=f"{pid}-kps"),
        b.tumor_size(pid, lesion, day(on, latest + 410), 15, oid=f"{pid}-size-1"),
        b.rt_course(pid, f"{pid}-srs", volume, 2000, 1, day(on, latest + 400), reason=bm),
        b.tumor_size(pid, lesion, day(on, latest + 120), 10, oid=f"{pid}-size-2"),
        b.tumor_size(pid, lesion, day(on, latest), 18, oid=f"{pid}-size-3"),
        b.disease_status(pid, f"{pid}-ds", day(on, latest), "worsened", focus=(volume,),
                         qualifier="local"),
    ]


def deceased(resources: list[b.Resource], **deceased_x: Any) -> list[b.Resource]:
    """The same resources with Patient.deceased[x] set (deceasedBoolean / deceasedDateTime)."""
    out = copy.deepcopy(resources)
    for resource in out:
        if resource["resourceType"] == "Patient":
            resource.update(deceased_x)
    return out


def course_identifiers(course_id: str, uid: str) -> list[dict[str, str]]:
    return [{"use": "usual", "system": COURSE_ID_SYSTEM, "value": course_id},
            {"use": "official", "system": DICOM_UID_SYSTEM, "value": uid}]


def codex_planned_course(pid: str, sid: str, volume: b.Resource, total_cgy: float,
                         fractions: int, course_id: str) -> b.Resource:
    """CodeX RadiotherapyPlannedCourse (ServiceRequest), as RadiotherapyPlannedCourse-XRTS-05:
    codexrt-radiotherapy-dose-planned-to-volume with volume, totalDose and fractions."""
    return {
        "resourceType": "ServiceRequest", "id": sid,
        "extension": [{
            "url": b.CODEXRT + "codexrt-radiotherapy-dose-planned-to-volume",
            "extension": [
                {"url": "volume", "valueReference": b.ref(volume)},
                {"url": "totalDose", "valueQuantity": {"value": total_cgy, "unit": "cGy",
                                                       "system": b.UCUM, "code": "cGy"}},
                {"url": "fractions", "valuePositiveInt": fractions},
            ]}],
        "identifier": course_identifiers(course_id, f"urn:oid:1.2.74.{sid}"),
        "status": "completed", "intent": "filler-order",
        "category": [b.cc(b.SNOMED, "108290001", "Radiation oncology AND/OR radiotherapy")],
        "code": b.cc(b.SNOMED, "1217123003", "Radiotherapy course of treatment"),
        "subject": {"reference": f"Patient/{pid}"},
        "bodySite": [b.cc(b.SNOMED, "12738006", "Brain structure")],
    }


def codex_course_summary(pid: str, cid: str, volume: b.Resource, delivered_cgy: float,
                         delivered_fractions: int, start: str, end: str, *, status: str,
                         course_id: str, planned: b.Resource | None = None,
                         reason: b.Resource | None = None,
                         last_updated: str | None = None) -> b.Resource:
    """CodeX RadiotherapyCourseSummary (Procedure), as RadiotherapyCourseSummary-XRTS-05-22B-01:
    sessions, dose delivered to the volume with uniform fractionation and fractionsDelivered,
    the course identifiers, basedOn the planned course."""
    res: b.Resource = {
        "resourceType": "Procedure", "id": cid,
        "meta": {"profile": [b.CODEXRT + "codexrt-radiotherapy-course-summary",
                             b.MCODE + "mcode-radiotherapy-course-summary"]},
        "extension": [
            {"url": b.CODEXRT + "codexrt-radiotherapy-course-involves-reirradiation",
             "valueBoolean": False},
            {"url": b.MCODE + "mcode-procedure-intent",
             "valueCodeableConcept": b.cc(b.SNOMED, "363676003", "Palliative")},
            {"url": b.MCODE + "mcode-radiotherapy-sessions",
             "valueUnsignedInt": delivered_fractions},
            {"url": b.MCODE + "mcode-radiotherapy-dose-delivered-to-volume",
             "extension": [
                 {"url": "volume", "valueReference": b.ref(volume)},
                 {"url": b.CODEXRT + "codexrt-radiotherapy-uniform-fractionation",
                  "valueBoolean": True},
                 {"url": "totalDoseDelivered",
                  "valueQuantity": {"value": delivered_cgy, "unit": "cGy", "system": b.UCUM,
                                    "code": "cGy"}},
                 {"url": "fractionsDelivered", "valueUnsignedInt": delivered_fractions},
             ]},
        ],
        "identifier": course_identifiers(course_id, f"urn:oid:1.2.72.{course_id}"),
        "status": status,
        "category": b.cc(b.SNOMED, "108290001"),
        "code": b.cc(b.SNOMED, "1217123003", "Radiotherapy course of treatment"),
        "subject": {"reference": f"Patient/{pid}"},
        "performedPeriod": {"start": start, "end": end},
        "bodySite": [b.cc(b.SNOMED, "12738006", "Brain structure")],
    }
    if planned is not None:
        res["basedOn"] = [b.ref(planned)]
    if reason is not None:
        res["reasonReference"] = [b.ref(reason)]
    if last_updated:
        res["meta"]["lastUpdated"] = last_updated
    return res


def fsrt_course_in_progress(pid: str, on: date, *, with_plan: bool = True,
                            completed_version: bool = False) -> list[b.Resource]:
    """`srs_in_field` (lesion A grows in its SRS volume, MRI 20 days ago) with an FSRT course of
    lesion B, 5 x 5 Gy, started 60 days ago: its "after 1 fraction" in-progress summary
    (500 cGy in 1 fraction delivered), optionally its planned course and its completed version
    (2500 cGy in 5 fractions, ended 54 days ago)."""
    resources = srs_in_field(pid, on, scan_age_days=20)
    bm = next(r for r in resources if r["id"] == "brain-mets")
    volume = b.rt_volume(pid, f"{pid}-vol-fsrt", whole_brain=False, lesions=("lesion-B",))
    planned = codex_planned_course(pid, f"{pid}-planned", volume, 2500, 5, f"C1-{pid}")
    resources += [volume, b.tumor(pid, "lesion-B")]
    if with_plan:
        resources.append(planned)
    resources.append(codex_course_summary(
        pid, f"{pid}-fsrt-1fx", volume, 500, 1, day(on, 60), day(on, 60), status="in-progress",
        course_id=f"C1-{pid}", planned=planned, reason=bm))
    if completed_version:
        resources.append(codex_course_summary(
            pid, f"{pid}-fsrt-done", volume, 2500, 5, day(on, 60), day(on, 54),
            status="completed", course_id=f"C1-{pid}", planned=planned, reason=bm))
    return resources
