"""Suggestion resources: CodeX course prescriptions, ServiceRequests, MedicationRequests — all valid
FHIR R4 carrying the project's Coding next to the standard ones."""

from __future__ import annotations

import pytest

from cards import codes
from cards.suggestions import (
    InvalidResource,
    OrderContext,
    option_suggestion,
    orderable_regimen,
    rt_targets,
    validate_resource,
)
from cds_service.model.assessment import Option, Regimen, SystemicRegimen
from tests.support.assessments import whole_brain_option
from tests.support.fhir_checks import assert_valid_fhir, doses, extension, project_codings

CTX = OrderContext(patient_id="syn-1", encounter_id="enc-1", reason_reference="Condition/bm")


def resource_of(suggestion: dict) -> dict:
    [action] = suggestion["actions"]
    assert action["type"] == "create"
    return action["resource"]


def test_fsrt_reirradiation_is_a_codex_course_prescription() -> None:
    option = Option("fsrt", 2, "FSRT", "r", (15,), regimens=(Regimen(30, 5, "lesion-A"),
                                                            Regimen(27, 3, "lesion-A")),
                    reirradiation=True, lesions=("lesion-A",))
    suggestion = option_suggestion(option, CTX, recommended=False)
    resource = resource_of(suggestion)
    assert_valid_fhir(resource)
    assert resource["meta"]["profile"] == [codes.COURSE_PRESCRIPTION_PROFILE]
    assert resource["status"] == "draft" and resource["intent"] == "original-order"
    assert {"system": codes.SNOMED, "code": "1217123003",
            "display": "Radiotherapy course of treatment"} in resource["code"]["coding"]
    assert project_codings(resource) == [codes.option_coding("fsrt")]
    [intent] = extension(resource, codes.PROCEDURE_INTENT_EXTENSION)
    assert intent["valueCodeableConcept"]["coding"][0]["code"] == "363676003"
    # re-irradiation: the regimen with the lowest late-effect BED (5 x 6 Gy, not 3 x 9 Gy)
    assert doses(resource) == [(3000, 5)]
    assert extension(resource, codes.REIRRADIATION_EXTENSION) == [
        {"url": codes.REIRRADIATION_EXTENSION, "valueBoolean": True}]
    [volume] = resource["contained"]
    assert volume["resourceType"] == "BodyStructure"
    assert volume["identifier"][0]["value"] == "lesion-A"
    assert volume["locationQualifier"][0]["coding"][0]["code"] == "255609007"  # Partial
    assert resource["subject"] == {"reference": "Patient/syn-1"}
    assert resource["encounter"] == {"reference": "Encounter/enc-1"}
    assert resource["reasonReference"] == [{"reference": "Condition/bm"}]
    assert resource["identifier"][0]["value"] == f"urn:uuid:{suggestion['uuid']}"
    assert "re-irradiation" in suggestion["label"] and "lesion-A" in suggestion["label"]
    assert suggestion["isRecommended"] is False


def test_srs_reirradiation_takes_the_lower_dose() -> None:
    option = Option("srs", 1, "SRS", "r", (40,), regimens=(Regimen(24, 1, "A"), Regimen(20, 1, "A")),
                    reirradiation=True)
    assert doses(resource_of(option_suggestion(option, CTX, recommended=True))) == [(2000, 1)]


def test_srs_first_course_takes_the_first_regimen_per_lesion() -> None:
    option = Option("srs", 1, "SRS", "r", (30,), regimens=(
        Regimen(20, 1, "L1"), Regimen(24, 1, "L1"), Regimen(18, 1, "L2")))
    resource = resource_of(option_suggestion(option, CTX, recommended=True))
    assert doses(resource) == [(2000, 1), (1800, 1)]
    assert [v["identifier"][0]["value"] for v in resource["contained"]] == ["L1", "L2"]
    assert not extension(resource, codes.REIRRADIATION_EXTENSION)
    assert "24 Gy × 1" in resource["note"][0]["text"]  # the alternative is named


