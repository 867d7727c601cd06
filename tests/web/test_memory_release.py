"""A large request body hands its freed memory back once the response is sent (glibc's
malloc_trim), and that step can never fail the call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cds_service.web import http_json
from tests.support.hook_requests import hook_request

URL = "/cds-services/bcbm-salvage"


def _body_of_at_least(size: int) -> bytes:
    request = hook_request("nobody")
    request["prefetch"] = {"padding": {"resourceType": "Bundle", "type": "searchset",
                                       "entry": [], "padding_text": "x" * size}}
    return json.dumps(request).encode()


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(http_json, "_MALLOC_TRIM", lambda pad: calls.append(pad) or 1)
    return calls


def test_a_large_body_is_released_after_the_response(client: Any, trims: list[int]) -> None:
    response = client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                           content_type="application/json")
    response.close()  # the WSGI server closes the response once it is sent
    assert trims == [0]


def test_a_small_body_is_not(client: Any, trims: list[int]) -> None:
    response = client.post(URL, data=_body_of_at_least(10), content_type="application/json")
    response.close()
    assert trims == []


def _answer(client: Any) -> tuple[int, Any]:
    response = client.post(URL, data=_body_of_at_least(http_json.RELEASE_AFTER_BYTES),
                           content_type="application/json")
    response.close()
    body = response.get_json()
    body.pop("request_id", None)
    return response.status_code, body


def broken_trim(pad: int) -> int:
    raise OSError("no trim here")


@pytest.mark.parametrize("trim", [broken_trim, None], ids=["trim raises", "not glibc"])
def test_the_answer_does_not_depend_on_the_trim(client: Any, trims: list[int],
                                               monkeypatch: pytest.MonkeyPatch, trim: Any) -> None:
    expected = _answer(client)  # the body names no data source: the call's own 412
    monkeypatch.setattr(http_json, "_MALLOC_TRIM", trim)
    assert _answer(client) == expected
    assert expected[0] == 412
