"""Clinical trust I (RANO-BM and localisation): vignettes from the review's text, each through
`POST /api/assessment` and through the patient-view hook with no prefetch, the service reading
every resource from the real test FHIR server.

Each vignette quotes the sentence of the review (or of clinical-model.md, 2026-12-01) that its
expectation comes from. Dates are relative to today, so that the hook (which assesses on the day of
the call) and the API (asked for today's date) see the same record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from cds_service.web.assessment_api import bp
from tests.support import fhir_builders as b
from tests.support.hook_requests import patient_view_without_prefetch

Resources = list[b.Resource]
Check = Callable[[dict[str, Any]], None]


def day(offset: int) -> str:
    """An ISO date `offset` days from today (negative = in the past)."""
    return (date.today() + timedelta(days=offset)).isoformat()


def base(pid: str, her2: str = "negative", er: str = "positive", pr: str = "positive",
         kps: int = 80) -> tuple[Resources, b.Resource, b.Resource]:
    bc = b.breast_cancer(pid)
    bm = b.brain_metastases(pid, onset=day(-1200), primary=bc)
    resources = [b.patient(pid, birth_date="1970-05-01"), bc, bm,
                 *b.receptors(pid, her2=her2, er=er, pr=pr),
                 b.karnofsky(pid, kps, effective=day(-20))]
    return resources, bc, bm


def sizes(pid: str, tumor: b.Resource, *points: tuple[int, float]) -> Resources:
    return [b.tumor_size(pid, tumor, day(offset), value) for offset, value in points]


@dataclass(frozen=True)
class Vignette:
    name: str
    quote: str
    build: Callable[[], Resources]
    check_assessment: Check
    check_cards: Check


# --- the checks ---------------------------------------------------------------------------------

def option_codes(body: dict[str, Any]) -> list[str]:
    return [o["code"] for o in body["options"]]


def warning_codes(body: dict[str, Any]) -> set[str]:
    return {w["code"] for w in body["warnings"]}


def card_topics(result: dict[str, Any]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in result["cards"]]


def labels(result: dict[str, Any]) -> list[str]:
    return [s["label"] for c in result["cards"] for s in c.get("suggestions", [])]


def silent(result: dict[str, Any]) -> None:
    assert result == {"cards": []}


# --- 1. responders are not progressing -----------------------------------------------------------

def responder_after_wbrt() -> Resources:
    pid = "ct-pr-wbrt"
    resources, _, bm = base(pid)
    whole = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    a, c = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-B")
    return [*resources, whole, a, c,
            b.rt_course(pid, "wbrt", whole, 3000, 10, day(-330), day(-320), reason=bm),
            *sizes(pid, a, (-240, 20), (-40, 14)), *sizes(pid, c, (-240, 20), (-40, 14))]


def check_responder(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "no-progression"
    assert body["rano_bm"]["category"] == "PR"
    assert body["rano_bm"]["new_lesions"] == []
    assert body["options"] == []


def responder_after_surgery() -> Resources:
    pid = "ct-pr-surgery"
    resources, _, bm = base(pid)
    a = b.tumor(pid, "lesion-A")
    return [*resources, a, b.surgery(pid, "resection", day(-330), reason=bm),
            *sizes(pid, a, (-240, 15), (-40, 10))]


def new_lesion_after_pre_therapy_scan() -> Resources:
    """The pre-SRS MRI measured lesion A only; N appears after the SRS of A: a new lesion."""
    pid = "ct-new-after-srs"
    resources, _, bm = base(pid)
    a, n = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-N")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, n, volume,
            *sizes(pid, a, (-400, 15), (-250, 10), (-40, 10)),
            b.rt_course(pid, "srs-A", volume, 2000, 1, day(-390), reason=bm),
            *sizes(pid, n, (-40, 8))]


def check_new_lesion_out_of_field(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "local-progression-after-srs-out-of-field"
    assert body["rano_bm"]["new_lesions"] == ["lesion-N"]
    assert body["situation"]["out_of_field_lesions"] == ["lesion-N"]
    srs = next(o for o in body["options"] if o["code"] == "srs")
    assert not srs["reirradiation"] and srs["lesions"] == ["lesion-N"]
    assert "radionecrosis-risk" not in warning_codes(body)


def check_out_of_field_card(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] == "srs"
    assert "Limited progression outside the prior SRS/FSRT volumes" in result["cards"][0]["summary"]
    assert not any("re-irradiation" in label for label in labels(result))


# --- 2. in-field growth after a later course to another lesion -----------------------------------

def in_field_after_later_course() -> Resources:
    pid = "ct-anchor"
    resources, _, bm = base(pid, her2="positive", er="negative", pr="negative")
    a, bb = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-B")
    vol_a = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    vol_b = b.rt_volume(pid, "vol-srs-B", whole_brain=False, lesions=("lesion-B",))
    return [*resources, a, bb, vol_a, vol_b,
            *sizes(pid, a, (-1010, 16)),
            b.rt_course(pid, "srs-A", vol_a, 2000, 1, day(-1000), reason=bm),
            *sizes(pid, a, (-900, 11), (-500, 11)),
            *sizes(pid, bb, (-500, 14)),
            b.rt_course(pid, "srs-B", vol_b, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 15), (-40, 18)), *sizes(pid, bb, (-300, 9), (-40, 8))]


def check_in_field_anchor(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"
    assert body["rano_bm"]["category"] == "PD"
    assert body["situation"]["in_field_lesions"] == ["lesion-A"]
    assert option_codes(body)[:3] == ["surgery", "fsrt", "srs"]
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= warning_codes(body)
    rows = {r["lesion"]: r for r in body["rano_bm"]["lesions"]}
    assert rows["lesion-A"]["anchor_date"] == day(-1000)  # judged from its own SRS
    assert rows["lesion-B"]["anchor_date"] == day(-400)


def check_in_field_cards(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] == "surgery"
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= set(card_topics(result))


# --- 3. position relative to the prior SRS volume not established ---------------------------------

def unlinked_srs_volume() -> Resources:
    """The SRS volume's identifier matches no lesion (common in real data)."""
    pid = "ct-unlinked"
    resources, _, bm = base(pid)
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-PTV1", whole_brain=False)  # names no lesion
    return [*resources, a, volume,
            *sizes(pid, a, (-420, 15)),
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 10), (-40, 18))]


