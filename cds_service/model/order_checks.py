"""Checks of draft orders (clinical-model §9) for order-select / order-sign.

Each check is a small function from (facts, one draft) to findings; a correction carries the values
the corrected order must have (the cards layer turns it into an `update` suggestion):
- SRS dose above the Table 1 dose for the target lesion's diameter -> update to the Table 1 dose
  (top of the range; with several lesions in one prescription, the smallest of their maxima);
- SRS to a lesion > 4 cm -> update to FSRT 5 x 6 Gy (`FSRT_FOR_LARGE_LESION`, documented choice);
- WBRT after prior WBRT above 20 Gy or above 2 Gy per fraction -> update to re-WBRT 10 x 2 Gy;
- WBRT for limited progression after surgery alone -> info: SRS/FSRT to the cavity is preferred;
- repeat SRS/FSRT to a previously SRS/FSRT-irradiated volume -> radionecrosis-risk warning (an SRS
  draft gets the FSRT alternative, an FSRT draft without the re-irradiation flag gets the flag);
- hormonal therapy as the only systemic therapy in progressive BCBM -> hormonal-therapy-not-
  recommended (advice only: adding, not removing, is the fix).
Outside the population (not breast cancer with brain metastases) no order is checked.
Dose checks apply to every BCBM patient; the situation-dependent checks to progressive ones.
"""

from __future__ import annotations

from datetime import date

from cds_service.model.anchoring import anchors
from cds_service.model.assessment import (
    LOCAL_AFTER_SURGERY,
    NOT_APPLICABLE,
    OrderCorrection,
    OrderFinding,
    Situation,
)
from cds_service.model.constants import (
    DEFAULT_CONFIG,
    FSRT_FOR_LARGE_LESION,
    RE_WBRT_MAX_DOSE_PER_FRACTION_GY,
    RE_WBRT_MAX_TOTAL_GY,
    RE_WBRT_REGIMEN,
    SRS_FRACTIONS,
    ModelConfig,
)
from cds_service.model.evidence import cite, span
from cds_service.model.facts import (
    as_of,
    cm_text,
    focal_rt_lesions,
    focal_rt_volumes,
    has_prior,
    in_scope,
    latest_diameter,
    lesion_by_id,
    treatments_of,
)
from cds_service.model.patient import (
    DraftMedicationOrder,
    DraftOrders,
    DraftRadiotherapyOrder,
    PatientRecord,
    TherapyClass,
    TreatmentKind,
)
from cds_service.model.rano_bm import assess_rano_bm
from cds_service.model.regimens import srs_max_dose_for_diameter, srs_suitable
from cds_service.model.safety_warnings import COMPOSITE_DOSE_ADVICE, composite_dose_figures
from cds_service.model.situation import classify
from cds_service.model.systemic import hormonal_only
from cds_service.model.vocabulary import OptionCode, Severity, WarningCode

CGY_PER_GY = 100


def _gy(cgy: float) -> str:
    return f"{cgy / CGY_PER_GY:g} Gy"


def _missing(order_id: str, message: str) -> OrderFinding:
    return OrderFinding(code=WarningCode.MISSING_DATA, message=message, resource_id=order_id,
                        severity=Severity.INFO)


