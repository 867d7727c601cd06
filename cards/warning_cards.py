"""Separate warning cards, only for the warnings that change a decision.

`codes.WARNING_CARD_CODES`: radionecrosis risk of re-irradiation, possible pseudoprogression,
poor performance status, hormonal therapy alone. The other warnings (SRS size limit — the options
already account for it — and missing data) are shown on the main card only. Each card: a fixed
summary naming the decision, the model's message (escaped) and the review's advice in `detail`,
the warning's severity as `indicator`, its salvage-warning Coding as `source.topic`.
"""

from __future__ import annotations

from typing import Any

from cards import codes
from cards.common import patient_override_reasons, review_link, source
from cards.references import references_section
from cards.render import card, md, ref_numbers, render
from cds_service.model.assessment import Assessment, Warning

SUMMARIES = {
    "radionecrosis-risk": (
        "Re-irradiating a treated volume carries a significant radionecrosis risk: "
        "check the composite dose, prefer FSRT"
    ),
    "pseudoprogression-possible": (
        "Growth of an irradiated lesion may be radionecrosis: confirm with perfusion MRI, "
        "MRS or PET before salvage"
    ),
    "poor-performance-status": (
        "Poor performance status ($ps): aggressive local salvage for selected patients only"
    ),
    "hormonal-therapy-not-recommended": (
        "Hormonal therapy alone is not a salvage option for progressive BCBM"
    ),
}

ADVICE = {
    "radionecrosis-risk": (
        "Before repeat SRS/FSRT to a previously irradiated volume: register the new images with "
        "the prior plan and assess the composite dose. After re-SRS, volumes of 0.28 / 0.76 / "
        "1.6 cm³ receiving 40 Gy or more were associated with 10 / 20 / 50 % probability of "
        "radionecrosis [40]; the crude median "
        "radionecrosis rate after re-SRS/re-FSRT is 14.3 % (2–36 %) [42]. Larger volume, higher "
        "dose, large overlap with the prior 12–18 Gy volumes and a higher covering isodose raise "
        "the risk [42]. FSRT is preferred over single-fraction SRS when the risk is "
        "significant [15]; surgery is the mainstay for in-field progression [37–39]."
    ),
    "pseudoprogression-possible": (
        "Enlargement of an SRS/FSRT-treated lesion may be post-radiation necrosis rather than "
        "tumour. Before salvage treatment, consider perfusion or diffusion MRI, MR spectroscopy, "
        "PET or SPECT [23–29]; only pathology is 100 % reliable (in 4 of 32 patients resected "
        "after Gamma Knife SRS the specimen showed only radionecrosis [38])."
    ),
    "poor-performance-status": (
        "With KPS ≤ 60 or ECOG ≥ 2, aggressive local options are for selected patients only and "
        "best supportive care is an option. Better performance status went with longer "
        "survival after salvage SRS (KPS ≥ 90 [31], KPS ≥ 70 [32]) and was the most important "
        "prognostic factor in reirradiated patients [34]."
    ),
    "hormonal-therapy-not-recommended": (
        "No clinical trial or large retrospective study supports hormonal therapy as a salvage "
        "treatment of progressive BCBM: on its own it is not a salvage option [77–79]. The "
        "systemic regimens that fit this patient's subtype are listed on the main card; the "
        "regimens for all subtypes (temozolomide ± capecitabine, CMF, bevacizumab) remain "
        "available [60–65].$subtype_advice"
    ),
}

# Subtype-specific sentence of the hormonal-therapy card (CDK4/6 inhibitors only for HR+/HER2-,
# clinical-model §5b; HER2-directed regimens only for HER2+).
HORMONAL_SUBTYPE_ADVICE = {
    "luminal-a": " For HR-positive, HER2-negative disease, CDK4/6 inhibitors (abemaciclib, "
                 "palbociclib) showed a moderate intracranial response in early-phase trials "
                 "[80, 81].",
    "luminal-b": " For HER2-positive disease, HER2-directed regimens with intracranial activity "
                 "are the systemic options [70–76].",
    "her2": " For HER2-positive disease, HER2-directed regimens with intracranial activity are "
            "the systemic options [70–76].",
}

ADVICE_REFERENCES = {
    "radionecrosis-risk": (15, 37, 38, 39, 40, 42),
    "pseudoprogression-possible": (23, 24, 25, 26, 27, 28, 29, 38),
    "poor-performance-status": (31, 32, 34),
    "hormonal-therapy-not-recommended": (60, 61, 62, 63, 64, 65, 77, 78, 79, 80, 81),
}


def _ps_text(assessment: Assessment) -> str:
    ps = assessment.performance_status
    if ps.basis:  # the score the model judged by (the more recent of KPS and ECOG)
        return ps.basis
    if ps.kps is not None:
        return f"KPS {ps.kps}"
    if ps.ecog is not None:
        return f"ECOG {ps.ecog}"
    return "KPS/ECOG"


def warning_card(warning: Warning, assessment: Assessment) -> dict[str, Any]:
    summary = SUMMARIES[warning.code].replace("$ps", _ps_text(assessment))
    cited = sorted(set(warning.references) | set(ADVICE_REFERENCES.get(warning.code, ())))
    message = f"**{codes.SALVAGE_WARNINGS[warning.code]}.** {md(warning.message)}"
    refs = ref_numbers(warning.references)
    if refs:
        message += f" {refs}"
    detail = render(
        "warning_detail",
        message=message,
        advice=ADVICE.get(warning.code, "").replace(
            "$subtype_advice", HORMONAL_SUBTYPE_ADVICE.get(assessment.subtype.code, "")),
        references=references_section(cited),
        review_citation=codes.REVIEW_CITATION,
        review_doi=codes.REVIEW_DOI,
        review_url=codes.REVIEW_URL,
    )
    indicator = warning.severity if warning.severity in ("info", "warning", "critical") else "warning"
    return card(
        summary=summary,
        indicator=indicator,
        detail=detail,
        source=source(warning.code),
        override_reasons=patient_override_reasons(),
        links=[review_link()],
    )


def warning_cards(assessment: Assessment) -> list[dict[str, Any]]:
    """One card per decision-changing warning, in the model's order, each code at most once."""
    seen: set[str] = set()
    out = []
    for warning in assessment.warnings:
        if warning.code not in codes.WARNING_CARD_CODES or warning.code in seen:
            continue
        seen.add(warning.code)
        out.append(warning_card(warning, assessment))
    return out
