"""The references' DOIs: each one sourced (evidence_dois.md), well-formed and unique; none guessed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from cds_service.model.evidence import DOI_PROVENANCE, REFERENCES, reference

DOI_SYNTAX = re.compile(r"10\.\d{4,9}/\S+")
ROW = re.compile(r"^\| (\d+) \| (\S+) \| (\S+) \| (\d{4}-\d{2}-\d{2}) \| (.+) \|$")


def provenance_rows() -> dict[int, tuple[str, str, str, str]]:
    rows: dict[int, tuple[str, str, str, str]] = {}
    for line in DOI_PROVENANCE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            number = int(match.group(1))
            assert number not in rows, f"reference {number} has two provenance rows"
            rows[number] = match.group(2, 3, 4, 5)
    return rows


def registry_dois() -> dict[int, str]:
    return {n: ref.doi for n, ref in REFERENCES.items() if ref.doi is not None}


def test_every_doi_has_the_doi_syntax() -> None:
    for number, doi in registry_dois().items():
        assert DOI_SYNTAX.fullmatch(doi), (number, doi)
        assert not doi.lower().startswith(("doi:", "http")), (number, doi)


def test_no_two_references_share_a_doi() -> None:
    dois = [doi.lower() for doi in registry_dois().values()]  # DOIs are case-insensitive
    assert len(dois) == len(set(dois))


def test_every_doi_has_a_provenance_row_and_every_row_a_doi() -> None:
    rows = provenance_rows()
    assert {n: row[0] for n, row in rows.items()} == registry_dois()


@pytest.mark.parametrize("number", sorted(provenance_rows()))
def test_each_provenance_row_names_its_source_and_when_it_was_checked(number: int) -> None:
    _, source, checked, matched = provenance_rows()[number]
    assert source.startswith(("https://", "http://")), source
    assert date.fromisoformat(checked) <= date.today()
    assert matched.strip(), "what was matched against the review's entry"


def test_the_provenance_file_counts_what_it_lists() -> None:
    text = DOI_PROVENANCE.read_text(encoding="utf-8")
    found = len(registry_dois())
    assert f"DOIs found: {found} of {len(REFERENCES)} references." in text
    unsourced = [n for n, ref in sorted(REFERENCES.items()) if ref.doi is None]
    assert "Not sourced (`doi=None`): " + ", ".join(map(str, unsourced)) + "." in text


def test_a_reference_without_a_doi_keeps_none() -> None:
    # the web page the review cites (75) has no DOI; an empty string never stands in for None
    assert reference(75).doi is None
    assert all(ref.doi is None or ref.doi.strip() for ref in REFERENCES.values())
