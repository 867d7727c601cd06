"""Issue 20 item 2: every standard code comes from the one terminology table
(cds_service/mapping/terminology.py) with its published source and check date; every code a
suggestion or a prefetch query uses is in it; an order that would carry an unconfirmed code is not
offered and the card says why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cards import codes as card_codes
from cards.main_card import main_card
from cards.suggestions import (
    OPTION_ORDER_CODES,
    OrderContext,
    option_not_orderable,
    option_suggestion,
)
from cds_service.assessment.queries import PATIENT_DATA_PREFETCH
from cds_service.mapping import codes, rxnorm, terminology
from cds_service.model.assessment import Option
from tests.support.assessments import srs_in_field, whole_brain_option

GOLDEN = Path(__file__).resolve().parents[1] / "hooks" / "golden"
STANDARD = {card_codes.SNOMED, card_codes.LOINC, card_codes.RXNORM}
CTX = OrderContext(patient_id="p", reason_reference="Condition/bm")


def test_every_entry_names_its_source_and_the_date_it_was_checked() -> None:
    for entry in terminology.TABLE:
        assert entry.display and entry.checked_on == "2026-12-01", entry
        if entry.confirmed:
            assert entry.sources, entry
        else:
            assert entry.note.startswith("UNCONFIRMED"), entry


def test_confirmed_means_an_hl7_source_or_two_independent_listings() -> None:
    one_listing = terminology.TermCode(codes.SNOMED, "1", "x", (terminology.UZL,))
    assert not one_listing.confirmed
    assert terminology.TermCode(codes.SNOMED, "1", "x", (terminology.UZL, terminology.LIST_A)
                                ).confirmed
    assert terminology.TermCode(codes.SNOMED, "1", "x", (terminology.MCODE,)).confirmed
    assert not terminology.confirmed(codes.SNOMED, "94493005")  # one listing only
    assert not terminology.confirmed(codes.SNOMED, "123456789")  # not in the table


def _mapping_codes() -> set[tuple[str, str]]:
    """Every (system, code) the mapping's tables read (RxNorm: the regimen ingredient table)."""
    sets = [codes.BREAST_CANCER, codes.BRAIN_METASTASIS, codes.LEPTOMENINGEAL,
            codes.EXTRACRANIAL_METASTASIS, *(s.codes for s in codes.NEUROLOGICAL_SYMPTOMS)]
    found = {(codes.SNOMED, c) for s in sets for c in s.snomed}
    found |= {(codes.ICD10, p) for s in sets for p in s.icd10_prefixes}
    for group in (codes.GENERAL_PRIMARY_CANCER, codes.BREAST_SITES, codes.TREND_CODES,
                  codes.QUALIFIER_CODES, codes.PATHOLOGY_EVIDENCE, codes.VOLUME_MORPHOLOGY,
                  codes.BRAIN_LOCATIONS, codes.BRAIN_SURGERY_CODES, codes.NON_SYSTEMIC_ROUTES,
                  {codes.WHOLE_ORGAN_QUALIFIER, codes.PARTIAL_QUALIFIER, codes.RT_COURSE_CODE}):
        found |= {(codes.SNOMED, c) for c in group}
    found |= set(codes.RECEPTOR_ANSWERS)
    for group in (codes.RECEPTOR_RESULT_CODES, codes.RECEPTOR_PERCENT_CODES,
                  codes.DISEASE_STATUS_CODES, codes.ECOG_ANSWERS, codes.KPS_ANSWERS,
                  {codes.KPS_CODE, codes.ECOG_CODE, codes.TUMOR_SIZE_CODE,
                   codes.LONGEST_DIMENSION_CODE}):
        found |= {(codes.LOINC, c) for c in group}
    found |= {(codes.RXNORM, c.code) for c in rxnorm.INGREDIENTS}
    return found


def test_every_code_the_mapping_reads_is_in_the_table() -> None:
    missing = sorted(k for k in _mapping_codes() if terminology.lookup(*k) is None)
    assert missing == []


def test_every_rxnorm_code_a_regimen_drug_is_read_by_is_in_the_table() -> None:
    regimen_drugs = {d for drugs in card_codes.REGIMEN_DRUGS.values() for d in drugs}
    read = {(d.name, c) for d in codes.DRUGS if d.name in regimen_drugs for c in d.rxnorm}
    # iniparib (investigational, never ordered) has no RxNorm code on record
    assert regimen_drugs - {name for name, _ in read} == {"iniparib"}
    assert sorted(k for k in read if terminology.lookup(codes.RXNORM, k[1]) is None) == []
    assert not terminology.confirmed(codes.RXNORM, "2361286")  # read, never ordered


def _query_codes() -> list[str]:
    out = []
    for query in PATIENT_DATA_PREFETCH.values():
        params = parse_qs(urlsplit(query).query)
        for name in ("code", "component-code"):
            for value in params.get(name, ()):
                out += [v.split("|")[-1] for v in value.split(",")]
    return out


