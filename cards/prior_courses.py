"""The prior local therapy of each progressing lesion: technique, dose × fractions, date, target.

What a radiation oncologist needs before re-irradiating: which course reached the lesion, with
what dose and when. A whole-brain course reached every lesion; a focal course the lesions its
volume covers (`LocalTreatment.lesion_ids`). A progressing lesion no course reached is named as
such. When the model names no progressing lesion (e.g. leptomeningeal disease), every prior
course is listed. Values from data go through `md`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cards.imaging_age import age_text
from cards.render import lesion_md, md, regimen_text
from cds_service.model.anchoring import targets_unknown
from cds_service.model.patient import LocalTreatment, PatientRecord, TreatmentKind

TECHNIQUES = {
    TreatmentKind.SURGERY: "resection",
    TreatmentKind.SRS: "SRS",
    TreatmentKind.FSRT: "FSRT",
    TreatmentKind.WBRT: "WBRT",
    TreatmentKind.OTHER_RT: "brain radiotherapy",
}
SHOWN = 4  # courses on the card; the SMART plan lists them all


def dose_text(t: LocalTreatment) -> str:
    if t.kind is TreatmentKind.SURGERY:
        return ""
    if t.total_dose_cgy is not None and t.fractions:
        return " " + regimen_text(t.total_dose_cgy / 100, t.fractions)
    if t.total_dose_cgy is not None:
        return f" {t.total_dose_cgy / 100:g} Gy (fractions not on record)"
    return " (dose not on record)"


def dates_text(t: LocalTreatment) -> str:
    if t.start and t.end and t.start != t.end:  # a course: when it ended (the start in the plan)
        return f"ended {t.end.isoformat()}"
    day = t.end or t.start
    return day.isoformat() if day else "date not on record"


def course_text(t: LocalTreatment, until: date | None) -> str:
    """"SRS 20 Gy × 1, 2023-03-01, 11 months before imaging"."""
    text = f"{TECHNIQUES.get(t.kind, md(t.kind.value))}{dose_text(t)}, {dates_text(t)}"
    if until is not None and t.date is not None and t.date <= until:
        text += f", {age_text(t.date, until)} before imaging"
    if t.reirradiation:
        text += " (a re-irradiation)"
    return text


def reaches(t: LocalTreatment, lesion: str) -> bool:
    return t.kind is TreatmentKind.WBRT or lesion in t.lesion_ids


def target_text(t: LocalTreatment, lesions: Sequence[str]) -> str:
    if t.kind is TreatmentKind.WBRT:
        return "whole brain"
    return ", ".join(lesion_md(x) for x in lesions) or "treated volume"


def prior_course_lines(record: PatientRecord | None, progressing: Sequence[str], on: date,
                       until: date | None) -> list[str]:
    """One line per course that reached — or, naming no lesion, may have reached — a progressing
    lesion (most recent first) — the courses of other lesions are in the full plan — and one
    line for the progressing lesions no course reached. `until`: the latest imaging."""
    if record is None:
        return ["prior local therapy not available to this card: see the full plan"]
    courses = [t for t in record.treatments if t.date is None or t.date <= on]
    lines: list[str] = []
    reached: set[str] = set()
    for t in reversed(courses):
        lesions = [x for x in progressing if reaches(t, x)] if progressing else list(t.lesion_ids)
        if progressing and not lesions and t.lesion_ids:  # another lesion's: in the full plan
            continue
        reached.update(lesions)
        target = target_text(t, lesions) if lesions else "targets not on record"
        lines.append(f"{target}: {course_text(t, until)}")
    if len(lines) > SHOWN:
        lines = lines[:SHOWN] + [f"{len(lines) - SHOWN} earlier course(s) in the full plan"]
    untouched = [x for x in progressing if x not in reached]
    unlinked = any(targets_unknown(t) for t in courses)
    if untouched:
        lines.append(f"{', '.join(md(x) for x in untouched)}: "
                     + ("named by no course (one above names no target)" if unlinked
                        else "no prior local therapy on record"))
    if not lines:
        lines.append("no prior local therapy of the brain on record")
    return lines


def prior_radiotherapy(record: PatientRecord | None, on: date | None) -> str:
    """"Prior radiotherapy: SRS 20 Gy × 1, 2023-03-01 (lesion-A)" — the courses a repeat course
    adds to (most recent first, up to `SHOWN`), for the order checks that ask for the composite
    dose; "" without a record."""
    if record is None:
        return ""
    courses = [t for t in reversed(record.treatments)
               if t.is_radiotherapy and (on is None or t.date is None or t.date <= on)]
    if not courses:
        return "Prior radiotherapy: none on record."
    parts = [f"{course_text(t, None)} ({target_text(t, t.lesion_ids)})" for t in courses[:SHOWN]]
    more = f"; {len(courses) - SHOWN} earlier" if len(courses) > SHOWN else ""
    return f"Prior radiotherapy: {'; '.join(parts)}{more}."
