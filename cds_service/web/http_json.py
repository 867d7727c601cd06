"""Reading a JSON request body safely: content type, size cap, parse errors, nesting depth."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request

from cds_service.errors import BadRequest, PayloadTooLarge

JSON_MEDIA_TYPES = ("application/json", "application/fhir+json")


_CONTAINERS = (dict, list)

# A \uD800-\uDFFF escape: once the body is strict UTF-8, the only way JSON can carry a lone
# surrogate, which is not Unicode text and fails later wherever text is encoded (SQLite, logs).
# Searched in the text first (rare in real bodies: a pair, e.g. an escaped emoji, is fine), then
# the parsed strings are checked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests deeper than `limit` levels.

    The value itself is level 1 and every member of a dict or list one level below its container
    (so ``{"a": 1}`` has 2 levels). Iterative, level by level, so hostile nesting cannot blow the
    stack; only containers are queued, and the walk stops at the first level beyond `limit`.
    """
    if limit < 1:
        return True
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 1
    while level:
        below = []
        for item in level:
            members = item.values() if isinstance(item, dict) else item
            if members:
                if depth >= limit:  # its members are at depth + 1 > limit
                    return True
                for member in members:
                    if isinstance(member, _CONTAINERS):
                        below.append(member)
        level = below
        depth += 1
    return False


def read_json_body(request: Request, *, max_bytes: int, max_depth: int) -> Any:
    media_type = (request.mimetype or "").lower()
    if media_type not in JSON_MEDIA_TYPES:
        shown = media_type or "none"
        raise BadRequest(f"Content-Type must be application/json (got {shown})",
                         field="Content-Type")
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    if not raw.strip():
        raise BadRequest("request body is empty; a JSON object is required", field="(body)")
    try:
        # strict UTF-8 (RFC 8259: JSON between systems is UTF-8): json.loads(bytes) would also take
        # UTF-16/32 and surrogates encoded as bytes, neither of which is Unicode text we can store
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 JSON", field="(body)") from None
    try:
        body = json.loads(text)
    except RecursionError:
        raise BadRequest(f"JSON nesting deeper than {max_depth} levels", field="(body)") from None
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}", field="(body)") from None
    if json_depth_exceeds(body, max_depth):
        raise BadRequest(f"JSON nesting deeper than {max_depth} levels", field="(body)")
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(body):
        raise BadRequest("JSON text with an unpaired surrogate (a \\uD800-\\uDFFF escape without "
                         "its pair) is not Unicode text", field="(body)")
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", field="(body)")
    return body
