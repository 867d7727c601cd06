"""POST /api/assessment (api-contract.md) on a minimal Flask app holding only this blueprint."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from cds_service.web.assessment_api import bp
from tests.support import fhir_builders as b
from tests.support import synthetic_patients as syn


@pytest.fixture
def api():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


def post(api, body, query: str = "?date=2024-03-01", content_type: str = "application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.post(f"/api/assessment{query}", data=data, content_type=content_type)


def test_in_field_progression_bundle_gives_the_contract_json(api) -> None:
    response = post(api, b.collection(syn.progressive_after_srs_in_field()))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["assessment_date"] == "2024-03-01"
    assert body["situation"]["code"] == "local-progression-after-srs-in-field"
    assert body["performance_status"] == {"kps": 80, "ecog": None, "good": True, "basis": "KPS 80"}
    assert body["subtype"]["code"] == "her2"
    assert body["rano_bm"]["category"] == "PD"
    assert [o["rank"] for o in body["options"]] == list(range(1, len(body["options"]) + 1))
    srs = next(o for o in body["options"] if o["code"] == "srs")
    assert {"total_dose_gy": 20.0, "fractions": 1, "lesion": "lesion-A"} .items() \
        <= srs["regimens"][0].items()
    assert {w["code"] for w in body["warnings"]} >= {"radionecrosis-risk",
                                                     "pseudoprogression-possible"}
    assert isinstance(body["gpa"]["score"], float)


@pytest.mark.parametrize("bundle_type", ["collection", "searchset", "transaction"])
def test_each_accepted_bundle_type(api, bundle_type: str) -> None:
    bundle = b.transaction(syn.disseminated_after_wbrt())
    bundle["type"] = bundle_type
    response = post(api, bundle)
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "disseminated-progression-after-wbrt"


def test_date_changes_the_assessment(api) -> None:
    bundle = b.collection(syn.progressive_after_srs_in_field())
    before = post(api, bundle, "?date=2023-12-01").get_json()  # before the 18 mm scan
    assert before["situation"]["code"] == "no-progression"
    assert before["options"] == []


def test_default_date_is_today(api) -> None:
    response = post(api, b.collection(syn.untreated_bcbm()), query="")
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "not-salvage"


@pytest.mark.parametrize("value", ["2024-13-01", "01/03/2024", "2024-3-1", "today", ""])
def test_bad_date_is_400_naming_date(api, value: str) -> None:
    response = post(api, b.collection(syn.untreated_bcbm()), f"?date={value}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad-request" and body["field"] == "date"
    assert "date" in body["message"]


@pytest.mark.parametrize(("body", "content_type", "field"), [
    ("{not json", "application/json", "(body)"),
    ("", "application/json", "(body)"),
    ("[1, 2]", "application/json", "(body)"),
    (json.dumps({"resourceType": "Bundle", "type": "collection"}), "text/plain", "Content-Type"),
    (json.dumps({"resourceType": "Patient", "id": "x"}), "application/json", "resourceType"),
    (json.dumps({"resourceType": "Bundle", "type": "batch", "entry": []}), "application/json",
     "type"),
    (json.dumps({"resourceType": "Bundle", "type": "document"}), "application/json", "type"),
    (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": {}}),
     "application/json", "entry"),
    (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": ["x"]}),
     "application/json", "entry[0]"),
    (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": 3}]}),
     "application/json", "entry[0].resource"),
    (json.dumps({"resourceType": "Bundle", "type": "collection",
                 "entry": [{"resource": {"id": "no-type"}}]}), "application/json",
     "entry[0].resource"),
])
def test_bad_body_is_400_with_a_message(api, body: str, content_type: str, field: str) -> None:
    response = post(api, body, content_type=content_type)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["error"] == "bad-request"
    assert payload["field"] == field
    assert payload["message"]


def test_fhir_json_media_type_is_accepted(api) -> None:
    response = post(api, b.collection(syn.untreated_bcbm()), content_type="application/fhir+json")
    assert response.status_code == 200


def test_empty_bundle_is_not_applicable_not_an_error(api) -> None:
    response = post(api, {"resourceType": "Bundle", "type": "collection", "entry": []})
    assert response.status_code == 200
    assert response.get_json()["situation"]["code"] == "not-applicable"


def test_garbage_inside_resources_never_500(api) -> None:
    weird = [{"resourceType": "Observation", "id": "w1", "code": "x", "valueQuantity": "y",
              "effectiveDateTime": "yesterday"},
             {"resourceType": "Condition", "id": "w2", "code": {"coding": "nope"},
              "onsetDateTime": 5},
             {"resourceType": "Procedure", "id": "w3", "performedPeriod": []},
             {"resourceType": "BodyStructure", "id": "w4", "identifier": [None, 3]}]
    response = post(api, b.collection(weird + syn.progressive_after_srs_in_field()))
    assert response.status_code == 200


def test_two_patients_in_one_bundle_is_400(api) -> None:
    resources = syn.untreated_bcbm() + syn.disseminated_after_wbrt()
    response = post(api, b.collection(resources))
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "entry" and "2 Patient resources" in body["message"]


# --- issue 13 ("Clinical trust II"): vignettes through /api/assessment ---------------------------
# Each expectation quotes the review (Spalek & Mandat 2022) or the guideline it follows.

def assessed(api, resources) -> dict:
    response = post(api, b.collection(resources))
    assert response.status_code == 200
    return response.get_json()


def test_her2_after_tucatinib_regimen_lists_t_dxd_first(api) -> None:
    from tests.support import trust_vignettes as v
    body = assessed(api, v.her2_progressing_on_tucatinib())
    codes = [r["code"] for r in body["systemic_regimens"]]
    # review §5: "If the intracranial progression occurs during a systemic treatment and there
    # are no options of local therapy, it is reasonable to switch systemic therapy lines."
    assert "tucatinib-trastuzumab-capecitabine" not in codes
    # review §5.3: "Even better results were found in the recently published subgroup analysis
    # from a phase III DESTINY-Breast03 trial." [75]
    assert codes[:2] == ["trastuzumab-deruxtecan", "neratinib-capecitabine"]
    assert codes.index("neratinib-capecitabine") < codes.index("lapatinib-capecitabine")


def test_triple_negative_lists_sacituzumab_govitecan_before_temozolomide(api) -> None:
    body = assessed(api, syn.disseminated_after_wbrt())
    codes = [r["code"] for r in body["systemic_regimens"]]
    # review §5.2: "Sacituzumab govitecan ... is approved for the treatment of patients with
    # metastatic triple-negative breast cancer [66]. The early results of a clinical trial
    # NCT03995706 showed an intracranial activity of sacituzumab govitecan in patients with BCBM"
    assert codes[0] == "sacituzumab-govitecan"
    assert codes.index("sacituzumab-govitecan") < codes.index("temozolomide")


def test_srs_after_wbrt_cites_each_series_for_what_it_reported(api) -> None:
    body = assessed(api, syn.progressive_after_wbrt_limited())
    srs = next(o for o in body["options"] if o["code"] == "srs")["rationale"]
    # review §4.1: median OS 19 [30], 14 [31], 11.7 [32], 9.8 [33], 11.4 months [34]; and [35]:
    # "Median survival after salvage radiotherapy was low, but still significantly better in
    # HER2-positive patients compared with HER2-negative patients (6 months vs. 2 months"
    assert "9.8-19 months after salvage SRS [30-34]" in srs
    assert "6 months if HER2-positive vs 2 months if HER2-negative" in srs
    assert "9.8-19 months) [30-35]" not in srs
    # review §4.1: "Higher Karnofsky performance score (>= 90) ... [31]"; "better performance
    # status (Karnofsky performance score >= 70) ... [32]" — only [32] used 70.
    assert "KPS >= 90, Score Index for Radiosurgery >= 6" in srs and "KPS >= 70" in srs
    assert "[31-33]" not in srs


def test_supportive_care_does_not_cite_re_wbrt_survival_for_a_patient_never_given_wbrt(api) -> None:
    body = assessed(api, syn.leptomeningeal_after_srs())  # SRS only, KPS 60
    bsc = next(o for o in body["options"] if o["code"] == "best-supportive-care")
    assert "3.3 months" not in bsc["rationale"] and 49 not in bsc["references"]
    # review §4.1: "The most important prognostic factor in both groups was performance status."
    assert "most important prognostic factor in reirradiated patients [34]" in bsc["rationale"]


def test_in_field_surgery_says_what_ref_38_found(api) -> None:
    body = assessed(api, syn.progressive_after_srs_in_field())
    surgery = next(o for o in body["options"] if o["code"] == "surgery")["rationale"]
    # review §4.2 [38]: "The group consisted of 32 patients ... Moreover, in four cases,
    # postoperative specimens showed only PRN."
    assert "in 4 of 32 patients resected after Gamma Knife SRS the specimen showed only PRN [38]" \
        in surgery
    assert "PRN only in 4 resected lesions" not in surgery


def test_leptomeningeal_gpa_keeps_the_score_and_withholds_the_median(api) -> None:
    body = assessed(api, syn.leptomeningeal_after_srs())
    gpa = body["gpa"]
    # review §4.4: "the real benefit of such a treatment is disputable, and the prognosis
    # remains very poor."
    assert isinstance(gpa["score"], float) and gpa["median_survival_months"] is None
    assert "very poor" in gpa["median_withheld"]
    # Sperduto 2020 [57]: "2473 patients with breast cancer with newly diagnosed brain metastases"
    assert any("first diagnosis of BCBM" in n for n in gpa["notes"])


def test_gpa_median_is_given_outside_leptomeningeal_disease(api) -> None:
    gpa = assessed(api, syn.progressive_after_wbrt_limited())["gpa"]
    assert gpa["median_survival_months"] == 12.9 and gpa["median_withheld"] is None
    assert any("first diagnosis of BCBM" in n for n in gpa["notes"])


def beyond(body: dict) -> dict[str, dict]:
    return {item["topic"]: item for item in body["beyond_review"]}


def test_beyond_review_ha_wbrt_with_memantine_for_a_first_wbrt(api) -> None:
    from tests.support import trust_vignettes as v
    body = assessed(api, v.disseminated_after_srs())
    assert "wbrt" in [o["code"] for o in body["options"]]
    line = beyond(body)["ha-wbrt-memantine"]
    # ASCO-SNO-ASTRO 2021 (reference notes): "WBRT: offer memantine + hippocampal avoidance if
    # there are no hippocampal lesions and expected survival is >= 4 months"
    assert f"Breast GPA median {body['gpa']['median_survival_months']:g} months" in line["text"]
    assert "NRG Oncology CC001" in line["source"]
    # never mixed with the review's evidence: no option rationale or warning names it
    assert all("hippocampal" not in o["rationale"].lower() for o in body["options"])
    assert all("hippocampal" not in w["message"].lower() for w in body["warnings"])


def test_beyond_review_ha_wbrt_without_a_gpa_says_to_check_survival(api) -> None:
    from tests.support import trust_vignettes as v
    body = assessed(api, v.disseminated_after_srs(with_kps=False))
    assert body["gpa"]["score"] is None
    assert "not computable" in beyond(body)["ha-wbrt-memantine"]["text"]


def test_beyond_review_litt_and_radionecrosis_for_in_field_progression(api) -> None:
    body = assessed(api, syn.progressive_after_srs_in_field())
    lines = beyond(body)
    # EANO-ESMO 2021 (reference notes): "treat radionecrosis with steroids, bevacizumab or
    # surgery/LITT"
    assert "LITT" in lines["litt"]["text"] and "EANO-ESMO" in lines["litt"]["source"]
    assert "corticosteroids" in lines["radionecrosis-management"]["text"]
    assert "pseudoprogression-possible" in {w["code"] for w in body["warnings"]}


def test_beyond_review_is_empty_without_its_triggers(api) -> None:
    body = assessed(api, syn.progressive_after_wbrt_limited())  # SRS/surgery, concordant receptors
    assert body["beyond_review"] == []


def test_beyond_review_receptor_discordance_with_specimen_and_date(api) -> None:
    from tests.support import trust_vignettes as v
    body = assessed(api, v.triple_negative_primary_her2_positive_metastasis())
    text = beyond(body)["receptor-discordance"]["text"]
    assert ("HER2 negative on 2020-01-20 (primary breast tumour core biopsy) vs positive on "
            "2024-02-25 (brain metastasis resection)") in text
    assert body["subtype"]["her2"] == "positive"  # the latest result is the one used


def test_receptor_discordance_ignores_results_after_the_assessment_date(api) -> None:
    from tests.support import trust_vignettes as v
    bundle = b.collection(v.triple_negative_primary_her2_positive_metastasis())
    body = post(api, bundle, "?date=2024-02-24").get_json()  # the day before the brain specimen
    assert body["options"] and "ha-wbrt-memantine" in beyond(body)  # still progressive
    assert "receptor-discordance" not in beyond(body)
