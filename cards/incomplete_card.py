"""The card for a patient whose assessment could not be completed.

A patient with breast cancer and brain metastases whose FHIR data could only partly be obtained
(say, the observations query failed, or it was cut at a paging cap) may look "stable" or
"untreated" only because the evidence of progression is missing or was not read. An empty card
list would read as "nothing to worry about", so the service says instead that it could not
assess, and what it could not obtain or read in full. When the Conditions themselves were cut,
the patient may look out of scope only because the primary or the brain metastases were not read:
the card says that scope could not be established.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.common import patient_override_reasons, review_link, source
from cards.render import bullets, card, md, section
from cds_service.model.assessment import Assessment
from cds_service.model.vocabulary import WarningCode

MISSING_DATA_TOPIC = WarningCode.MISSING_DATA

SUMMARY_UNAVAILABLE = "BCBM salvage assessment incomplete: part of the record could not be obtained"
SUMMARY_CUT = "BCBM salvage assessment incomplete: part of the record was cut short"
SUMMARY_BOTH = ("BCBM salvage assessment incomplete: part of the record could not be obtained "
                "or was cut short")
SCOPE_UNKNOWN = ("The patient's conditions were read only in part, so whether the patient has "
                 "breast cancer with brain metastases could not be established.")
ORDERS_ON_PART = ("The checks of the draft orders (prior radiotherapy, re-irradiation, WBRT after "
                  "WBRT) ran on this part of the record only: an order that passed may still "
                  "conflict with a treatment that was not read.")


def incomplete_assessment_card(assessment: Assessment, unavailable: Sequence[str],
                               cut: Sequence[str] = (), *, scope_unknown: bool = False,
                               orders_checked: bool = False) -> dict[str, Any]:
    """`unavailable`: keys that could not be obtained; `cut`: descriptions of keys read only in
    part (`Truncation.describe`); `orders_checked`: the card goes with an order hook's answer."""
    found = md(assessment.situation.label)
    detail = "\n\n".join(part for part in [
        "The salvage assessment for breast cancer brain metastases could not be completed: "
        f"{_what_happened(unavailable, cut)}",
        SCOPE_UNKNOWN if scope_unknown else "",
        f"On the data that *was* available the situation reads as: **{found}** — this may be "
        "wrong, because the missing data can hold the evidence of progression or of prior "
        "local treatment.",
        ORDERS_ON_PART if orders_checked else "",
        section("Could not be obtained", bullets(md(item) for item in unavailable))
        if unavailable else "",
        section("Cut short", bullets(md(item) for item in cut)) if cut else "",
        "Open the chart again later, or review the imaging and treatment history directly.",
    ] if part)
    return card(
        summary=_summary(unavailable, cut),
        indicator="info",
        detail=detail,
        source=source(MISSING_DATA_TOPIC),
        override_reasons=patient_override_reasons(),
        links=[review_link()],
    )


def _what_happened(unavailable: Sequence[str], cut: Sequence[str]) -> str:
    parts = []
    if unavailable or not cut:
        parts.append("part of the patient's record could not be obtained from the EHR's FHIR "
                     "server")
    if cut:
        parts.append("part of it was read only in part (a limit was reached or further pages "
                     "could not be read)")
    return "; ".join(parts) + "."


def _summary(unavailable: Sequence[str], cut: Sequence[str]) -> str:
    if unavailable and cut:
        return SUMMARY_BOTH
    return SUMMARY_CUT if cut else SUMMARY_UNAVAILABLE
