"""The one rule that tells SRS, FSRT and WBRT apart (fhir-input-profile.md, "Procedures").

No IG code distinguishes the three, so the course is classified from its treated volume and its
fraction count. Both the mapping of delivered courses and the order checks of draft prescriptions
call this function, so the rule lives here only — with the kinds it tells apart (`TreatmentKind`),
so that `patient.py` can use the rule without the two modules importing each other.
"""

from __future__ import annotations

from enum import StrEnum


class TreatmentKind(StrEnum):
    """Local therapy of brain metastases (review §2)."""

    SURGERY = "surgery"
    SRS = "srs"  # focal volume, 1 fraction
    FSRT = "fsrt"  # focal volume, 2-10 fractions
    WBRT = "wbrt"  # whole-brain volume
    OTHER_RT = "other-rt"  # brain RT that fits none of the above (e.g. focal, > 10 fractions)


SRS_FRACTIONS = 1  # review §2: "SRS is delivered in a single fraction"
FSRT_MAX_FRACTIONS = 10  # fhir-input-profile.md: Partial with 2-10 fractions -> FSRT


def classify_radiotherapy(whole_brain: bool | None, fractions: int | None) -> TreatmentKind | None:
    """Classify a brain radiotherapy course; None when the data cannot tell.

    whole_brain: True for a volume qualified *Entire* (255503000), False for *Partial* (255609007).
    """
    if whole_brain is True:
        return TreatmentKind.WBRT
    if whole_brain is None or fractions is None or fractions < 1:
        return None
    if fractions == SRS_FRACTIONS:
        return TreatmentKind.SRS
    if fractions <= FSRT_MAX_FRACTIONS:
        return TreatmentKind.FSRT
    return TreatmentKind.OTHER_RT