def check_position_unknown(body: dict[str, Any]) -> None:
    situation = body["situation"]
    assert situation["code"] == "local-progression-after-srs-in-field"
    assert situation["position_unknown"] is True
    assert "not established" in situation["label"]
    assert "shares no identifier" in situation["missing_link"]
    assert any("position relative to the prior SRS/FSRT volumes" in m
               for m in body["missing_data"])
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= warning_codes(body)
    assert all(o["reirradiation"] for o in body["options"] if o["code"] in ("srs", "fsrt"))


def check_position_unknown_cards(result: dict[str, Any]) -> None:
    assert "shares no identifier" in result["cards"][0]["detail"]  # the missing link, named
    assert "not established" in result["cards"][0]["summary"] or \
        "not established" in result["cards"][0]["detail"]
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= set(card_topics(result))
    radiotherapy = [label for label in labels(result) if "Prescribe SRS" in label
                    or "Prescribe FSRT" in label]
    assert radiotherapy and all("re-irradiation" in label for label in radiotherapy)


def codex_status_with_volume_extension() -> Resources:
    """CodeX RadiotherapyDiseaseStatus (the guide's cancer-disease-status-22B shape): worsened,
    qualifier *local* on the value (codexrt-radiotherapy-progression-qualifier), the treated
    volume in codexrt-radiotherapy-volume-extension, the focus on the primary cancer."""
    pid = "ct-codex-status"
    resources, bc, bm = base(pid)
    volume = b.rt_volume(pid, "vol-srs-1", whole_brain=False)
    return [*resources, volume,
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            b.disease_status(pid, "rt-status", day(-30), "worsened", focus=(bc,),
                             qualifier="local", codex_volumes=(volume,),
                             qualifier_url="codexrt-radiotherapy-progression-qualifier")]


