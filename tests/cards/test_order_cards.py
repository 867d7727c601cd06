"""Order cards from hand-built findings: update carries the whole corrected draft, delete only the id."""

from __future__ import annotations

import copy

from cards import codes
from cards.order_cards import corrected_resource, order_cards, order_summary
from cds_service.model.assessment import OrderCorrection, OrderFinding
from cds_service.protocol.response_schema import response_errors
from tests.support import fhir_builders as b
from tests.support.fhir_checks import assert_valid_fhir, doses, extension

VOLUME = b.rt_volume("p1", "vol-A", whole_brain=False, lesions=("lesion-A",))
DRAFT = b.rt_prescription("p1", "srs-draft", VOLUME, 2400, 1)
DRAFTS = b.draft_orders([DRAFT])


def test_update_suggestion_carries_the_corrected_draft() -> None:
    finding = OrderFinding(
        code="srs-size-limit", message="SRS 24 Gy exceeds the Table 1 dose for a 2.5 cm lesion. "
        "Use 18 Gy.", resource_id="ServiceRequest/srs-draft", references=(14,),
        corrections=(OrderCorrection("update", total_dose_cgy=1800, fractions=1,
                                     description="18 Gy × 1 for 2.1–3.0 cm"),))
    [card] = order_cards([finding], DRAFTS)
    assert response_errors({"cards": [card]}) == []
    assert card["summary"] == "SRS 24 Gy exceeds the Table 1 dose for a 2.5 cm lesion"
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert suggestion["isRecommended"] is True
    [action] = suggestion["actions"]
    assert action["type"] == "update" and action["resourceId"] == "ServiceRequest/srs-draft"
    resource = action["resource"]
    assert_valid_fhir(resource)
    assert resource["id"] == "srs-draft" and doses(resource) == [(1800, 1)]
    # everything else is the draft's
    unchanged = {k: v for k, v in resource.items() if k != "extension"}
    assert unchanged == {k: v for k, v in DRAFT.items() if k != "extension"}
    assert "Ordered: Radiotherapy course of treatment — 24 Gy × 1" in card["detail"]
    assert "`" not in card["detail"] and "ServiceRequest/" not in card["detail"]


def test_reirradiation_flag_correction() -> None:
    corrected = corrected_resource(DRAFT, OrderCorrection("update", reirradiation=True))
    assert extension(corrected, codes.REIRRADIATION_EXTENSION)[0]["valueBoolean"] is True
    assert doses(corrected) == [(2400, 1)]
    assert extension(DRAFT, codes.REIRRADIATION_EXTENSION) == []  # the draft is not modified


def test_delete_suggestion_has_only_the_resource_id() -> None:
    finding = OrderFinding(code="hormonal-therapy-not-recommended", message="Letrozole alone.",
                           resource_id="MedicationRequest/letro",
                           corrections=(OrderCorrection("delete", description="Cancel letrozole"),))
    [card] = order_cards([finding], b.draft_orders([]))
    [action] = card["suggestions"][0]["actions"]
    assert action == {"type": "delete", "description": "Cancel letrozole",
                      "resourceId": "MedicationRequest/letro"}
    assert card["source"]["topic"]["code"] == "hormonal-therapy-not-recommended"


def test_advice_only_finding_has_no_suggestion() -> None:
    finding = OrderFinding(code="radionecrosis-risk", message="Repeat SRS to vol-A.",
                           resource_id="ServiceRequest/srs-draft", references=(40, 42))
    [card] = order_cards([finding], DRAFTS)
    assert "suggestions" not in card and "selectionBehavior" not in card
    assert response_errors({"cards": [card]}) == []


def test_ambiguous_update_is_left_out_and_said() -> None:
    two_volumes = copy.deepcopy(DRAFT)
    two_volumes["extension"].append(copy.deepcopy(two_volumes["extension"][1]))
    finding = OrderFinding(code="srs-size-limit", message="Too much.",
                           resource_id="ServiceRequest/srs-draft",
                           corrections=(OrderCorrection("update", total_dose_cgy=1800),))
    [card] = order_cards([finding], b.draft_orders([two_volumes]))
    assert "suggestions" not in card
    assert "by hand" in card["detail"]


def test_order_summary_is_the_first_clause_of_a_long_sentence() -> None:
    message = ("Prior WBRT on record: the draft 10 x 3 Gy (30 Gy) exceeds the re-WBRT regimen; "
               "repeat WBRT is usually more conservative, 10 x 2 Gy (20 Gy), and for carefully "
               "selected patients [49].")
    assert order_summary(message) == ("Prior WBRT on record: the draft 10 x 3 Gy (30 Gy) exceeds "
                                      "the re-WBRT regimen")
    assert len(order_summary("word " * 80)) < 140


def test_correction_label_names_the_values() -> None:
    finding = OrderFinding(code="re-wbrt", message="m.", resource_id="ServiceRequest/srs-draft",
                           corrections=(OrderCorrection("update", 2000, 10, True,
                                                        "Change to re-WBRT 10 x 2 Gy"),))
    [card] = order_cards([finding], DRAFTS)
    assert card["suggestions"][0]["label"] == (
        "Change to re-WBRT 10 x 2 Gy (2000 cGy in 10 fractions, re-irradiation)")


def test_no_finding_no_card() -> None:
    assert order_cards([], DRAFTS) == []


def test_hormonal_order_summary_is_whole_and_names_no_resource_id() -> None:
    finding = OrderFinding(
        code="hormonal-therapy-not-recommended", resource_id="MedicationRequest/letrozole-draft",
        message=("Letrozole would be the only systemic therapy for progressive BCBM: hormonal "
                 "therapy alone is not a salvage option (only case reports [77-79]); CDK4/6 "
                 "inhibitors showed intracranial activity in HR-positive BCBM [80, 81]."))
    drug = b.medication_request("p1", "letrozole-draft", "letrozole", status="draft")
    [card] = order_cards([finding], b.draft_orders([drug]))
    assert card["summary"] == ("Letrozole would be the only systemic therapy for progressive BCBM: "
                               "hormonal therapy alone is not a salvage option")
    assert "Ordered: " in card["detail"] and "letrozole-draft" not in card["detail"]


def test_flag_only_correction_is_offered_even_with_several_prescribed_volumes() -> None:
    second = b.rt_volume("p1", "vol-2", whole_brain=False, lesions=("lesion-B",))
    draft = copy.deepcopy(DRAFT)
    extra = copy.deepcopy(draft["extension"][1])
    extra["extension"][0]["valueReference"] = {"reference": f"BodyStructure/{second['id']}"}
    draft["extension"].append(extra)
    correction = OrderCorrection("update", total_dose_cgy=2400, fractions=1, reirradiation=True,
                                 description="Mark the course as re-irradiation")
    finding = OrderFinding(code="radionecrosis-risk", message="Re-irradiates lesion-A.",
                           resource_id="ServiceRequest/srs-draft", corrections=(correction,))
    [card] = order_cards([finding], b.draft_orders([draft, second]))
    [suggestion] = card["suggestions"]
    resource = suggestion["actions"][0]["resource"]
    assert extension(resource, codes.REIRRADIATION_EXTENSION)[0]["valueBoolean"] is True
    assert doses(resource) == [(2400, 1), (2400, 1)]
