"""The request-body nesting limit: `json_depth_exceeds` and `max_json_depth` at the HTTP boundary."""

import json
import random
from typing import Any

import pytest

from cds_service.web.http_json import bracket_depth_exceeds, json_depth_exceeds
from tests.support.hook_requests import hook_request

URL = "/cds-services/bcbm-salvage"


def reference_depth_exceeds(value: Any, limit: int) -> bool:
    """The plain definition: every node (scalars too) one level below its container, root = 1."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def depth_of(value: Any) -> int:
    """The smallest limit `value` does not exceed."""
    limit = 1
    while reference_depth_exceeds(value, limit):
        limit += 1
    return limit


def random_json(rng: random.Random, depth: int) -> Any:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice([1, 2.5, "s", "", None, True, [], {}])
    if rng.random() < 0.5:
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {str(i): random_json(rng, depth - 1) for i in range(rng.randint(0, 3))}


@pytest.mark.parametrize(("value", "levels"), [
    (1, 1), ("s", 1), (None, 1), ({}, 1), ([], 1), ({"a": 1}, 2), ([[]], 2), ([[1]], 3),
    ({"a": {"b": {}}}, 3), ({"a": {"b": {"c": None}}}, 4), ([{}, [[[]]], 1], 4),
])
def test_depth_counts_scalars_and_containers(value: Any, levels: int) -> None:
    assert not json_depth_exceeds(value, levels)
    assert json_depth_exceeds(value, levels - 1)


def test_limit_below_one_refuses_everything() -> None:
    assert json_depth_exceeds(1, 0) and json_depth_exceeds({}, 0) and json_depth_exceeds([], -1)


def test_agrees_with_the_plain_definition_on_random_documents() -> None:
    rng = random.Random(6)
    for _ in range(3000):
        value = random_json(rng, rng.randint(0, 9))
        for limit in range(12):
            assert json_depth_exceeds(value, limit) == reference_depth_exceeds(value, limit)


def _bracket_verdict(text: str, limit: int) -> bool:
    """The bytes check, completed by the walk where it cannot tell (as read_json_body does)."""
    verdict = bracket_depth_exceeds(text.encode(), limit)
    return json_depth_exceeds(json.loads(text), limit) if verdict is None else verdict


def test_bracket_check_agrees_with_the_plain_definition_on_random_documents() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        value = random_json(rng, rng.randint(0, 9))
        text = json.dumps(value, separators=(",", ":") if rng.random() < 0.5 else None)
        for limit in range(1, 12):
            assert _bracket_verdict(text, limit) == reference_depth_exceeds(value, limit), text


@pytest.mark.parametrize("text", [
    '{"a": "[[[[[[[[[["}', '{"a": "]]]]", "b": [[1]]}', '["\\"[[[[", [[1]]]',
    '{"a\\\\": [[{}]], "b": "\\\\"}', '{"[": {"]": {"{": [1]}}}', '["\\u005b\\u005b", [[]]]',
])
def test_brackets_and_escapes_inside_strings_do_not_count(text: str) -> None:
    value = json.loads(text)
    for limit in range(1, 8):
        assert _bracket_verdict(text, limit) == reference_depth_exceeds(value, limit)


def test_hostile_nesting_is_refused_from_the_bytes() -> None:
    assert bracket_depth_exceeds(b"[" * 100_000 + b"]" * 100_000, 64) is True
    assert bracket_depth_exceeds(b'{"a": [' * 50_000 + b"]}" * 50_000, 64) is True


def test_very_deep_document_does_not_recurse() -> None:
    value: Any = 0
    for _ in range(100_000):
        value = [value]
    assert json_depth_exceeds(value, 64)
    assert not json_depth_exceeds(value, 100_001)


def _nested_body(links: int) -> dict:
    body = hook_request("p1")
    body["prefetch"] = {"patient": None, "conditions": None}
    chain: dict = {}
    cursor = chain
    for _ in range(links):
        cursor["x"] = {}
        cursor = cursor["x"]
    body["extension"] = {"chain": chain}
    return body


@pytest.mark.parametrize("max_depth", [8, 20, 64])
def test_service_refuses_exactly_beyond_max_json_depth(app_config, max_depth: int) -> None:
    from cds_service.web.app import create_app

    client = create_app(app_config.replace(max_json_depth=max_depth)).test_client()
    base = depth_of(_nested_body(0))
    at_limit = _nested_body(max_depth - base)
    assert depth_of(at_limit) == max_depth
    ok = client.post(URL, data=json.dumps(at_limit), content_type="application/json")
    assert ok.status_code == 200, ok.get_json()
    beyond = _nested_body(max_depth - base + 1)
    refused = client.post(URL, data=json.dumps(beyond), content_type="application/json")
    assert refused.status_code == 400
    assert f"nesting deeper than {max_depth} levels" in refused.get_json()["message"]


# --- unpaired surrogates: not Unicode text, refused at the boundary --------------------------------
@pytest.mark.parametrize(("path", "raw"), [
    ("/cds-services/bcbm-salvage/feedback",
     '{"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": '
     '"2026-11-28T10:00:00Z", "overrideReason": {"userComment": "\\udfff"}}]}'),
    ("/cds-services/bcbm-salvage/feedback",
     '{"feedback": [{"card": "\\ud800", "outcome": "accepted", "acceptedSuggestions": [], '
     '"outcomeTimestamp": "2026-11-28T10:00:00Z"}]}'),
    (URL, '{"hook": "patient-view", "hookInstance": "\\ud800-x", "context": {"patientId": "p"}}'),
    (URL, '{"hook": "patient-view", "hookInstance": "h", "context": {"patientId": "p"}, '
          '"prefetch": {"patient": {"resourceType": "Patient", "id": "p", "\\udc00": 1}}}'),
])
def test_an_unpaired_surrogate_is_a_400_naming_the_problem(client, path: str, raw: str) -> None:
    """Once a 500 (SQLite cannot encode it) or a lost batch of issued-card links."""
    response = client.post(path, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "unpaired surrogate" in response.get_json()["message"]


@pytest.mark.parametrize(("card_json", "card"), [
    ("\\ud83d\\ude00", "\U0001f600"),  # an escaped surrogate pair: an emoji
    ("\\\\ud800", "\\ud800"),  # an escaped backslash, then the letters "ud800"
])
def test_text_that_only_looks_like_a_surrogate_is_stored(app, client, card_json: str,
                                                         card: str) -> None:
    raw = ('{"feedback": [{"card": "' + card_json + '", "outcome": "accepted", '
           '"acceptedSuggestions": [{"id": "s"}], "outcomeTimestamp": "2026-11-28T10:00:00Z"}]}')
    response = client.post("/cds-services/bcbm-salvage/feedback", data=raw,
                           content_type="application/json")
    assert response.status_code == 200
    assert app.extensions["salvage_cds"].feedback.feedback_for_card(card)


@pytest.mark.parametrize(("raw", "problem"), [
    # a surrogate encoded as UTF-8 bytes (ED B0 80), no escape: not UTF-8
    (b'{"feedback": [{"card": "\xed\xb0\x80", "outcome": "accepted", "acceptedSuggestions": [],'
     b' "outcomeTimestamp": "2026-11-28T10:00:00Z"}]}', "not UTF-8"),
    # UTF-16: json.loads(bytes) would have read it, lone surrogates included; read as UTF-8 it is
    # text full of NULs, not JSON
    ('{"feedback": [{"card": "\\udfff", "outcome": "accepted", "acceptedSuggestions": [], '
     '"outcomeTimestamp": "2026-11-28T10:00:00Z"}]}'.encode("utf-16-le"), "malformed JSON"),
    ("\ufeff{}".encode("utf-16"), "not UTF-8"),  # with its byte-order mark
])
def test_bodies_that_are_not_utf8_are_a_400(client, raw: bytes, problem: str) -> None:
    response = client.post("/cds-services/bcbm-salvage/feedback", data=raw,
                           content_type="application/json")
    assert response.status_code == 400
    assert problem in response.get_json()["message"]
