"""Corticosteroid use and its dose trend, and the active systemic anti-cancer therapies
(fhir-input-profile.md, "Medications"; MedicationRequest and MedicationStatement).

Active means: MedicationRequest status active with a prescription intent (order, plan...; a
proposal is not one); MedicationStatement status active.

Steroid trend (RANO-BM needs it; the rule itself is the model's, `model/series.py`, so that the
trend as of an assessment date follows it too): the latest active systemic steroid order is
compared with the steroid order dated just before it (whatever its status: a dose change usually stops the old
order). Doses are compared as dexamethasone-equivalent mg per day when both orders give a
frequency, else per dose when neither does. INCREASED / DECREASED / STABLE follow; UNKNOWN when a
dose (or the earlier order) is missing — one order alone cannot tell a trend; NONE when no
systemic steroid is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cds_service.mapping import codes
from cds_service.mapping.context import Notes, ResourceIndex
from cds_service.mapping.drugs import MedicationInfo, dosages, medication_info, systemic_route
from cds_service.mapping.read import (
    FhirDate,
    Json,
    codings,
    integer,
    number,
    obj,
    objs,
    parse_date,
    quantity,
    reference_of,
    status_code,
    text,
    timepoint,
)
from cds_service.model.patient import SteroidOrder, SteroidTrend, SteroidUse, SystemicTherapy
from cds_service.model.series import MISSING_STEROID_TREND, current_systemic, steroid_use

MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement")

# Dose units -> factor to mg.
MASS_UNITS_MG = {"mg": 1.0, "milligram": 1.0, "milligrams": 1.0, "g": 1000.0, "ug": 0.001,
                 "mcg": 0.001, "microgram": 0.001, "micrograms": 0.001}
# timing.repeat.periodUnit -> days (UCUM units of time FHIR allows that make sense for doses).
PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0}
# timing.code (v3 GTSAbbreviation) -> administrations per day.
TIMING_CODES_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "Q4H": 6.0, "Q6H": 4.0,
                        "Q8H": 3.0, "Q12H": 2.0, "QOD": 0.5, "AM": 1.0, "PM": 1.0}


@dataclass(frozen=True)
class MedicationFacts:
    steroids: SteroidUse  # latest on record, with every order (`SteroidUse.orders`)
    systemic_therapies: tuple[SystemicTherapy, ...]  # latest active order of each drug
    systemic_orders: tuple[SystemicTherapy, ...]  # every active order, oldest first


@dataclass(frozen=True)
class _Order:
    resource: Json
    info: MedicationInfo
    when: FhirDate | None
    active: bool


def is_active(resource: Json) -> bool:
    status = status_code(resource.get("status"))
    if status not in codes.ACTIVE_MED_STATUS:
        return False
    if resource.get("resourceType") == "MedicationRequest":
        return status_code(resource.get("intent")) in codes.PRESCRIPTION_INTENTS
    return True


def order_date(resource: Json) -> FhirDate | None:
    """authoredOn (MedicationRequest) or the start of effective[x] / dateAsserted
    (MedicationStatement); else the start of the dosage's boundsPeriod."""
    if resource.get("resourceType") == "MedicationRequest":
        when = parse_date(resource.get("authoredOn"))
    else:
        period = obj(resource.get("effectivePeriod"))
        when = ((parse_date(period.get("start")) or parse_date(period.get("end"))) if period
                else timepoint(resource, "effective")) or parse_date(resource.get("dateAsserted"))
    for dosage in dosages(resource):
        bounds = obj(obj(obj(dosage.get("timing")).get("repeat")).get("boundsPeriod"))
        when = when or parse_date(bounds.get("start"))
    return when


def map_medications(index: ResourceIndex, notes: Notes) -> MedicationFacts:
    orders: list[_Order] = []
    for rtype in MEDICATION_TYPES:
        for resource in index.of_type(rtype):
            order = notes.guard(resource, _order, resource, index, notes)
            if order is not None:
                orders.append(order)
    systemic_orders = _systemic_orders(orders)
    return MedicationFacts(_steroids(orders, notes), current_systemic(systemic_orders),
                           systemic_orders)


