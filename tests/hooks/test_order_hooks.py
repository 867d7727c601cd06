"""order-select / order-sign: each check of clinical model §9 with a passing and a failing order.

Real mapping and model, in process, full prefetch; the draft orders are CodeX course
prescriptions and MedicationRequests built with tests/support/fhir_builders. A failing order gets a card
(warning, or info for "SRS/FSRT to the cavity is preferred") with an `update` carrying the
corrected order where the fix is a change of the order; a passing order gets no card.
"""

from __future__ import annotations

import pytest

from cards import codes
from cds_service.protocol.response_schema import response_errors
from tests.support import fhir_builders as b
from tests.support.fhir_checks import assert_valid_fhir, doses, extension
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, patient_id
from tests.support.synthetic_patients import resource as synthetic_resource

AFTER_WBRT = "progressive-after-wbrt-limited"  # lesions B 19 mm, C 16 mm; WBRT 30 Gy/10; letrozole
IN_FIELD = "progressive-after-srs-in-field"  # lesion A 18 mm inside the SRS volume vol-srs-A


def resource(name: str, rid: str) -> dict:
    return synthetic_resource(name, rid)


def call(client, hook: str, resources: list[dict], drafts: list[dict], *,
         selections: list[str] | None = None) -> list[dict]:
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    body = hook_request(pid, hook, prefetch=full_prefetch(resources),
                        draft_orders=b.draft_orders(drafts), selections=selections)
    response = client.post(f"/cds-services/bcbm-{hook}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert response_errors(result) == []
    return result["cards"]


def sign(client, name_or_resources, *drafts: dict) -> list[dict]:
    resources = (PATIENTS[name_or_resources]() if isinstance(name_or_resources, str)
                 else name_or_resources)
    return call(client, "order-sign", resources, list(drafts))


def new_volume(pid: str, lesion: str, vid: str | None = None) -> dict:
    return b.rt_volume(pid, vid or f"vol-new-{lesion}", whole_brain=False, lesions=(lesion,))


def srs_to(pid: str, lesion: str, cgy: float, fractions: int = 1, **kw) -> tuple[dict, dict]:
    volume = new_volume(pid, lesion)
    return b.rt_prescription(pid, f"rx-{lesion}", volume, cgy, fractions, **kw), volume


def only_update(card: dict) -> dict:
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    assert_valid_fhir(action["resource"])
    assert action["resourceId"] == f"ServiceRequest/{action['resource']['id']}"
    return action["resource"]


def topics(cards: list[dict]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


# --- SRS dose by lesion diameter (review Table 1) ----------------------------------------------
def test_srs_dose_within_table_1_passes(client) -> None:
    pid = patient_id(AFTER_WBRT)
    order, volume = srs_to(pid, "lesion-B", 2400)  # 19 mm: 20-24 Gy
    assert sign(client, AFTER_WBRT, order, volume) == []


def test_srs_dose_above_table_1_is_corrected(client) -> None:
    pid = patient_id(AFTER_WBRT)
    order, volume = srs_to(pid, "lesion-B", 3000)
    [card] = sign(client, AFTER_WBRT, order, volume)
    assert card["indicator"] == "warning"
    assert topics([card]) == ["srs-size-limit"]
    corrected = only_update(card)
    assert doses(corrected) == [(2400, 1)]
    assert corrected["id"] == order["id"] and corrected["status"] == "draft"
    assert card["selectionBehavior"] == "at-most-one"


def large_lesion_patient() -> list[dict]:
    resources = PATIENTS[AFTER_WBRT]()
    lesion_b = resource(AFTER_WBRT, "tumor-lesion-B")
    resources.append(b.tumor_size(patient_id(AFTER_WBRT), lesion_b, "2024-02-10", 45,
                                  oid="size-B-large"))
    return resources


def test_srs_to_a_lesion_over_4_cm_becomes_fsrt(client) -> None:
    order, volume = srs_to(patient_id(AFTER_WBRT), "lesion-B", 1500)
    [card] = sign(client, large_lesion_patient(), order, volume)
    assert topics([card]) == ["srs-size-limit"]
    assert doses(only_update(card)) == [(3000, 5)]


def test_fsrt_to_a_lesion_over_4_cm_passes(client) -> None:
    order, volume = srs_to(patient_id(AFTER_WBRT), "lesion-B", 3000, 5)
    assert sign(client, large_lesion_patient(), order, volume) == []


# --- WBRT after WBRT ----------------------------------------------------------------------------
def wbrt(name: str, cgy: float, fractions: int) -> dict:
    return b.rt_prescription(patient_id(name), "rx-wbrt", resource(name, "vol-wbrt"), cgy,
                             fractions)


def test_second_wbrt_at_first_course_dose_becomes_re_wbrt(client) -> None:
    [card] = sign(client, AFTER_WBRT, wbrt(AFTER_WBRT, 3000, 10))
    assert topics([card]) == ["re-wbrt"]
    corrected = only_update(card)
    assert doses(corrected) == [(2000, 10)]
    assert extension(corrected, codes.REIRRADIATION_EXTENSION)[0]["valueBoolean"] is True


def test_re_wbrt_regimen_passes(client) -> None:
    assert sign(client, AFTER_WBRT, wbrt(AFTER_WBRT, 2000, 10)) == []


# --- WBRT for limited progression after surgery alone -------------------------------------------
def after_surgery_patient() -> list[dict]:
    pid = "syn-after-surgery"
    bc = b.breast_cancer(pid)
    bm = b.brain_metastases(pid, onset="2023-01-10", primary=bc)
    lesion = b.tumor(pid, "lesion-S")
    return [
        b.patient(pid, birth_date="1970-06-01", family="Test", given="Surgery"),
        bc, bm, lesion,
        *b.receptors(pid, her2="positive", er="positive", pr="negative"),
        b.karnofsky(pid, 90, effective="2024-02-01"),
        b.tumor_size(pid, lesion, "2023-01-12", 25),
        b.surgery(pid, "resection-2023", "2023-01-20", reason=bm, focus_lesions=(lesion,)),
        b.tumor_size(pid, lesion, "2023-05-01", 12),
        b.tumor_size(pid, lesion, "2024-01-25", 19),
        b.disease_status(pid, "ds-surgery", "2024-01-26", "worsened", focus=(lesion,),
                         qualifier="local"),
    ]


def test_wbrt_after_surgery_alone_gets_an_info_card(client) -> None:
    resources = after_surgery_patient()
    whole_brain = b.rt_volume("syn-after-surgery", "vol-wb-new", whole_brain=True)
    order = b.rt_prescription("syn-after-surgery", "rx-wbrt", whole_brain, 2000, 5)
    [card] = sign(client, resources, order, whole_brain)
    assert card["indicator"] == "info"
    assert topics([card]) == ["srs"]
    assert "suggestions" not in card  # advice: the order itself is not wrong


def test_srs_to_the_cavity_after_surgery_passes(client) -> None:
    order, volume = srs_to("syn-after-surgery", "lesion-S", 2000)
    assert sign(client, after_surgery_patient(), order, volume) == []


# --- repeat SRS/FSRT to a previously irradiated volume --------------------------------------------
def test_repeat_srs_in_field_warns_of_radionecrosis_and_suggests_fsrt(client) -> None:
    pid = patient_id(IN_FIELD)
    order = b.rt_prescription(pid, "rx-resrs", resource(IN_FIELD, "vol-srs-A"), 2000, 1)
    [card] = sign(client, IN_FIELD, order)
    assert topics([card]) == ["radionecrosis-risk"]
    corrected = only_update(card)
    assert doses(corrected) == [(3000, 5)]
    assert extension(corrected, codes.REIRRADIATION_EXTENSION)[0]["valueBoolean"] is True


def test_srs_to_a_never_irradiated_focal_volume_passes(client) -> None:
    # after WBRT only: no prior SRS/FSRT volume, so no radionecrosis-risk card
    order, volume = srs_to(patient_id(AFTER_WBRT), "lesion-C", 2000)
    assert sign(client, AFTER_WBRT, order, volume) == []


# --- hormonal therapy alone ---------------------------------------------------------------------
def test_hormonal_therapy_alone_is_flagged(client) -> None:
    draft = b.medication_request(patient_id(AFTER_WBRT), "rx-letrozole", "letrozole",
                                 status="draft")
    [card] = sign(client, AFTER_WBRT, draft)
    assert topics([card]) == ["hormonal-therapy-not-recommended"]
    assert card["indicator"] == "warning"
    assert "suggestions" not in card  # the fix is to add a regimen, not to change this order


def test_cdk46_inhibitor_order_passes(client) -> None:
    draft = b.medication_request(patient_id(AFTER_WBRT), "rx-abema", "abemaciclib",
                                 status="draft")
    assert sign(client, AFTER_WBRT, draft) == []


# --- scope, selections, round trip ----------------------------------------------------------------
def test_no_card_outside_the_population(client) -> None:
    name = "lung-cancer-with-brain-metastases"
    order, volume = srs_to(patient_id(name), "lesion-E", 3000)
    assert sign(client, name, order, volume) == []


@pytest.mark.parametrize(("selected", "expected"), [("rx-lesion-C", 0), ("rx-lesion-B", 1)])
def test_order_select_checks_the_selected_orders(client, selected: str, expected: int) -> None:
    pid = patient_id(AFTER_WBRT)
    bad, bad_volume = srs_to(pid, "lesion-B", 3000)
    good, good_volume = srs_to(pid, "lesion-C", 2000)
    cards = call(client, "order-select", PATIENTS[AFTER_WBRT](),
                 [bad, bad_volume, good, good_volume],
                 selections=[f"ServiceRequest/{selected}"])
    assert len(cards) == expected


def test_order_sign_checks_every_draft(client) -> None:
    pid = patient_id(AFTER_WBRT)
    bad, bad_volume = srs_to(pid, "lesion-B", 3000)
    worse, worse_volume = srs_to(pid, "lesion-C", 3200)
    assert len(sign(client, AFTER_WBRT, bad, bad_volume, worse, worse_volume)) == 2


def test_the_services_own_radiotherapy_suggestion_passes_the_order_checks(client) -> None:
    """A course prescription suggested on patient-view, signed as is, raises no dose problem."""
    body = hook_request(patient_id(AFTER_WBRT), prefetch=full_prefetch(PATIENTS[AFTER_WBRT]()))
    main = client.post("/cds-services/bcbm-salvage", json=body).get_json()["cards"][0]
    [prescription] = [a["resource"] for s in main["suggestions"] for a in s["actions"]
                      if a["resource"].get("meta", {}).get("profile")
                      == [codes.COURSE_PRESCRIPTION_PROFILE]]
    prescription = dict(prescription, id="from-suggestion")
    assert sign(client, AFTER_WBRT, prescription) == []


def test_every_update_suggestion_carries_its_salvage_option_coding(client) -> None:
    """api-contract: each suggestion resource carries a salvage-option Coding next to SNOMED."""
    from cards import codes as card_codes

    pid = patient_id("progressive-after-wbrt-limited")
    draft = b.rt_prescription(pid, "rx-wbrt-2",
                              synthetic_resource("progressive-after-wbrt-limited", "vol-wbrt"),
                              3000, 10)
    body = hook_request(pid, "order-sign",
                        prefetch=full_prefetch(PATIENTS["progressive-after-wbrt-limited"]()),
                        draft_orders=b.draft_orders([draft]))
    cards = client.post("/cds-services/bcbm-order-sign", json=body).get_json()["cards"]
    updates = [a["resource"] for c in cards for s in c.get("suggestions", []) for a in s["actions"]
               if a["type"] == "update"]
    assert updates
    for resource in updates:
        systems = {(c["system"], c["code"]) for c in resource["code"]["coding"]}
        assert ("http://snomed.info/sct", "1217123003") in systems
        assert (card_codes.SALVAGE_OPTION, "re-wbrt") in systems