@pytest.mark.parametrize(("code", "reirradiation", "expected"), [
    ("wbrt", False, [(2000, 5)]), ("re-wbrt", True, [(2000, 10)])])
def test_whole_brain_courses(code: str, reirradiation: bool, expected: list) -> None:
    suggestion = option_suggestion(whole_brain_option(code, reirradiation), CTX, recommended=True)
    resource = resource_of(suggestion)
    assert_valid_fhir(resource)
    assert doses(resource) == expected
    assert resource["contained"][0]["locationQualifier"][0]["coding"][0]["code"] == "255503000"
    assert bool(extension(resource, codes.REIRRADIATION_EXTENSION)) is reirradiation
    assert suggestion["isRecommended"] is True


def test_fsrt_regimen_not_tied_to_a_lesion_goes_to_every_targeted_lesion() -> None:
    option = Option("fsrt", 1, "FSRT", "r", (15,), regimens=(Regimen(30, 5), Regimen(21, 3)),
                    lesions=("L1", "L2", "L3"))
    resource = resource_of(option_suggestion(option, CTX, recommended=True))
    assert doses(resource) == [(3000, 5)] * 3
    assert [v["identifier"][0]["value"] for v in resource["contained"]] == ["L1", "L2", "L3"]
    assert resource["note"][0]["text"].count("21 Gy in 3 × 7 Gy") == 1


def test_srs_dose_is_never_guessed_without_a_diameter() -> None:
    table_only = Option("srs", 1, "SRS", "r", (14,), lesions=("L1",), regimens=(
        Regimen(20, 1, note="max diameter <= 2 cm"), Regimen(15, 1, note="3.1-4 cm")))
    assert option_suggestion(table_only, CTX, recommended=True) is None
    partly = Option("srs", 1, "SRS", "r", (14,), lesions=("L1", "L2"),
                    regimens=(Regimen(18, 1, "L1"), Regimen(20, 1), Regimen(15, 1)))
    suggestion = option_suggestion(partly, CTX, recommended=True)
    assert doses(resource_of(suggestion)) == [(1800, 1)]
    assert "not included, no diameter: L2" in suggestion["label"]


def test_rt_option_without_a_regimen_has_no_suggestion() -> None:
    assert option_suggestion(Option("srs", 1, "SRS", "r", ()), CTX, recommended=True) is None
    assert rt_targets(Option("surgery", 1, "S", "r", ())) == []


@pytest.mark.parametrize(("code", "snomed"), [
    ("surgery", "70586009"), ("tumor-board", "3457005"), ("best-supportive-care", "306237005")])
def test_service_request_options(code: str, snomed: str) -> None:
    suggestion = option_suggestion(Option(code, 1, code, "r", (82,)), CTX, recommended=True)
    resource = resource_of(suggestion)
    assert_valid_fhir(resource)
    assert resource["resourceType"] == "ServiceRequest" and resource["status"] == "draft"
    assert [c["code"] for c in resource["code"]["coding"]] == [snomed, code]
    assert project_codings(resource) == [codes.option_coding(code)]


def test_systemic_therapy_orders_each_drug_of_the_first_orderable_regimen() -> None:
    regimens = (SystemicRegimen("iniparib-irinotecan", "Iniparib", (68,), investigational=True),
                SystemicRegimen("tucatinib-trastuzumab-capecitabine", "HER2CLIMB", (70,)),
                SystemicRegimen("trastuzumab-deruxtecan", "T-DXd", (75,)))
    option = Option("systemic-therapy", 3, "Systemic therapy", "r", (70,))
    suggestion = option_suggestion(option, CTX, recommended=False, regimens=regimens)
    resources = [a["resource"] for a in suggestion["actions"]]
    # tucatinib: the RxNorm ingredient 2361285 (cds_service/mapping/rxnorm.py), not 2361286
    assert [r["medicationCodeableConcept"]["coding"][0]["code"] for r in resources] == [
        "2361285", "224905", "194000"]
    for resource in resources:
        assert_valid_fhir(resource)
        assert resource["resourceType"] == "MedicationRequest"
        assert resource["medicationCodeableConcept"]["coding"][0]["system"] == codes.RXNORM
        assert project_codings(resource) == [
            codes.regimen_coding("tucatinib-trastuzumab-capecitabine")]
        assert resource["groupIdentifier"]["value"] == f"urn:uuid:{suggestion['uuid']}"
    assert suggestion["label"] == "Order Tucatinib + trastuzumab + capecitabine"
    note = resources[0]["note"][0]["text"]
    assert "Iniparib (investigational)" in note  # the reason, in the order's note


