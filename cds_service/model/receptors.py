"""Receptor facts the rules gate on (HER2, ER, PR), without guessing an unknown status.

Subtype codes follow the assessment JSON: her2 (HER2+, ER-, PR-), luminal-b (HER2+, ER or PR +),
luminal-a (ER or PR +, HER2-), triple-negative (ER-, PR-, HER2-). An equivocal result without a
resolving test counts as unknown. `possible_subtypes` returns every subtype the known results allow,
so a rule can act when all of them agree (e.g. HER2+ with unknown ER: HER2 agents are indicated
either way) and name the missing receptor otherwise.
"""

from __future__ import annotations

from cds_service.model.patient import PatientRecord, ReceptorStatus
from cds_service.model.subtype import derive_subtype

HER2_ENRICHED, LUMINAL_A, LUMINAL_B, TRIPLE_NEGATIVE, UNKNOWN = (
    "her2", "luminal-a", "luminal-b", "triple-negative", "unknown")

_POS, _NEG = ReceptorStatus.POSITIVE, ReceptorStatus.NEGATIVE


def _options(status: ReceptorStatus) -> tuple[bool, ...]:
    if status is _POS:
        return (True,)
    if status is _NEG:
        return (False,)
    return (True, False)


def _subtype(her2: bool, er: bool, pr: bool) -> str:
    if her2:
        return LUMINAL_B if er or pr else HER2_ENRICHED
    return LUMINAL_A if er or pr else TRIPLE_NEGATIVE


def possible_subtypes(her2: ReceptorStatus, er: ReceptorStatus,
                      pr: ReceptorStatus) -> frozenset[str]:
    return frozenset(_subtype(h, e, p) for h in _options(her2) for e in _options(er)
                     for p in _options(pr))


def subtype_code(her2: ReceptorStatus, er: ReceptorStatus, pr: ReceptorStatus) -> str:
    """The project's one subtype rule (`model/subtype.py`); agrees with `possible_subtypes`."""
    return derive_subtype(her2, er, pr)


def her2_positive(record: PatientRecord) -> bool:
    return record.her2.status is _POS


def her2_negative(record: PatientRecord) -> bool:
    return record.her2.status is _NEG


def hr_positive(record: PatientRecord) -> bool:
    """ER or PR positive (one positive receptor suffices, whatever the other says)."""
    return _POS in (record.er.status, record.pr.status)


def hr_negative(record: PatientRecord) -> bool:
    return record.er.status is _NEG and record.pr.status is _NEG


def unresolved(record: PatientRecord) -> tuple[str, ...]:
    """Receptors whose status is unknown or equivocal, named for the missing-data list."""
    names = []
    for name, receptor in (("HER2", record.her2), ("ER", record.er), ("PR", record.pr)):
        if receptor.status is ReceptorStatus.EQUIVOCAL:
            names.append(f"{name} status (equivocal, no resolving test)")
        elif receptor.status is ReceptorStatus.UNKNOWN:
            names.append(f"{name} status")
    return tuple(names)