def _order(resource: Json, index: ResourceIndex, notes: Notes) -> _Order | None:
    info = medication_info(resource, index)
    if not info.hits:
        return None
    if status_code(resource.get("status")) == "entered-in-error":
        notes.skip(resource, "status entered-in-error")
        return None
    return _Order(resource, info, order_date(resource), is_active(resource))


def _sort_key(order: _Order) -> tuple[date, str]:
    return (order.when.start if order.when else date.min, reference_of(order.resource))


# --- Steroids ------------------------------------------------------------------------------------
def _steroids(orders: list[_Order], notes: Notes) -> SteroidUse:
    """Every systemic steroid order as the model's `SteroidOrder`; the trend is the model's one
    rule (`series.steroid_use`), on the record's latest date here and as of the assessment date in
    `facts.as_of`."""
    use = steroid_use(_steroid_order(o) for o in orders if _steroid(o) is not None)
    if use.trend is SteroidTrend.UNKNOWN:
        notes.miss(MISSING_STEROID_TREND)
    return use


def _steroid_order(order: _Order) -> SteroidOrder:
    dose = _dex_dose(order)
    return SteroidOrder(when=order.when.start if order.when else None, active=order.active,
                        dex_mg=dose[0] if dose else None, per=dose[1] if dose else None,
                        source=reference_of(order.resource), end=order_end(order.resource))


def order_end(resource: Json) -> date | None:
    """The day an order ends, when it says so: MedicationStatement effectivePeriod.end, the
    dosage's boundsPeriod.end, else MedicationRequest dispenseRequest.validityPeriod.end."""
    ends = [parse_date(obj(resource.get("effectivePeriod")).get("end"))]
    ends += [parse_date(obj(obj(obj(obj(d.get("timing")).get("repeat")).get("boundsPeriod"))
                        ).get("end")) for d in dosages(resource)]
    ends.append(parse_date(obj(obj(resource.get("dispenseRequest")).get("validityPeriod"))
                           .get("end")))
    days = [e.day for e in ends if e is not None and e.day is not None]
    return max(days) if days else None


def _steroid(order: _Order) -> codes.Drug | None:
    steroid = next((h.drug for h in order.info.hits if h.drug.is_steroid), None)
    if steroid is None or not systemic_route(order.resource, order.info):
        return None
    return steroid


def _dex_dose(order: _Order) -> tuple[float, str] | None:
    """(dexamethasone-equivalent mg, "day" or "dose") of the first dosage, or None."""
    drug = _steroid(order)
    entries = dosages(order.resource)
    if drug is None or drug.dex_equivalent_mg is None or not entries:
        return None
    dosage = entries[0]
    dose = next((quantity(obj(r).get("doseQuantity")) for r in objs(dosage.get("doseAndRate"))
                 if "doseQuantity" in obj(r)), None)
    if dose is None or dose.unit not in MASS_UNITS_MG:
        return None
    dex_mg = dose.value * MASS_UNITS_MG[dose.unit] * codes.DEX_REFERENCE_MG / drug.dex_equivalent_mg
    per_day = _per_day(obj(dosage.get("timing")))
    return (dex_mg * per_day, "day") if per_day is not None else (dex_mg, "dose")


def _per_day(timing: Json) -> float | None:
    repeat = obj(timing.get("repeat"))
    frequency = integer(repeat.get("frequency"))
    period, unit = number(repeat.get("period")), text(repeat.get("periodUnit"))
    if period and unit in PERIOD_DAYS:
        return (frequency or 1) / (period * PERIOD_DAYS[unit])
    for coding in codings(timing.get("code")):
        if coding.code.upper() in TIMING_CODES_PER_DAY:
            return TIMING_CODES_PER_DAY[coding.code.upper()]
    return None


# --- Systemic therapy ----------------------------------------------------------------------------
def _systemic_orders(orders: list[_Order]) -> tuple[SystemicTherapy, ...]:
    """One entry per active anti-cancer drug per order, oldest first (the dated series)."""
    out = []
    for order in sorted((o for o in orders if o.active), key=_sort_key):
        for hit in order.info.hits:
            if hit.drug.therapy_class is None:
                continue
            out.append(SystemicTherapy(
                drug=hit.drug.name, therapy_class=hit.drug.therapy_class,
                source=reference_of(order.resource), rxnorm=hit.rxnorm,
                start=order.when.day if order.when else None))
    return tuple(out)