def test_every_code_in_a_prefetch_query_is_in_the_table() -> None:
    asked = _query_codes()
    assert "89243-0" in asked and "1217123003" in asked  # the parsing sees the queries
    missing = [c for c in asked if terminology.lookup(codes.LOINC, c) is None
               and terminology.lookup(codes.SNOMED, c) is None]
    assert missing == []


def _codings(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        own = [value] if {"system", "code"} <= value.keys() else []
        return own + [c for v in value.values() for c in _codings(v)]
    if isinstance(value, list):
        return [c for v in value for c in _codings(v)]
    return []


def _suggestions(value: Any) -> list[Any]:
    if isinstance(value, dict):
        own = value.get("suggestions", [])
        return [*own, *(s for k, v in value.items() if k != "suggestions"
                        for s in _suggestions(v))]
    if isinstance(value, list):
        return [s for v in value for s in _suggestions(v)]
    return []


SKELETON_SYSTEMS = {"sct": card_codes.SNOMED, "rxnorm": card_codes.RXNORM}


def _golden_suggestion_codings() -> list[dict[str, Any]]:
    """The standard codes on the golden responses' orders (their skeletons keep "system|code")."""
    suggestions = [s for path in sorted(GOLDEN.glob("*.json"))
                   for s in _suggestions(json.loads(path.read_text()))]
    labels = [c for s in suggestions for a in s["actions"] for c in a.get("codes", [])]
    assert labels  # the goldens hold orders to check
    return [{"system": SKELETON_SYSTEMS[k], "code": c} for k, _, c in
            (label.partition("|") for label in labels) if k in SKELETON_SYSTEMS]


def test_every_standard_code_on_an_order_is_confirmed_in_the_table() -> None:
    on_orders = _golden_suggestion_codings()
    assert {c["system"] for c in on_orders} == {card_codes.SNOMED, card_codes.RXNORM}
    for coding in on_orders:
        assert terminology.confirmed(coding["system"], coding["code"]), coding
    listed = {t[1] for triples in OPTION_ORDER_CODES.values() for t in triples}
    assert {c["code"] for c in on_orders if c["system"] == card_codes.SNOMED} <= listed
    for triples in OPTION_ORDER_CODES.values():
        for system, code, _ in triples:
            assert terminology.confirmed(system, code), code
    for code, _ in card_codes.RXNORM_DRUGS.values():
        assert terminology.confirmed(codes.RXNORM, code)
    triples = [v for v in vars(card_codes).values()
               if isinstance(v, tuple) and len(v) == 3 and v[0] == card_codes.SNOMED]
    assert len(triples) >= 10
    assert [t for t in triples if not terminology.confirmed(t[0], t[1])] == []


def _option(option_code: str) -> Option:
    """An option of this code that has something to order."""
    if option_code in ("wbrt", "re-wbrt"):
        return whole_brain_option(option_code, option_code == "re-wbrt")
    return next((o for o in srs_in_field().options if o.code == option_code),
                Option(option_code, 1, option_code, "r", (82,)))


@pytest.mark.parametrize("option_code", sorted(OPTION_ORDER_CODES))
def test_every_standard_code_a_built_order_carries_is_listed(option_code: str) -> None:
    suggestion = option_suggestion(_option(option_code), CTX, recommended=True)
    carried = {(c["system"], c["code"]) for c in _codings(suggestion) if c["system"] in STANDARD}
    assert carried and carried <= {(s, c) for s, c, _ in OPTION_ORDER_CODES[option_code]}


def _unconfirm(request, monkeypatch, code: str) -> None:
    """The table as if `code` were not confirmed (its answers kept by `option_not_orderable`
    forgotten now and again after the test)."""
    entry = terminology.lookup(codes.SNOMED, code)
    monkeypatch.setitem(terminology.BY_KEY, entry.key, terminology.TermCode(
        entry.system, entry.code, entry.display, (), "UNCONFIRMED: test"))
    option_not_orderable.cache_clear()
    request.addfinalizer(option_not_orderable.cache_clear)


def test_an_order_with_an_unconfirmed_code_is_not_offered_and_the_card_says_why(
        request, monkeypatch) -> None:
    _unconfirm(request, monkeypatch, "70586009")  # Operation on brain, on the surgery order
    assert option_suggestion(Option("surgery", 1, "Surgery", "r", (82,)), CTX,
                             recommended=True) is None
    card = main_card(srs_in_field(), CTX, public_base_url="http://cds.example",
                     hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea")
    ordered = [c["code"] for s in card["suggestions"] for c in _codings(s)
               if c["system"] == card_codes.SNOMED]
    assert "70586009" not in ordered
    assert "**Surgery**" in card["detail"]
    assert ("not offered as an order: code 70586009 Operation on brain not confirmed"
            in card["detail"])