def check_codex_in_field(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"
    assert "outside" not in body["situation"]["label"]
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= warning_codes(body)


def check_codex_cards(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] == "surgery"
    assert "pseudoprogression-possible" in card_topics(result)


def status_without_lesion() -> Resources:
    """Progression documented on the brain-metastasis Condition, no lesion identified."""
    pid = "ct-no-lesion"
    resources, _, bm = base(pid)
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    other = b.tumor(pid, "lesion-C")
    return [*resources, a, other, volume,
            *sizes(pid, a, (-420, 15)), *sizes(pid, other, (-420, 6)),
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 10), (-60, 10)), *sizes(pid, other, (-300, 6), (-60, 6)),
            b.disease_status(pid, "ds", day(-30), "worsened", focus=(bm,))]


def check_never_outside_by_default(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"
    assert body["situation"]["position_unknown"] is True
    assert "no progressing lesion identified" in body["situation"]["missing_link"]
    assert {"radionecrosis-risk", "pseudoprogression-possible"} <= warning_codes(body)


def check_never_outside_cards(result: dict[str, Any]) -> None:
    assert "outside" not in result["cards"][0]["summary"]
    assert "radionecrosis-risk" in card_topics(result)


# --- 4. mixed progression: per-lesion advice ------------------------------------------------------

def mixed_progression() -> Resources:
    pid = "ct-mixed"
    resources, _, bm = base(pid)
    a, n = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-N")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, n, volume,
            *sizes(pid, a, (-420, 15)),
            b.rt_course(pid, "srs", volume, 2400, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 10), (-40, 17)), *sizes(pid, n, (-40, 8))]


def check_mixed(body: dict[str, Any]) -> None:
    situation = body["situation"]
    assert situation["code"] == "local-progression-after-srs-in-field"
    assert situation["in_field_lesions"] == ["lesion-A"]
    assert situation["out_of_field_lesions"] == ["lesion-N"]
    by_target = {(o["code"], tuple(o["lesions"])): o for o in body["options"]}
    assert by_target[("surgery", ("lesion-A",))]["rank"] == 1
    assert by_target[("fsrt", ("lesion-A",))]["reirradiation"]
    assert by_target[("srs", ("lesion-A",))]["reirradiation"]
    new_srs = by_target[("srs", ("lesion-N",))]
    assert not new_srs["reirradiation"]
    # Table 1: <= 2.0 cm -> 20-24 Gy x 1 (8 mm), not the lowest band
    assert {(r["total_dose_gy"], r["fractions"]) for r in new_srs["regimens"]} == {(20.0, 1),
                                                                                  (24.0, 1)}


def check_mixed_cards(result: dict[str, Any]) -> None:
    new_srs = [lbl for lbl in labels(result) if "lesion-N" in lbl]
    assert new_srs and all("re-irradiation" not in lbl for lbl in new_srs)
    assert any("lesion-A" in lbl and "re-irradiation" in lbl for lbl in labels(result))


# --- 5. deterioration with stable imaging after SRS ------------------------------------------------

def deterioration_stable_imaging() -> Resources:
    pid = "ct-stable-deficit"
    resources, _, bm = base(pid)
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, volume,
            *sizes(pid, a, (-420, 14)),
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 11), (-40, 11)),
            b.symptom(pid, "deficit", code="50582007", display="Hemiparesis", onset=day(-100))]


def check_work_up_first(body: dict[str, Any]) -> None:
    assert body["situation"]["imaging_stable"] is True
    assert [s["code"] for s in body["first_steps"]] == ["radionecrosis-work-up"]
    assert option_codes(body)[0] != "surgery"
    assert "radionecrosis-risk" in warning_codes(body)
    surgery = next(o for o in body["options"] if o["code"] == "surgery")
    assert surgery["selected_patients_only"]