def check_srs_dose(record: PatientRecord, order: DraftRadiotherapyOrder) -> list[OrderFinding]:
    """SRS dose against Table 1 for each target lesion; > 4 cm lesions get FSRT instead."""
    rid = order.resource_id
    if not order.lesion_ids:
        return [_missing(rid, "The SRS prescription names no target lesion: its dose cannot be "
                              "checked against the lesion diameter (review Table 1).")]
    lesions = lesion_by_id(record)
    diameters = {lid: latest_diameter(lesions[lid]) if lid in lesions else None
                 for lid in order.lesion_ids}
    unknown = sorted(lid for lid, d in diameters.items() if d is None)
    if unknown:
        return [_missing(rid, f"No diameter on record for lesion(s) {', '.join(unknown)}: the "
                              "SRS dose cannot be checked against review Table 1.")]
    # Every correction of a course that re-irradiates says so, so that this card and the
    # radionecrosis-risk card never suggest the same order with different flags.
    reirradiates = bool(set(order.lesion_ids) & focal_rt_lesions(record)
                        or set(order.volume_ids) & focal_rt_volumes(record))
    flag = True if reirradiates else order.reirradiation
    too_large = {lid: d for lid, d in diameters.items() if d is not None and not srs_suitable(d)}
    if too_large:
        total, fractions = FSRT_FOR_LARGE_LESION
        shown = ", ".join(f"{lid} {cm_text(d)}" for lid, d in sorted(too_large.items()))
        return [OrderFinding(
            code=WarningCode.SRS_SIZE_LIMIT,
            message=(f"SRS is not suitable for lesions larger than 4 cm ({shown}); FSRT is the "
                     f"usual choice for large lesions: {fractions} x {total / fractions:g} Gy "
                     "(review Table 1, Figure 1), or surgery."),
            resource_id=rid, references=cite(14, 15),
            corrections=(OrderCorrection(
                action="update", total_dose_cgy=total * CGY_PER_GY, fractions=fractions,
                reirradiation=flag, option_code=OptionCode.FSRT,
                description=f"Change to FSRT {fractions} x {total / fractions:g} Gy"),))]
    if order.total_dose_cgy is None:
        return [_missing(rid, "The SRS prescription has no total dose: it cannot be checked.")]
    sized = {lid: d for lid, d in diameters.items() if d is not None}
    limits = {lid: srs_max_dose_for_diameter(d) for lid, d in sized.items()}
    allowed_gy = min(v for v in limits.values() if v is not None)
    if order.total_dose_cgy <= allowed_gy * CGY_PER_GY:
        return []
    tightest = min(limits, key=lambda lid: (limits[lid], lid))
    return [OrderFinding(
        code=WarningCode.SRS_SIZE_LIMIT,
        message=(f"SRS dose {_gy(order.total_dose_cgy)} exceeds the review Table 1 dose for "
                 f"lesion {tightest} ({cm_text(sized[tightest])}): at most "
                 f"{allowed_gy:g} Gy in one fraction."),
        resource_id=rid, references=cite(14),
        corrections=(OrderCorrection(
            action="update", total_dose_cgy=allowed_gy * CGY_PER_GY, fractions=SRS_FRACTIONS,
            reirradiation=flag, option_code=OptionCode.SRS,
            description=f"Change the dose to {allowed_gy:g} Gy x 1 (review Table 1)"),))]


def check_reirradiation(record: PatientRecord,
                        order: DraftRadiotherapyOrder) -> list[OrderFinding]:
    """Repeat SRS/FSRT to a previously SRS/FSRT-irradiated volume."""
    overlap_lesions = sorted(set(order.lesion_ids) & focal_rt_lesions(record))
    overlap_volumes = sorted(set(order.volume_ids) & focal_rt_volumes(record))
    flagged = order.reirradiation is True and bool(treatments_of(record, TreatmentKind.SRS,
                                                                 TreatmentKind.FSRT))
    if not (overlap_lesions or overlap_volumes or flagged):
        return []
    where = (f"lesion(s) {', '.join(overlap_lesions)}" if overlap_lesions
             else "a previously irradiated volume")
    v40, crude = composite_dose_figures()
    corrections: tuple[OrderCorrection, ...] = ()
    if order.kind is TreatmentKind.SRS:
        total, fractions = FSRT_FOR_LARGE_LESION
        corrections = (OrderCorrection(
            action="update", total_dose_cgy=total * CGY_PER_GY, fractions=fractions,
            reirradiation=True, option_code=OptionCode.FSRT,
            description=f"Change to FSRT {fractions} x {total / fractions:g} Gy (re-irradiation)"),)
    elif order.reirradiation is not True:
        corrections = (OrderCorrection(
            action="update", total_dose_cgy=order.total_dose_cgy, fractions=order.fractions,
            reirradiation=True, option_code=order.kind.value if order.kind else None,
            description="Mark the course as re-irradiation"),)
    return [OrderFinding(
        code=WarningCode.RADIONECROSIS_RISK,
        message=(f"This course re-irradiates {where} (prior SRS/FSRT): significant risk of "
                 "post-radiation necrosis. " + COMPOSITE_DOSE_ADVICE.format(v40=v40, crude=crude)),
        resource_id=order.resource_id, references=cite(15, 40, 42), corrections=corrections)]


