"""subtype_code: every combination of HER2/ER/PR that decides (or does not decide) the subtype."""

from __future__ import annotations

import itertools

import pytest

from cds_service.mapping import map_patient
from cds_service.model.patient import ReceptorStatus
from cds_service.model.receptors import subtype_code
from tests.support import fhir_builders as b

P, N, E, U = "positive", "negative", "equivocal", "unknown"


@pytest.mark.parametrize("her2, er, pr, expected", [
    (P, N, N, "her2"),
    (P, P, N, "luminal-b"),
    (P, N, P, "luminal-b"),
    (P, P, P, "luminal-b"),
    (P, P, U, "luminal-b"),  # one positive hormone receptor suffices
    (P, U, P, "luminal-b"),
    (P, N, U, "unknown"),  # her2 or luminal-b
    (P, E, N, "unknown"),
    (P, U, U, "unknown"),
    (N, P, N, "luminal-a"),
    (N, N, P, "luminal-a"),
    (N, P, P, "luminal-a"),
    (N, P, U, "luminal-a"),  # ER+ with PR unknown is luminal-a whatever PR is
    (N, E, P, "luminal-a"),
    (N, N, N, "triple-negative"),
    (N, N, U, "unknown"),  # luminal-a or triple-negative
    (N, E, N, "unknown"),
    (E, N, N, "unknown"),  # HER2 equivocal: her2 or triple-negative
    (E, P, P, "unknown"),  # luminal-a or luminal-b
    (U, N, N, "unknown"),
    (U, P, N, "unknown"),
    (U, U, U, "unknown"),
])
def test_subtype_code(her2, er, pr, expected):
    assert subtype_code(her2, er, pr) == expected
    assert subtype_code(ReceptorStatus(her2), ReceptorStatus(er), ReceptorStatus(pr)) == expected


def test_every_combination_gives_one_of_the_five_codes():
    codes = {subtype_code(*combo) for combo in itertools.product((P, N, E, U), repeat=3)}
    assert codes == {"her2", "luminal-a", "luminal-b", "triple-negative", "unknown"}


def record_subtype(record) -> str:
    return subtype_code(record.her2.status, record.er.status, record.pr.status)


def test_mapped_receptors_give_the_subtype():
    pid = "p1"
    record = map_patient([b.patient(pid), *b.receptors(pid, her2="positive", er="negative",
                                                       pr="negative")])
    assert record_subtype(record) == "her2"
    assert record_subtype(map_patient([b.patient(pid)])) == "unknown"