def check_work_up_cards(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] != "surgery"
    assert "radionecrosis-risk" in card_topics(result)
    first = next(line for line in result["cards"][0]["detail"].splitlines()
                 if line.startswith("**First:**"))
    assert "No lesion has grown" in first and "[23-29]" in first.replace("\\", "")


# --- 6. new lesion under immune checkpoint therapy --------------------------------------------------

def new_lesion_on_pembrolizumab() -> Resources:
    pid = "ct-immuno"
    resources, _, bm = base(pid, her2="negative", er="negative", pr="negative")
    a, n = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-N")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, n, volume,
            b.medication_request(pid, "pembro", "pembrolizumab", authored=day(-500)),
            *sizes(pid, a, (-420, 15)),
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 10), (-40, 10)), *sizes(pid, n, (-40, 7))]


def check_immunotherapy(body: dict[str, Any]) -> None:
    assert body["rano_bm"]["category"] != "PD"
    assert body["rano_bm"]["new_lesions_to_confirm"] == ["lesion-N"]
    assert body["situation"]["to_confirm"] is True
    assert [s["code"] for s in body["first_steps"]] == ["confirm-progression-mri"]
    systemic = next(o for o in body["options"] if o["code"] == "systemic-therapy")
    assert "switch" not in systemic["rationale"]


def check_immunotherapy_cards(result: dict[str, Any]) -> None:
    assert result["cards"], "progression to be confirmed is still said"
    assert "**First:** New lesion(s) during immune checkpoint therapy" in \
        result["cards"][0]["detail"]
    assert "switch the systemic line" not in result["cards"][0]["detail"]


# --- 7. dominant symptomatic lesion after WBRT ------------------------------------------------------

def disseminated_after_wbrt_symptomatic() -> Resources:
    pid = "ct-dominant"
    resources, _, bm = base(pid)
    whole = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    resources += [whole, b.rt_course(pid, "wbrt", whole, 3000, 10, day(-500), day(-490),
                                     reason=bm),
                  b.symptom(pid, "seizure", onset=day(-30))]
    for i, (before, after) in enumerate([(30, 38), (12, 18), (11, 17), (10, 16), (13, 19),
                                         (10, 15)]):
        tumor = b.tumor(pid, f"lesion-{i + 1}")
        resources += [tumor, *sizes(pid, tumor, (-400, before), (-40, after))]
    return resources


def check_dominant_surgery(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "disseminated-progression-after-wbrt"
    assert body["situation"]["symptomatic"]
    assert option_codes(body)[0] == "surgery"
    assert set(body["options"][0]["references"]) >= {47, 48}


def check_dominant_cards(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] == "surgery"


# --- 8. switch-line advice is conditional ---------------------------------------------------------

def in_field_on_trastuzumab() -> Resources:
    pid = "ct-switch"
    resources, _, bm = base(pid, her2="positive", er="negative", pr="negative")
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, volume,
            b.medication_request(pid, "tras", "trastuzumab", authored=day(-700)),
            *sizes(pid, a, (-420, 15)),
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 10), (-40, 18))]


def check_switch_conditional(body: dict[str, Any]) -> None:
    systemic = next(o for o in body["options"] if o["code"] == "systemic-therapy")
    assert "keep the line with local therapy, or switch the systemic line if local therapy " \
           "is not feasible" in systemic["rationale"]
    assert not any("switch" in (r.get("note") or "") for r in body["systemic_regimens"])


def check_switch_cards(result: dict[str, Any]) -> None:
    detail = result["cards"][0]["detail"]
    assert detail.count("switch the systemic line") == 1  # once, conditional (review §5)
    assert "switch the systemic line if local therapy is not feasible" in detail.replace("\\", "")


# --- 9. five countable lesions after WBRT in good performance status ------------------------------