def check_wbrt_after_wbrt(record: PatientRecord,
                          order: DraftRadiotherapyOrder) -> list[OrderFinding]:
    if not has_prior(record, TreatmentKind.WBRT):
        return []
    rid = order.resource_id
    if order.total_dose_cgy is None or not order.fractions:
        return [_missing(rid, "WBRT after prior WBRT without a total dose or fraction count: "
                              "cannot be checked against re-WBRT 10 x 2 Gy.")]
    total_gy = order.total_dose_cgy / CGY_PER_GY
    per_fraction = total_gy / order.fractions
    if total_gy <= RE_WBRT_MAX_TOTAL_GY and per_fraction <= RE_WBRT_MAX_DOSE_PER_FRACTION_GY:
        return []
    total, fractions = RE_WBRT_REGIMEN
    return [OrderFinding(
        code=OptionCode.RE_WBRT,
        message=(f"Prior WBRT on record: the draft {order.fractions} x {per_fraction:g} Gy "
                 f"({total_gy:g} Gy) exceeds the re-WBRT regimen; repeat WBRT is usually more "
                 f"conservative, {fractions} x {total / fractions:g} Gy ({total:g} Gy), and for "
                 "carefully selected patients [49]."),
        resource_id=rid, references=cite(49),
        corrections=(OrderCorrection(
            action="update", total_dose_cgy=total * CGY_PER_GY, fractions=fractions,
            reirradiation=True, option_code=OptionCode.RE_WBRT,
            description=f"Change to re-WBRT {fractions} x {total / fractions:g} Gy"),))]


def check_wbrt_after_surgery(situation: Situation,
                             order: DraftRadiotherapyOrder) -> list[OrderFinding]:
    if situation.code != LOCAL_AFTER_SURGERY:
        return []
    return [OrderFinding(
        code=OptionCode.SRS, severity=Severity.INFO, resource_id=order.resource_id, references=(),
        message=("Limited progression after surgery alone: salvage SRS or FSRT of the cavity / "
                 "tumour bed is the preferred method when performance status is good and it is "
                 "feasible; WBRT is reserved for disseminated progression (review §4.2)."))]


def check_radiotherapy(record: PatientRecord, situation: Situation,
                       order: DraftRadiotherapyOrder) -> list[OrderFinding]:
    kind = order.kind
    if kind is None:
        return [_missing(order.resource_id, "The radiotherapy prescription cannot be classified "
                                            "(treated volume or fraction count missing).")]
    if kind is TreatmentKind.SRS:
        return check_srs_dose(record, order) + check_reirradiation(record, order)
    if kind is TreatmentKind.FSRT:
        return check_reirradiation(record, order)
    if kind is TreatmentKind.WBRT:
        return check_wbrt_after_wbrt(record, order) + check_wbrt_after_surgery(situation, order)
    return []


def check_hormonal_alone(record: PatientRecord, situation: Situation,
                         medications: tuple[DraftMedicationOrder, ...]) -> list[OrderFinding]:
    if not situation.is_progressive:
        return []
    drafts = [m for m in medications if not m.is_steroid and m.therapy_class is not None]
    hormonal = [m for m in drafts if m.therapy_class is TherapyClass.HORMONAL]
    if not hormonal:
        return []
    classes: list[TherapyClass | None] = [t.therapy_class for t in record.systemic_therapies]
    classes += [m.therapy_class for m in drafts]
    if not hormonal_only(classes):
        return []
    return [OrderFinding(
        code=WarningCode.HORMONAL_THERAPY_NOT_RECOMMENDED, resource_id=m.resource_id,
        references=span(77, 81),
        message=(f"{(m.drug or 'This drug').capitalize()} would be the only systemic therapy for "
                 "progressive BCBM: hormonal therapy alone is not a salvage option (only case "
                 "reports [77-79]); CDK4/6 inhibitors showed a moderate intracranial response in "
                 "early-phase trials in HR-positive BCBM [80, 81]."))
        for m in hormonal]


def check_orders(record: PatientRecord, drafts: DraftOrders, on: date,
                 config: ModelConfig = DEFAULT_CONFIG, *,
                 situation: Situation | None = None) -> tuple[OrderFinding, ...]:
    """Findings for the draft orders of one patient on `on`; () outside the population.

    situation: the one `assess(record, on, config)` found, when the caller has it (the order
    hooks assess first, for the cards): it is not classified a second time. A deceased patient's
    orders are checked as a living patient's — the not-applicable situation `assess` gives them
    says nothing about their lesions — so that situation is classified again here."""
    view = as_of(record, on)
    if not in_scope(view):
        return ()
    if situation is None or situation.code == NOT_APPLICABLE:  # (in scope: only the deceased)
        situation = _classify(view, config)
    findings: list[OrderFinding] = []
    for order in drafts.radiotherapy:
        findings += check_radiotherapy(view, situation, order)
    findings += check_hormonal_alone(view, situation, drafts.medications)
    return tuple(findings)


def _classify(view: PatientRecord, config: ModelConfig) -> Situation:
    """The situation of `view` (cut to the date) as `assess` classifies a living patient."""
    by_lesion = anchors(view)  # once, for RANO-BM and the growth since each anchor (as assess)
    return classify(view, assess_rano_bm(view, config, by_lesion), config, by_lesion)[0]
