"""Options per situation (clinical-model §4), performance-status gating, warnings (§7)."""

from __future__ import annotations

import pytest

from cds_service.model import assessment as a
from cds_service.model.assess import assess
from cds_service.model.evidence import REFERENCES
from tests.support.records import (
    ABSENT,
    ON,
    ecog,
    kps,
    lesion,
    present,
    record,
    status,
    treatment,
)


def grown(lid: str, before: float = 12, after: float = 18):
    return lesion(lid, ("2023-06-01", before), ("2024-02-01", after))


SRS = treatment("srs", "2023-03-01", ("A",))
WBRT = treatment("wbrt", "2022-05-27")

CASES = {
    a.LOCAL_AFTER_SRS_IN_FIELD: (
        dict(lesions=(grown("A"),), treatments=(SRS,)),
        ["surgery", "fsrt", "srs", "systemic-therapy", "tumor-board"]),
    a.LOCAL_AFTER_SRS_OUT_OF_FIELD: (
        dict(lesions=(lesion("A", ("2023-06-01", 10), ("2024-02-01", 9)),
                      lesion("B", ("2024-02-01", 9))), treatments=(SRS,)),
        ["srs", "surgery", "fsrt", "systemic-therapy", "tumor-board"]),
    a.LOCAL_AFTER_WBRT: (
        dict(lesions=(grown("B", 20, 26), grown("C")), treatments=(WBRT,)),
        ["srs", "surgery", "fsrt", "systemic-therapy", "tumor-board"]),
    a.LOCAL_AFTER_SURGERY: (
        dict(lesions=(lesion("A", ("2023-06-01", 4), ("2024-02-01", 14)),),
             treatments=(treatment("surgery", "2023-02-01", ("A",)),)),
        ["srs", "fsrt", "systemic-therapy", "tumor-board"]),
    a.DISSEMINATED_AFTER_LOCAL: (
        # the pre-SRS scan of A shows the five N lesions absent: they are new (review Table 2)
        dict(lesions=(lesion("A", ("2023-02-20", 15), ("2023-06-01", 10), ("2024-02-01", 9)),
                      *(lesion(f"N{i}", ("2024-02-01", 8)) for i in range(5))),
             treatments=(SRS,)),
        ["wbrt", "srs", "fsrt", "surgery", "systemic-therapy", "tumor-board"]),
    # good PS, five countable lesions <= 2 cm: focal before re-WBRT, SRS before FSRT (Table 1,
    # Figure 1A); surgery for a dominant symptomatic lesion (§4.3 [47, 48]) after them
    a.DISSEMINATED_AFTER_WBRT: (
        dict(lesions=tuple(grown(f"L{i}") for i in range(5)), treatments=(WBRT,)),
        ["srs", "fsrt", "re-wbrt", "surgery", "systemic-therapy", "tumor-board"]),
    a.LEPTOMENINGEAL: (
        dict(leptomeningeal=present("2024-02-01"), treatments=(SRS,)),
        ["wbrt", "srs", "fsrt", "systemic-therapy", "tumor-board"]),
}


@pytest.mark.parametrize("code", list(CASES))
def test_options_of_each_situation_in_rank_order(code: str) -> None:
    kw, expected = CASES[code]
    result = assess(record(**kw), ON)
    assert result.situation.code == code
    assert [o.code for o in result.options] == expected
    assert [o.rank for o in result.options] == list(range(1, len(expected) + 1))
    for option in result.options:
        assert option.rationale and option.references
        assert set(option.references) <= set(REFERENCES)
    assert set(result.references) >= {n for o in result.options for n in o.references}


@pytest.mark.parametrize("kw", [
    dict(breast_cancer=ABSENT, lesions=(grown("A"),), treatments=(SRS,)),
    dict(brain_metastases=ABSENT),
    dict(lesions=(grown("A"),)),  # untreated
    dict(lesions=(lesion("A", ("2023-06-01", 12), ("2024-02-01", 12)),), treatments=(SRS,)),
])
def test_silent_situations_get_no_option_regimen_or_warning(kw: dict) -> None:
    result = assess(record(kps=kps(40), **kw), ON)
    assert not result.situation.is_progressive
    assert result.options == () and result.systemic_regimens == () and result.warnings == ()


def test_good_performance_after_wbrt_limited_is_not_gated() -> None:
    result = assess(record(**CASES[a.LOCAL_AFTER_WBRT][0]), ON)
    assert not any(o.selected_patients_only for o in result.options if o.code != "systemic-therapy")
    assert "best-supportive-care" not in [o.code for o in result.options]