def test_t_dxd_is_orderable_with_its_confirmed_ingredient_code() -> None:
    # review §5.3: "Even better results were found in the recently published subgroup analysis
    # from a phase III DESTINY-Breast03 trial" [75] — T-DXd is ordered, no longer only listed.
    regimens = (SystemicRegimen("trastuzumab-deruxtecan", "T-DXd", (75,)),
                SystemicRegimen("lapatinib-capecitabine", "Lapatinib", (71, 72)))
    option = Option("systemic-therapy", 3, "Systemic therapy", "r", (75,))
    suggestion = option_suggestion(option, CTX, recommended=False, regimens=regimens)
    coding = suggestion["actions"][0]["resource"]["medicationCodeableConcept"]["coding"][0]
    assert (coding["code"], coding["display"]) == ("2267582", "fam-trastuzumab deruxtecan")
    assert len(suggestion["actions"]) == 1


def test_an_unconfirmed_code_is_listed_not_ordered_and_the_label_says_why() -> None:
    regimens = (SystemicRegimen("sacituzumab-govitecan", "Sacituzumab govitecan", (66, 67)),
                SystemicRegimen("temozolomide", "Temozolomide", (61, 62)))
    option = Option("systemic-therapy", 3, "Systemic therapy", "r", (66,))
    suggestion = option_suggestion(option, CTX, recommended=False, regimens=regimens)
    assert suggestion["label"] == (
        "Order Temozolomide (Sacituzumab govitecan: not orderable here)")  # reasons: the note
    note = suggestion["actions"][0]["resource"]["note"][0]["text"]
    assert "Sacituzumab govitecan (RxNorm code of sacituzumab govitecan not confirmed)" in note


def test_systemic_therapy_without_an_orderable_regimen_has_no_suggestion() -> None:
    regimens = (SystemicRegimen("sacituzumab-govitecan", "SG", (66,)),)
    assert orderable_regimen(regimens) is None
    option = Option("systemic-therapy", 1, "Systemic therapy", "r", ())
    assert option_suggestion(option, CTX, recommended=True, regimens=regimens) is None


def test_selected_patients_only_is_said_in_the_label() -> None:
    option = Option("surgery", 1, "S", "r", (), selected_patients_only=True)
    assert option_suggestion(option, CTX, recommended=False)["label"].startswith(
        "Selected patients only: ")


def test_lesion_ids_in_labels_are_escaped() -> None:
    option = Option("srs", 1, "SRS", "r", (), regimens=(Regimen(20, 1, "<img src=x>\n[a](b)"),))
    label = option_suggestion(option, CTX, recommended=True)["label"]
    assert "<img" not in label and "\n" not in label


@pytest.mark.parametrize("resource", [
    {"resourceType": "ServiceRequest", "intent": "order", "subject": {"reference": "Patient/x"}},
    {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
     "subject": {"reference": "Patient/x"}, "note": [{"text": ""}]},
    {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
     "subject": {"reference": "Patient/x"}, "unknownMember": 1},
    {"resourceType": "NoSuchResource"},
])
def test_invalid_resources_are_refused(resource: dict) -> None:
    with pytest.raises(InvalidResource):
        validate_resource(resource)
