"""Issue 16, item 11: lesion names from data are limited on labels, cannot pass for a dose, and
no format control (zero-width, bidi override) reaches a card."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from cards.render import LABEL_MAX, LESION_NAME_MAX, lesion_name
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.synthetic_patients import PATIENTS, patient_id

NAME = "progressive-after-srs-in-field"  # its SRS label names "lesion-A: 20 Gy × 1"


def renamed(value: Any, new: str) -> Any:
    if isinstance(value, str):
        return new if value == "lesion-A" else value
    if isinstance(value, list):
        return [renamed(v, new) for v in value]
    if isinstance(value, dict):
        return {k: renamed(v, new) for k, v in value.items()}
    return value


def cards_with_lesion_named(client, new: str) -> list[dict[str, Any]]:
    resources = renamed(PATIENTS[NAME](), new)
    body = hook_request(patient_id(NAME), prefetch=full_prefetch(resources))
    response = client.post("/cds-services/bcbm-salvage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["cards"]


def displayed(cards: list[dict[str, Any]]) -> list[Any]:
    """What a card shows: summary, detail, labels, action descriptions, resource narrative
    (`description`, notes). A resource's lesion `identifier` stays the lesion's, exactly."""
    return [[c["summary"], c.get("detail", ""),
             [[s["label"], [[a.get("description"), json.dumps(
                 {k: v for k, v in (a.get("resource") or {}).items() if k != "contained"})]
                 for a in s.get("actions") or []]] for s in c.get("suggestions") or []]]
            for c in cards]


def srs_label(cards: list[dict[str, Any]]) -> str:
    labels = [s["label"] for c in cards for s in c.get("suggestions") or []
              if s["label"].startswith("Prescribe SRS")]
    assert labels, [s["label"] for c in cards for s in c.get("suggestions") or []]
    return labels[0]


def test_a_100000_character_lesion_name_is_cut_on_the_label(client) -> None:
    """Before: a 100,061-character label."""
    cards = cards_with_lesion_named(client, "A" * 100_000)
    label = srs_label(cards)
    assert len(label) <= LABEL_MAX
    assert "A" * (LESION_NAME_MAX - 1) + "…: 20 Gy × 1" in label
    shown = json.dumps(displayed(cards))
    assert "A" * (LESION_NAME_MAX + 1) not in shown  # on no card's text


def test_a_lesion_named_like_a_regimen_is_quoted(client) -> None:
    """Before: "Prescribe SRS (re-irradiation): 24 Gy × 1: 20 Gy × 1" — which dose?"""
    label = srs_label(cards_with_lesion_named(client, "24 Gy × 1"))
    assert "lesion \u201c24 Gy × 1\u201d: 20 Gy × 1" in label


def test_format_controls_never_reach_a_card(client) -> None:
    hostile = "L\u200b1\u202e\u2066x\u200d\ufeff\u00ad\u2060"
    cards = cards_with_lesion_named(client, hostile)
    assert "L1x: 20 Gy × 1" in srs_label(cards)
    text = json.dumps(displayed(cards), ensure_ascii=False)
    assert not [c for c in text if unicodedata.category(c) == "Cf"]


@pytest.mark.parametrize(("raw", "shown"), [
    ("lesion-A", "lesion-A"),
    ("Right frontal (2)", "Right frontal (2)"),
    ("L1: 30 Gy in 5 × 6 Gy; L2", "lesion \u201cL1: 30 Gy in 5 × 6 Gy; L2\u201d"),
    ('18 Gy" x 3', "lesion \u201c18 Gy' x 3\u201d"),
    ("x" * 50, "x" * (LESION_NAME_MAX - 1) + "…"),
])
def test_lesion_name(raw, shown) -> None:
    assert lesion_name(raw) == shown
