"""Members every card shares: source (label, review DOI, topic), links, override reasons."""

from __future__ import annotations

import json
from typing import Any

from cards import codes


def source(topic_code: str) -> dict[str, Any]:
    """`source` with the review as the primary source and the card's topic Coding."""
    return {
        "label": codes.SOURCE_LABEL,
        "url": codes.REVIEW_URL,
        "topic": codes.topic_coding(topic_code),
    }


def review_link() -> dict[str, Any]:
    return {
        "label": f"Review: {codes.REVIEW_SHORT} (doi:{codes.REVIEW_DOI})",
        "url": codes.REVIEW_URL,
        "type": "absolute",
    }


def smart_link(public_base_url: str, *, assessment_date: str, hook_instance: str) -> dict[str, Any]:
    """Link to the SMART app. appContext carries no patient identifier: the EHR's launch context
    gives the app its patient; the hookInstance lets the app tie its view to this card."""
    app_context = json.dumps(
        {"view": "salvage-plan", "assessmentDate": assessment_date, "hookInstance": hook_instance},
        separators=(",", ":"),
    )
    return {
        "label": "Full salvage plan (SMART app)",
        "url": public_base_url.rstrip("/") + "/smart/launch",
        "type": "smart",
        "appContext": app_context,
    }


def patient_override_reasons() -> list[dict[str, Any]]:
    return codes.override_reasons(codes.OVERRIDE_REASONS)


def order_override_reasons() -> list[dict[str, Any]]:
    return codes.override_reasons(codes.ORDER_OVERRIDE_REASONS)