def five_lesions_after_wbrt(large: bool) -> Callable[[], Resources]:
    def build() -> Resources:
        pid = f"ct-fig1a-{'large' if large else 'small'}"
        resources, _, bm = base(pid, her2="negative", er="negative", pr="negative")
        whole = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
        resources += [whole, b.rt_course(pid, "wbrt", whole, 3000, 10, day(-500), day(-490),
                                         reason=bm)]
        growth = [(18, 25), (12, 18), (10, 16), (13, 19), (10, 15)] if large else \
            [(11, 17), (12, 18), (10, 16), (13, 19), (10, 15)]
        for i, (before, after) in enumerate(growth):
            tumor = b.tumor(pid, f"lesion-{i + 1}")
            resources += [tumor, *sizes(pid, tumor, (-400, before), (-40, after))]
        return resources
    return build


def check_focal_first(first: str) -> Check:
    def check(body: dict[str, Any]) -> None:
        codes = option_codes(body)
        assert body["situation"]["code"] == "disseminated-progression-after-wbrt"
        assert codes[0] == first
        assert codes.index("fsrt") < codes.index("re-wbrt")
        assert codes.index("srs") < codes.index("re-wbrt")
        fsrt = next(o for o in body["options"] if o["code"] == "fsrt")
        assert not fsrt["selected_patients_only"]
        assert [30.0, 5] in [[r["total_dose_gy"], r["fractions"]] for r in fsrt["regimens"]]
    return check


def check_focal_first_cards(first: str) -> Check:
    def check(result: dict[str, Any]) -> None:
        assert card_topics(result)[0] == first
        assert not labels(result)[0].startswith("Selected patients only")
    return check


# --- found by an outside clinical review -------------------------------------------------------

def new_lesion_after_unlinked_srs(grows: bool) -> Callable[[], Resources]:
    """The planning MRI 9 days before an SRS that names no lesion shows A only; N is on the first
    scan after it. SRS treats what the planning MRI shows: N is new, outside."""
    def build() -> Resources:
        pid = f"ct-unlinked-new-{'grows' if grows else 'stable'}"
        resources, _, bm = base(pid)
        a, n = b.tumor(pid, "lesion-A"), b.tumor(pid, "lesion-N")
        volume = b.rt_volume(pid, "vol-PTV1", whole_brain=False)
        return [*resources, a, n, volume, *sizes(pid, a, (-409, 15)),
                b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
                *sizes(pid, a, (-310, 10), (-40, 10)),
                *sizes(pid, n, (-310, 8), (-40, 15 if grows else 9))]
    return build


