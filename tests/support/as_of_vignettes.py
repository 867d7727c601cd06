"""As-of vignettes (issue 20 item 1, CM §10a): one patient, one later entry that would change the
answer, assessed the day before it and the day after it.

Each builder takes the day `t` of the later entry and returns the FHIR resources (mCODE STU4 /
CodeX RT STU2 shapes from tests/support/fhir_builders.py); every other entry lies well before `t`. Used by
tests/model/test_as_of_vignettes.py (mapping + model), tests/assessment/test_as_of_api_and_hooks.py
(`POST /api/assessment?date=` and patient-view against the real test FHIR server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.support import fhir_builders as b

Resources = list[b.Resource]


def iso(t: date, offset: int) -> str:
    return (t + timedelta(days=offset)).isoformat()


def _base(pid: str, t: date, *, her2: str = "negative", er: str = "positive",
          pr: str = "positive") -> tuple[Resources, b.Resource, b.Resource]:
    bc = b.breast_cancer(pid)
    bm = b.brain_metastases(pid, onset=iso(t, -1200), primary=bc)
    return ([b.patient(pid, birth_date="1970-05-01"), bc, bm,
             *b.receptors(pid, her2=her2, er=er, pr=pr, effective=iso(t, -1500))], bc, bm)


def _srs_then_growth(pid: str, t: date, resources: Resources, bm: b.Resource) -> Resources:
    """SRS of lesion A 300 days before `t`, A grown 10 -> 16 mm 30 days before `t`."""
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, volume,
            b.rt_course(pid, "srs", volume, 2000, 1, iso(t, -300), reason=bm),
            b.tumor_size(pid, a, iso(t, -200), 10), b.tumor_size(pid, a, iso(t, -30), 16)]


def later_kps_drop(t: date) -> Resources:
    """KPS 80 (60 days before `t`), KPS 40 on `t`: good -> poor performance status."""
    pid = "asof-kps"
    resources, _, bm = _base(pid, t)
    resources += [b.karnofsky(pid, 80, iso(t, -60), oid="kps-good"),
                  b.karnofsky(pid, 40, iso(t, 0), oid="kps-poor")]
    return _srs_then_growth(pid, t, resources, bm)


def later_scan(t: date) -> Resources:
    """SRS, then a stable lesion; the scan on `t` shows it grown 10 -> 16 mm."""
    pid = "asof-scan"
    resources, _, bm = _base(pid, t)
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs", whole_brain=False, lesions=("lesion-A",))
    return [*resources, b.karnofsky(pid, 80, iso(t, -60)), a, volume,
            b.rt_course(pid, "srs", volume, 2000, 1, iso(t, -300), reason=bm),
            b.tumor_size(pid, a, iso(t, -200), 10), b.tumor_size(pid, a, iso(t, -60), 10),
            b.tumor_size(pid, a, iso(t, 0), 16)]


def later_course(t: date) -> Resources:
    """Progression after SRS; WBRT on `t` (the progression then predates the last local
    therapy, and no scan since it shows progression)."""
    pid = "asof-course"
    resources, _, bm = _base(pid, t)
    resources.append(b.karnofsky(pid, 80, iso(t, -60)))
    whole = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    return [*_srs_then_growth(pid, t, resources, bm), whole,
            b.rt_course(pid, "wbrt", whole, 3000, 10, iso(t, 0), iso(t, 0), reason=bm)]


def later_receptor_retest(t: date) -> Resources:
    """HER2-negative at diagnosis; the brain metastasis retested HER2-positive on `t`."""
    pid = "asof-her2"
    resources, _, bm = _base(pid, t)
    resources += [b.karnofsky(pid, 80, iso(t, -60)),
                  b.receptor(pid, "her2", "positive", iso(t, 0), oid="her2-retest")]
    return _srs_then_growth(pid, t, resources, bm)


def later_steroid_increase(t: date) -> Resources:
    """Both lesions shrank 20 -> 12 mm after WBRT on dexamethasone 4 mg, 4 mg again; 8 mg on `t`
    (the earlier orders are no longer active today, as a dose change leaves them)."""
    pid = "asof-steroid"
    resources, _, bm = _base(pid, t)
    whole = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    a, c = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-B")
    return [*resources, b.karnofsky(pid, 80, iso(t, -60)), whole, a, c,
            b.rt_course(pid, "wbrt", whole, 3000, 10, iso(t, -330), iso(t, -320), reason=bm),
            b.tumor_size(pid, a, iso(t, -300), 20), b.tumor_size(pid, a, iso(t, -30), 12),
            b.tumor_size(pid, c, iso(t, -300), 20), b.tumor_size(pid, c, iso(t, -30), 12),
            b.medication_request(pid, "dex-1", "dexamethasone", iso(t, -100), "completed",
                                 dose_mg=4),
            b.medication_request(pid, "dex-2", "dexamethasone", iso(t, -50), "stopped",
                                 dose_mg=4),
            b.medication_request(pid, "dex-3", "dexamethasone", iso(t, 0), dose_mg=8)]


def later_death(t: date) -> Resources:
    """Progression after SRS; the patient died on `t`."""
    pid = "asof-death"
    resources, _, bm = _base(pid, t)
    resources[0]["deceasedDateTime"] = iso(t, 0)
    resources.append(b.karnofsky(pid, 80, iso(t, -60)))
    return _srs_then_growth(pid, t, resources, bm)


def later_brain_metastases(t: date) -> Resources:
    """Brain metastases recorded with onset `t`: out of scope before."""
    pid = "asof-onset"
    resources, bc, _ = _base(pid, t)
    bm = b.brain_metastases(pid, onset=iso(t, 0), primary=bc)
    return _srs_then_growth(pid, t, [resources[0], bc, *resources[3:], bm,
                                     b.karnofsky(pid, 80, iso(t, -60))], bm)


@dataclass(frozen=True)
class AsOfVignette:
    name: str
    build: Callable[[date], Resources]


VIGNETTES = [AsOfVignette(f.__name__.replace("_", "-"), f) for f in (
    later_kps_drop, later_scan, later_course, later_receptor_retest, later_steroid_increase,
    later_death, later_brain_metastases)]


def summary(body: dict[str, Any]) -> dict[str, Any]:
    """What the vignettes compare: situation, PS, subtype, RANO-BM, options, regimens."""
    return {"situation": body["situation"]["code"],
            "good_ps": body["performance_status"]["good"],
            "subtype": body["subtype"]["code"],
            "rano": body["rano_bm"]["category"],
            "options": [o["code"] for o in body["options"]],
            "regimens": [r["code"] for r in body["systemic_regimens"]]}


_PROGRESSION = {"situation": "local-progression-after-srs-in-field", "rano": "PD"}
_LUMINAL_A = ["abemaciclib", "palbociclib", "temozolomide", "temozolomide-capecitabine", "cmf",
              "bevacizumab"]
# name -> (what the assessment the day before the later entry shows, the day after); each pair
# differs in what the later entry changes and nothing is taken from the later entry before it.
EXPECTED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "later-kps-drop": (
        {**_PROGRESSION, "good_ps": True,
         "options": ["surgery", "fsrt", "srs", "systemic-therapy", "tumor-board"]},
        {**_PROGRESSION, "good_ps": False,
         "options": ["surgery", "fsrt", "srs", "systemic-therapy", "best-supportive-care",
                     "tumor-board"]}),
    "later-scan": (
        {"situation": "no-progression", "rano": "SD", "options": []},
        {**_PROGRESSION, "options": ["surgery", "fsrt", "srs", "systemic-therapy",
                                     "tumor-board"]}),
    "later-course": (
        {**_PROGRESSION, "options": ["surgery", "fsrt", "srs", "systemic-therapy",
                                     "tumor-board"]},
        {"situation": "no-progression", "rano": None, "options": []}),
    "later-receptor-retest": (
        {**_PROGRESSION, "subtype": "luminal-a", "regimens": _LUMINAL_A},
        {**_PROGRESSION, "subtype": "luminal-b",
         "regimens": ["tucatinib-trastuzumab-capecitabine", "trastuzumab-deruxtecan",
                      "neratinib-capecitabine", "lapatinib-capecitabine",
                      "trastuzumab-emtansine", "pertuzumab-high-dose-trastuzumab",
                      "temozolomide", "temozolomide-capecitabine", "cmf", "bevacizumab"]}),
    "later-steroid-increase": (
        {"situation": "no-progression", "rano": "PR"},
        {"situation": "no-progression", "rano": "SD"}),
    "later-death": (
        {**_PROGRESSION, "options": ["surgery", "fsrt", "srs", "systemic-therapy",
                                     "tumor-board"]},
        {"situation": "not-applicable", "options": [], "regimens": []}),
    "later-brain-metastases": (
        {"situation": "not-applicable", "options": []},
        {**_PROGRESSION, "options": ["surgery", "fsrt", "srs", "systemic-therapy",
                                     "tumor-board"]}),
}


def check(name: str, after: bool, body: dict[str, Any]) -> None:
    got = summary(body)
    want = EXPECTED[name][after]
    assert {k: got[k] for k in want} == want, (name, "after" if after else "before", got)