@pytest.mark.parametrize("score", [kps(60), ecog(2)])
def test_poor_performance_adds_supportive_care_and_gates_local_options(score) -> None:
    kw = dict(CASES[a.LOCAL_AFTER_WBRT][0], kps=None, ecog=None)
    kw["kps" if score.source.endswith("kps") else "ecog"] = score
    result = assess(record(**kw), ON)
    codes = [o.code for o in result.options]
    assert codes[-2:] == ["best-supportive-care", "tumor-board"]
    for option in result.options:
        if option.code in ("srs", "surgery", "fsrt"):
            assert option.selected_patients_only
            assert "Performance status is poor" in option.rationale
    assert "poor-performance-status" in [w.code for w in result.warnings]


def test_poor_performance_after_wbrt_disseminated_ranks_supportive_care_first() -> None:
    kw = dict(CASES[a.DISSEMINATED_AFTER_WBRT][0], kps=kps(50))
    result = assess(record(**kw), ON)
    assert result.options[0].code == "best-supportive-care"
    assert result.options[0].rank == 1
    assert result.options[-1].code == "tumor-board"


def test_unknown_performance_status_is_named_not_assumed() -> None:
    result = assess(record(**dict(CASES[a.LOCAL_AFTER_WBRT][0], kps=None)), ON)
    assert result.performance_status.good is None
    assert "best-supportive-care" not in [o.code for o in result.options]
    assert all(o.selected_patients_only for o in result.options
               if o.code in ("srs", "surgery", "fsrt"))
    assert any(m.startswith("performance status") for m in result.missing_data)
    missing = [w for w in result.warnings if w.code == "missing-data"]
    assert missing and "performance status" in missing[0].message


def test_srs_regimens_follow_each_lesion_and_large_lesion_gets_a_size_warning() -> None:
    rec = record(lesions=(grown("B", 15, 20), grown("C", 24, 30), grown("D", 38, 45)),
                 treatments=(WBRT,))
    result = assess(rec, ON)
    srs = next(o for o in result.options if o.code == "srs")
    assert {(r.lesion, r.total_dose_gy) for r in srs.regimens} == {
        ("B", 20.0), ("B", 24.0), ("C", 18.0)}
    assert srs.lesions == ("B", "C")
    warning = next(w for w in result.warnings if w.code == "srs-size-limit")
    assert "D measures 4.5 cm" in warning.message
    assert "fsrt" in [o.code for o in result.options]


def test_no_srs_option_when_every_lesion_is_over_4_cm() -> None:
    rec = record(lesions=(grown("D", 38, 46),), treatments=(WBRT,))  # +21 %: RANO-BM PD
    codes = [o.code for o in assess(rec, ON).options]
    assert "srs" not in codes and "fsrt" in codes and "surgery" in codes


def test_unknown_diameter_gives_table_ranges_and_a_missing_note() -> None:
    rec = record(treatments=(WBRT,), disease_statuses=(status("2024-02-05"),))
    result = assess(rec, ON)
    srs = next(o for o in result.options if o.code == "srs")
    assert {r.total_dose_gy for r in srs.regimens} == {20.0, 24.0, 18.0, 15.0}
    assert all(r.lesion is None for r in srs.regimens)
    # no progressing lesion identified: named once, as the lesions' number and size
    assert "number and size of the progressing lesions" in result.missing_data


def test_fsrt_after_wbrt_only_for_lesions_over_2_cm() -> None:
    small = record(lesions=(grown("B", 12, 18),), treatments=(WBRT,))
    assert "fsrt" not in [o.code for o in assess(small, ON).options]
    large = record(lesions=(grown("B", 16, 21),), treatments=(WBRT,))
    assert "fsrt" in [o.code for o in assess(large, ON).options]


def test_focal_after_wbrt_only_for_countable_lesions() -> None:
    rec = record(lesions=tuple(grown(f"L{i:02}") for i in range(11)), treatments=(WBRT,))
    codes = [o.code for o in assess(rec, ON).options]
    assert codes == ["re-wbrt", "surgery", "systemic-therapy", "tumor-board"]


def test_figure_1a_five_lesions_after_wbrt_10x3_offers_fsrt_5x6() -> None:
    rec = record(lesions=tuple(grown(f"L{i}") for i in range(5)),
                 treatments=(treatment("wbrt", "2022-05-27", dose_cgy=3000, fractions=10),))
    fsrt = next(o for o in assess(rec, ON).options if o.code == "fsrt")
    assert (30.0, 5) in [(r.total_dose_gy, r.fractions) for r in fsrt.regimens]
    # good PS and countable lesions: the patient meets the review's selection (Figure 1A)
    assert not fsrt.selected_patients_only and fsrt.reirradiation
    assert fsrt.lesions == ("L0", "L1", "L2", "L3", "L4")


