"""JSON responses through orjson: the same JSON as Flask's own provider, which still handles
whatever orjson would write differently."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask.json.provider import DefaultJSONProvider

from cards.fhir_validation import CallValue
from cds_service.web.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int


VALUES = [
    {"a": 1, "b": [1.5, None, True, "é≥<script>"], "c": {"nested": {"z": 0, "a": -0.0}}},
    {"ref": CallValue("Patient/1"), "n": 2**63 - 1},
    {"big": 2**80},  # beyond orjson's 64 bits: Flask's provider writes it
    {"when": date(2026, 11, 28), "at": datetime(2026, 11, 28, 10, 0, tzinfo=UTC)},
    {"point": Point(3)},
    {"amount": Decimal("1.10")},
    {1: "int key"},
    ["x", 1],
    "just a string",
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_json_as_flasks_provider(app, value) -> None:
    reference = DefaultJSONProvider(app)
    fast = OrjsonProvider(app)
    with app.app_context():
        expected = json.loads(reference.response(value).get_data())
        got = fast.response(value)
        assert got.mimetype == "application/json"
        assert json.loads(got.get_data()) == expected
        assert json.loads(fast.dumps(value)) == json.loads(reference.dumps(value))


def test_orjson_writes_the_hook_response(app, monkeypatch) -> None:
    """The common case takes the fast path (no fallback to the standard library)."""
    calls = []
    monkeypatch.setattr(DefaultJSONProvider, "response",
                        lambda self, *a, **k: calls.append(a) or None)
    with app.app_context():
        response = app.json.response({"cards": [{"summary": CallValue("x")}]})
    assert calls == []
    assert response.get_data() == b'{"cards":[{"summary":"x"}]}\n'


def test_debug_indentation_is_flasks(app) -> None:
    app.debug = True
    with app.app_context():
        assert b'\n  "a": 1' in app.json.response({"a": 1}).get_data()
