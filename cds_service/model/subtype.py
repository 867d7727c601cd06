"""Breast cancer subtype from the receptor statuses (clinical-model.md §8; Sperduto 2020 [57]).

her2: HER2+, ER-, PR-; luminal-b: HER2+ and ER or PR +; luminal-a: ER or PR +, HER2-;
triple-negative: all three negative. A receptor that is unknown or equivocal leaves the subtype
unknown only when it could change the answer: ER+ with PR unknown and HER2- is luminal-a (one
positive hormone receptor suffices), while HER2 equivocal is always unknown. Computed by trying
every value the unsettled receptors could take and answering only when all agree.
"""

from __future__ import annotations

from enum import Enum

HER2 = "her2"
LUMINAL_A = "luminal-a"
LUMINAL_B = "luminal-b"
TRIPLE_NEGATIVE = "triple-negative"
UNKNOWN = "unknown"

_POSITIVE, _NEGATIVE = "positive", "negative"


def _possible(status: Enum | str) -> tuple[bool, ...]:
    value = status.value if isinstance(status, Enum) else str(status)
    if value == _POSITIVE:
        return (True,)
    if value == _NEGATIVE:
        return (False,)
    return (True, False)  # equivocal or unknown: either could be true


def _subtype(her2: bool, er: bool, pr: bool) -> str:
    if her2:
        return LUMINAL_B if er or pr else HER2
    return LUMINAL_A if er or pr else TRIPLE_NEGATIVE


def derive_subtype(her2: Enum | str, er: Enum | str, pr: Enum | str) -> str:
    """Subtype code from ReceptorStatus values (or their strings)."""
    answers = {_subtype(h, e, p)
               for h in _possible(her2) for e in _possible(er) for p in _possible(pr)}
    return answers.pop() if len(answers) == 1 else UNKNOWN
