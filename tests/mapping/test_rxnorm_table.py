"""The one RxNorm ingredient table (cds_service/mapping/rxnorm.py) feeds both the cards' orders and
the mapping's reading; a code with fewer than two public listings is never ordered."""

from __future__ import annotations

from cards import codes as card_codes
from cds_service.mapping import codes as mapping_codes
from cds_service.mapping.rxnorm import INGREDIENTS, MIN_SOURCES, orderable_code
from cds_service.model.systemic import REGIMENS


def test_every_code_names_its_sources_and_the_date_checked() -> None:
    for code in INGREDIENTS:
        assert code.sources and code.checked_on == "2026-12-01"
        assert code.confirmed == (len(code.sources) >= MIN_SOURCES)


def test_orders_use_only_confirmed_codes_of_the_table() -> None:
    confirmed = {c.drug: (c.code, c.display) for c in INGREDIENTS if c.confirmed}
    assert card_codes.RXNORM_DRUGS == confirmed
    assert orderable_code("sacituzumab govitecan") is None  # one listing only
    assert orderable_code("tucatinib").code == "2361285"


def test_the_mapping_reads_every_code_of_the_table() -> None:
    read = {d.name: d.rxnorm for d in mapping_codes.DRUGS}
    for code in INGREDIENTS:
        assert code.code in read[code.drug]


def test_every_drug_of_an_approved_regimen_is_in_the_table() -> None:
    drugs = {d for r in REGIMENS if not r.investigational for d in r.drugs}
    assert drugs <= {c.drug for c in INGREDIENTS}


def test_the_older_tucatinib_code_is_still_read_but_never_ordered() -> None:
    read = {d.name: d.rxnorm for d in mapping_codes.DRUGS}
    assert {"2361285", "2361286"} <= read["tucatinib"]
    assert card_codes.RXNORM_DRUGS["tucatinib"] == ("2361285", "tucatinib")