def check_new_after_unlinked(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "local-progression-after-srs-out-of-field"
    assert body["rano_bm"]["category"] == "PD"
    assert "lesion-N" in body["situation"]["out_of_field_lesions"]


def check_new_after_unlinked_cards(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] == "srs"
    assert "outside" in result["cards"][0]["summary"]


def six_new_lesions_after_srs() -> Resources:
    pid = "ct-six-new"
    resources, _, bm = base(pid)
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    resources += [a, volume, *sizes(pid, a, (-420, 15)),
                  b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
                  *sizes(pid, a, (-300, 10), (-40, 10))]
    for i in range(6):
        tumor = b.tumor(pid, f"lesion-N{i}")
        resources += [tumor, *sizes(pid, tumor, (-40, 9))]
    return resources


def check_new_lesions_not_reirradiated(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "disseminated-progression-after-local"
    focal = [o for o in body["options"] if o["code"] in ("srs", "fsrt")]
    assert focal and not any(o["reirradiation"] for o in focal)
    assert "radionecrosis-risk" not in warning_codes(body)


def check_new_lesions_cards(result: dict[str, Any]) -> None:
    assert "radionecrosis-risk" not in card_topics(result)
    focal = [label for label in labels(result) if "SRS" in label or "FSRT" in label]
    assert focal and not any("re-irradiation" in label for label in focal)


def six_similar_lesions_after_wbrt_with_seizure() -> Resources:
    pid = "ct-no-dominant"
    resources, _, bm = base(pid, kps=90)
    whole = b.rt_volume(pid, "vol-wbrt", whole_brain=True)
    resources += [whole, b.rt_course(pid, "wbrt", whole, 3000, 10, day(-600), day(-590),
                                     reason=bm), b.symptom(pid, "seizure", onset=day(-20))]
    for i in range(6):
        tumor = b.tumor(pid, f"lesion-{i + 1}")
        resources += [tumor, *sizes(pid, tumor, (-400, 10 + i % 2), (-40, 15 + i % 2))]
    return resources


def check_no_dominant(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "disseminated-progression-after-wbrt"
    assert option_codes(body)[0] != "surgery"
    surgery = next(o for o in body["options"] if o["code"] == "surgery")
    assert surgery["selected_patients_only"]


def check_no_dominant_cards(result: dict[str, Any]) -> None:
    assert card_topics(result)[0] != "surgery"


def distant_status_without_lesion() -> Resources:
    pid = "ct-distant"
    resources, _, bm = base(pid)
    a = b.tumor(pid, "lesion-A")
    volume = b.rt_volume(pid, "vol-srs-A", whole_brain=False, lesions=("lesion-A",))
    return [*resources, a, volume, *sizes(pid, a, (-420, 15)),
            b.rt_course(pid, "srs", volume, 2000, 1, day(-400), reason=bm),
            *sizes(pid, a, (-300, 10), (-60, 10)),
            b.disease_status(pid, "ds", day(-30), "worsened", focus=(bm,), qualifier="distant")]


def check_distant(body: dict[str, Any]) -> None:
    assert body["situation"]["code"] == "local-progression-after-srs-out-of-field"
    assert body["situation"]["position_unknown"] is False
    assert "pseudoprogression-possible" not in warning_codes(body)


def check_distant_cards(result: dict[str, Any]) -> None:
    assert "pseudoprogression-possible" not in card_topics(result)


VIGNETTES = [
    Vignette("responder-after-wbrt",
             "Table 2: partial response = '>= 30% decrease in sum longest distance relative to "
             "baseline'; a lesion on the baseline scan is never new (clinical-model §6)",
             responder_after_wbrt, check_responder, silent),
    Vignette("responder-after-surgery",
             "clinical-model §6: 'not having been measured before the therapy is not evidence "
             "that it appeared after'", responder_after_surgery, check_responder, silent),
    Vignette("new-lesion-after-pre-therapy-scan",
             "clinical-model §6: a new lesion 'appears on a scan after an earlier scan on which "
             "it was absent (a pre-therapy scan of other lesions counts)'",
             new_lesion_after_pre_therapy_scan, check_new_lesion_out_of_field,
             check_out_of_field_card),
    Vignette("in-field-after-later-course",
             "review §2: progressive BCBM 'has been treated with any form of local therapy and "
             "recurred or progressed after it'", in_field_after_later_course,
             check_in_field_anchor, check_in_field_cards),
    Vignette("unlinked-srs-volume",
             "clinical-model §10: 'never \"outside\" by default; say the link is missing, treat "
             "SRS/FSRT as possible re-irradiation, and give the radionecrosis and "
             "pseudoprogression warnings'", unlinked_srs_volume, check_position_unknown,
             check_position_unknown_cards),
    Vignette("codex-status-volume-extension",
             "review §4.2: 'Salvage surgery remains the mainstay method ... when progression "
             "occurs within previously irradiated lesions'", codex_status_with_volume_extension,
             check_codex_in_field, check_codex_cards),
    Vignette("progression-without-identified-lesion",
             "clinical-model §10: unknown position relative to prior SRS/FSRT volumes: never "
             "'outside' by default", status_without_lesion, check_never_outside_by_default,
             check_never_outside_cards),
    Vignette("mixed-in-field-and-new-lesion",
             "review §4.2: within a previously irradiated volume surgery is the mainstay; outside "
             "it 'both surgery and repeated SRS/FSRT are considerable options [36]'",
             mixed_progression, check_mixed, check_mixed_cards),
    Vignette("deterioration-with-stable-imaging",
             "review §3: 'Post-radiation necrosis (PRN) could mimic the progression of the BCBM' "
             "- the work-up (MRS, PET, SPECT, perfusion MRI [23-29]) comes first",
             deterioration_stable_imaging, check_work_up_first, check_work_up_cards),
    Vignette("new-lesion-under-immunotherapy",
             "review Table 2: progressive disease by 'New lesions (except patients who receive "
             "immunotherapy)'", new_lesion_on_pembrolizumab, check_immunotherapy,
             check_immunotherapy_cards),
    Vignette("dominant-symptomatic-lesion-after-wbrt",
             "review §4.3: 'In multiple BCBM, surgery can be combined with SRS/FSRT or WBRT, "
             "especially if there is a dominant lesion that causes significant edema, bleeding, "
             "or neurological symptoms [47,48]'", disseminated_after_wbrt_symptomatic,
             check_dominant_surgery, check_dominant_cards),
    Vignette("switch-line-only-without-local-options",
             "review §5: 'If the intracranial progression occurs during a systemic treatment and "
             "there are no options of local therapy, it is reasonable to switch systemic therapy "
             "lines'", in_field_on_trastuzumab, check_switch_conditional, check_switch_cards),
    Vignette("five-countable-lesions-after-wbrt",
             "review Figure 1A: 'Salvage fractionated stereotactic radiotherapy (5 x 6 Gy) for "
             "five progressive brain metastases after whole-brain radiotherapy'; Table 1: FSRT "
             "for 'tumors larger than 2 cm'", five_lesions_after_wbrt(large=False),
             check_focal_first("srs"), check_focal_first_cards("srs")),
    Vignette("five-countable-lesions-after-wbrt-one-over-2-cm",
             "review Table 1: FSRT 3 x 7-9 Gy or 5 x 5-7 Gy for 'tumors larger than 2 cm'",
             five_lesions_after_wbrt(large=True), check_focal_first("fsrt"),
             check_focal_first_cards("fsrt")),
    Vignette("new-lesion-after-unlinked-srs",
             "clinical-model §6: a new lesion appears 'after an earlier scan on which it was "
             "absent (a pre-therapy scan of other lesions counts)'",
             new_lesion_after_unlinked_srs(grows=False), check_new_after_unlinked,
             check_new_after_unlinked_cards),
    Vignette("growing-new-lesion-after-unlinked-srs",
             "review §4.2: progression outside the previously irradiated volume: 'both surgery "
             "and repeated SRS/FSRT are considerable options [36]'",
             new_lesion_after_unlinked_srs(grows=True), check_new_after_unlinked,
             check_new_after_unlinked_cards),
    Vignette("six-new-lesions-after-srs-are-not-re-irradiated",
             "review §4.2 [40-42]: the PRN figures are for repeat SRS of a previously irradiated "
             "volume; new lesions outside it are first-course SRS/FSRT",
             six_new_lesions_after_srs, check_new_lesions_not_reirradiated,
             check_new_lesions_cards),
    Vignette("symptomatic-without-a-dominant-lesion-after-wbrt",
             "review §4.3: surgery 'especially if there is a dominant lesion that causes "
             "significant edema, bleeding, or neurological symptoms'",
             six_similar_lesions_after_wbrt_with_seizure, check_no_dominant,
             check_no_dominant_cards),
    Vignette("distant-progression-without-a-lesion",
             "CodeX progression qualifier 'distant': the progression is outside the treated "
             "volumes; only the lesion count is missing", distant_status_without_lesion,
             check_distant, check_distant_cards),
]
IDS = [v.name for v in VIGNETTES]


@pytest.fixture
def api():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


@pytest.mark.parametrize("vignette", VIGNETTES, ids=IDS)
def test_through_the_assessment_api(api, vignette: Vignette) -> None:
    response = api.post(f"/api/assessment?date={date.today().isoformat()}",
                        data=json.dumps(b.collection(vignette.build())),
                        content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    vignette.check_assessment(response.get_json())


@pytest.mark.integration
@pytest.mark.parametrize("vignette", VIGNETTES, ids=IDS)
def test_through_patient_view_without_prefetch(live_service, clean_fhir_server,
                                               vignette: Vignette) -> None:
    vignette.check_cards(patient_view_without_prefetch(
        live_service, clean_fhir_server, vignette.build(), access_token="ct-token"))