def test_in_field_progression_warns_radionecrosis_and_pseudoprogression() -> None:
    result = assess(record(**CASES[a.LOCAL_AFTER_SRS_IN_FIELD][0]), ON)
    codes = [w.code for w in result.warnings]
    assert "radionecrosis-risk" in codes and "pseudoprogression-possible" in codes
    rn = next(w for w in result.warnings if w.code == "radionecrosis-risk")
    # review §4.2: "The 10%, 20%, and 50% probabilities of PRN were associated with irradiated
    # volumes receiving 40 Gy or higher at 0.28 cm3, 0.76 cm3, and 1.6 cm3" [40]
    assert ("0.28 / 0.76 / 1.6 cm³ receiving 40 Gy or more were associated with 10 / 20 / 50 %"
            in rn.message)
    assert "14.3 % (2-36 %)" in rn.message
    assert set(rn.references) >= {40, 42}
    focal = [o for o in result.options if o.code in ("srs", "fsrt")]
    assert focal and all(o.reirradiation for o in focal)


def test_pathology_confirmed_progression_has_no_pseudoprogression_warning() -> None:
    kw = dict(CASES[a.LOCAL_AFTER_SRS_IN_FIELD][0],
              disease_statuses=(status("2024-02-10", lesions=("A",), pathology=True),))
    codes = [w.code for w in assess(record(**kw), ON).warnings]
    assert "pseudoprogression-possible" not in codes
    assert "radionecrosis-risk" in codes


def test_out_of_field_progression_has_no_radionecrosis_warning() -> None:
    result = assess(record(**CASES[a.LOCAL_AFTER_SRS_OUT_OF_FIELD][0]), ON)
    codes = [w.code for w in result.warnings]
    assert "radionecrosis-risk" not in codes and "pseudoprogression-possible" not in codes
    assert not next(o for o in result.options if o.code == "srs").reirradiation


def test_leptomeningeal_after_prior_wbrt_offers_re_wbrt_not_wbrt() -> None:
    result = assess(record(leptomeningeal=present("2024-02-01"), treatments=(WBRT,)), ON)
    codes = [o.code for o in result.options]
    assert codes[0] == "re-wbrt" and "wbrt" not in codes
    assert result.options[0].selected_patients_only


def test_assessment_json_matches_the_contract_shape() -> None:
    body = assess(record(**CASES[a.LOCAL_AFTER_SRS_IN_FIELD][0]), ON).to_json()
    assert set(body) >= {"situation", "performance_status", "subtype", "gpa", "rano_bm",
                         "options", "systemic_regimens", "warnings", "missing_data"}
    assert body["situation"]["code"] == a.LOCAL_AFTER_SRS_IN_FIELD
    srs = next(o for o in body["options"] if o["code"] == "srs")
    assert srs["regimens"][0] == {"total_dose_gy": 20.0, "fractions": 1, "lesion": "A",
                                  "note": "max diameter 1.8 cm"}


def test_leptomeningeal_with_poor_performance_gets_no_focal_radiotherapy() -> None:
    """Review §4.4: "SRT and FSRT may be applied to carefully selected patients with limited
    localized leptomeningeal metastases who are in good performance status" — not with poor PS
    (found by an outside clinical review: SRS/FSRT ranked above supportive care at KPS 60)."""
    poor = assess(record(leptomeningeal=present("2024-02-01"), treatments=(SRS,),
                         kps=kps(50)), ON)
    codes = [o.code for o in poor.options]
    assert "srs" not in codes and "fsrt" not in codes and "best-supportive-care" in codes
    good = assess(record(leptomeningeal=present("2024-02-01"), treatments=(SRS,),
                         kps=kps(90)), ON)
    assert {"srs", "fsrt"} <= {o.code for o in good.options}


def test_hormonal_therapy_alone_is_no_line_to_keep() -> None:
    """Review §5.4: hormonal therapy alone is not a salvage option — progression on letrozole
    alone gets no "keep the line with local therapy" advice (its warning says what to do)."""
    from tests.support.records import drug
    rec = record(her2="negative", er="positive", pr="positive",
                 lesions=(grown("B", 20, 26), grown("C")), treatments=(WBRT,),
                 systemic_therapies=(drug("letrozole", "hormonal"),))
    result = assess(rec, ON)
    systemic = next(o for o in result.options if o.code == "systemic-therapy")
    assert systemic.note is None and "keep the line" not in systemic.rationale
    assert "hormonal-therapy-not-recommended" in [w.code for w in result.warnings]
