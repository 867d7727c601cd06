"""Receptor facts the rules gate on (HER2, ER, PR), without guessing an unknown status.

Subtype codes follow the assessment JSON: her2 (HER2+, ER-, PR-), luminal-b (HER2+, ER or PR +),
luminal-a (ER or PR +, HER2-), triple-negative (ER-, PR-, HER2-). An equivocal result without a
resolving test counts as unknown. `possible_subtypes` returns every subtype the known results allow,
so a rule can act when all of them agree (e.g. HER2+ with unknown ER: HER2 agents are indicated
either way) and name the missing receptor otherwise.
"""

from __future__ import annotations

from functools import cache

from cds_service.model.patient import PatientRecord, ReceptorStatus
from cds_service.model.vocabulary import SubtypeCode

_POS, _NEG = ReceptorStatus.POSITIVE, ReceptorStatus.NEGATIVE


def _options(status: ReceptorStatus | str) -> tuple[bool, ...]:
    """What a receptor could be: known results fix it, equivocal or unknown could be either."""
    status = ReceptorStatus(status)
    if status is _POS:
        return (True,)
    if status is _NEG:
        return (False,)
    return (True, False)


def _subtype(her2: bool, er: bool, pr: bool) -> SubtypeCode:
    """The subtype rule itself (one positive hormone receptor suffices)."""
    if her2:
        return SubtypeCode.LUMINAL_B if er or pr else SubtypeCode.HER2_ENRICHED
    return SubtypeCode.LUMINAL_A if er or pr else SubtypeCode.TRIPLE_NEGATIVE


@cache  # a pure function of three statuses (a few dozen combinations): each computed once
def possible_subtypes(her2: ReceptorStatus | str, er: ReceptorStatus | str,
                      pr: ReceptorStatus | str) -> frozenset[SubtypeCode]:
    """Every subtype the known results allow, trying each value an unsettled receptor could take."""
    return frozenset(_subtype(h, e, p) for h in _options(her2) for e in _options(er)
                     for p in _options(pr))


def subtype_code(her2: ReceptorStatus | str, er: ReceptorStatus | str,
                 pr: ReceptorStatus | str) -> SubtypeCode:
    """The subtype when the known results fix it, else unknown (never a guess): ER+ with PR
    unknown and HER2- is luminal-a, while HER2 equivocal is always unknown."""
    subtypes = possible_subtypes(her2, er, pr)
    return next(iter(subtypes)) if len(subtypes) == 1 else SubtypeCode.UNKNOWN


def her2_positive(record: PatientRecord) -> bool:
    return record.her2.status is _POS


def her2_negative(record: PatientRecord) -> bool:
    return record.her2.status is _NEG


def hr_positive(record: PatientRecord) -> bool:
    """ER or PR positive (one positive receptor suffices, whatever the other says)."""
    return _POS in (record.er.status, record.pr.status)


def hr_negative(record: PatientRecord) -> bool:
    return record.er.status is _NEG and record.pr.status is _NEG
