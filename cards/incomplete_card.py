"""The card for an in-scope patient whose assessment could not be completed.

A patient with breast cancer and brain metastases whose FHIR data could only partly be obtained
(say, the observations query failed) may look "stable" or "untreated" only because the evidence
of progression is missing. An empty card list would read as "nothing to worry about", so the
service says instead that it could not assess, and what it could not obtain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.common import patient_override_reasons, review_link, source
from cards.render import bullets, card, md, section
from cds_service.model.assessment import Assessment

MISSING_DATA_TOPIC = "missing-data"


def incomplete_assessment_card(assessment: Assessment, unavailable: Sequence[str]) -> dict[str, Any]:
    found = md(assessment.situation.label)
    detail = "\n\n".join([
        "The salvage assessment for breast cancer brain metastases could not be completed: "
        "part of the patient's record could not be obtained from the EHR's FHIR server.",
        f"On the data that *was* available the situation reads as: **{found}** — this may be "
        "wrong, because the missing data can hold the evidence of progression or of prior "
        "local treatment.",
        section("Could not be obtained", bullets(md(item) for item in unavailable)),
        "Open the chart again later, or review the imaging and treatment history directly.",
    ])
    return card(
        summary="BCBM salvage assessment incomplete: part of the record could not be obtained",
        indicator="info",
        detail=detail,
        source=source(MISSING_DATA_TOPIC),
        override_reasons=patient_override_reasons(),
        links=[review_link()],
    )
