"""map_draft_orders: CodeX course prescriptions and MedicationRequests of draftOrders."""

from __future__ import annotations

import pytest

from cds_service.mapping import map_draft_orders
from cds_service.model.patient import TherapyClass as C
from cds_service.model.patient import TreatmentKind as K
from tests.support import fhir_builders as b
from tests.support.variants import PID, coded, edited

FOCAL = b.rt_volume(PID, "v-new", whole_brain=False, lesions=("L1",))
WHOLE = b.rt_volume(PID, "v-wb", whole_brain=True)
TUMOR = b.tumor(PID, "L1")
BM = b.brain_metastases(PID)


def rt(orders):
    return [(o.resource_id, o.total_dose_cgy, o.fractions, o.whole_brain, o.kind, o.volume_ids,
             o.lesion_ids, o.reirradiation) for o in orders.radiotherapy]


@pytest.mark.parametrize("where", ["draft-bundle", "context", "contained"])
def test_prescribed_volume_is_found_wherever_it_is(where):
    order = b.rt_prescription(PID, "sr1", FOCAL, 2000, 1, reirradiation=True)
    drafts, context = [order], [TUMOR]
    if where == "draft-bundle":
        drafts.append(FOCAL)
    elif where == "context":
        context.append(FOCAL)
    else:
        order["contained"] = [edited(FOCAL, id="v")]
        order["extension"][1]["extension"][0]["valueReference"] = {"reference": "#v"}
    result = map_draft_orders(b.draft_orders(drafts), context_resources=context)
    volume = "ServiceRequest/sr1#v" if where == "contained" else "BodyStructure/v-new"
    assert rt(result) == [("ServiceRequest/sr1", 2000.0, 1, False, K.SRS, (volume,), ("L1",),
                           True)]
    assert result.skipped == ()


@pytest.mark.parametrize("volume, dose, fractions, kind", [
    (FOCAL, 2000, 1, K.SRS), (FOCAL, 3000, 5, K.FSRT), (WHOLE, 3000, 10, K.WBRT),
    (WHOLE, 2000, 10, K.WBRT)])
def test_draft_kind_uses_the_one_rule(volume, dose, fractions, kind):
    result = map_draft_orders(b.draft_orders([b.rt_prescription(PID, "sr", volume, dose,
                                                                fractions), volume]))
    assert [o.kind for o in result.radiotherapy] == [kind]


def test_dose_in_gy():
    order = b.rt_prescription(PID, "sr", FOCAL, 18, 1)
    order["extension"][1]["extension"][1]["valueQuantity"].update(code="Gy", unit="Gy")
    assert map_draft_orders([order, FOCAL]).radiotherapy[0].total_dose_cgy == 1800.0


def test_unknown_volume_needs_a_brain_reason():
    order = b.rt_prescription(PID, "sr", FOCAL, 2000, 1)
    result = map_draft_orders(b.draft_orders([order]))  # volume nowhere
    assert result.radiotherapy == () and "cannot tell" in result.skipped[0].reason
    order["reasonReference"] = [b.ref(BM)]
    result = map_draft_orders(b.draft_orders([order]), context_resources=[BM])
    assert rt(result) == [("ServiceRequest/sr", 2000.0, 1, None, None,
                           ("BodyStructure/v-new",), (), None)]


def test_volume_outside_the_brain_is_skipped():
    spine = edited(FOCAL, location=coded(b.SNOMED, "2748008", "Spinal cord"))
    result = map_draft_orders([b.rt_prescription(PID, "sr", spine, 800, 1), spine])
    assert result.radiotherapy == () and "not in the brain" in result.skipped[0].reason


@pytest.mark.parametrize("status, kept", [("draft", True), ("active", True), ("on-hold", True),
                                          ("revoked", False), ("entered-in-error", False)])
def test_draft_status(status, kept):
    order = b.rt_prescription(PID, "sr", FOCAL, 2000, 1, status=status)
    assert bool(map_draft_orders([order, FOCAL]).radiotherapy) is kept


def test_medication_drafts_class_and_steroid_flag():
    drafts = b.draft_orders([
        b.medication_request(PID, "m1", "letrozole", status="draft"),
        b.medication_request(PID, "m2", "tucatinib", status="draft"),
        b.medication_request(PID, "m3", "dexamethasone", status="draft", dose_mg=4),
        edited(b.medication_request(PID, "m4", "letrozole", status="draft"),
               medicationCodeableConcept={"text": "ondansetron 8 mg"}),
    ])
    result = map_draft_orders(drafts)
    assert [(m.resource_id, m.drug, m.therapy_class, m.is_steroid) for m in result.medications] == [
        ("MedicationRequest/m1", "letrozole", C.HORMONAL, False),
        ("MedicationRequest/m2", "tucatinib", C.HER2_DIRECTED, False),
        ("MedicationRequest/m3", "dexamethasone", None, True),
        ("MedicationRequest/m4", None, None, False),
    ]


def test_combination_product_gives_one_draft_per_drug():
    order = edited(b.medication_request(PID, "m", "letrozole", status="draft"),
                   medicationCodeableConcept={"text": "Phesgo (pertuzumab/trastuzumab)"})
    assert [m.drug for m in map_draft_orders(order).medications] == ["pertuzumab", "trastuzumab"]


def test_empty_and_odd_inputs():
    assert map_draft_orders(None).radiotherapy == ()
    assert map_draft_orders({}).medications == ()
    assert map_draft_orders({"resourceType": "Bundle", "entry": [{"resource": None}]}) == (
        map_draft_orders([]))
    broken = b.rt_prescription(PID, "sr", FOCAL, 2000, 1)
    broken["extension"][1]["extension"] = "not a list"
    broken["reasonReference"] = [b.ref(BM)]
    result = map_draft_orders([broken], context_resources=[BM])
    assert [o.kind for o in result.radiotherapy] == [None]  # a brain order, dose unknown
