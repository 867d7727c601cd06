"""gunicorn's own error answers as JSON, like every other answer of the service (issue 16, 14).

gunicorn refuses some requests before the app sees them — a request line longer than
`max_request_line` (414), a header field longer than `max_request_field_bytes` or more than
`max_request_fields` fields (431), a malformed request (400) — and answered them with an HTML
page. `install()` replaces the function gunicorn writes those answers with (`gunicorn.util.
write_error`, called by every worker's `handle_error`) with one that writes the service's error
body: ``{"error": <code>, "message": <text>}``. Call it in the arbiter before the workers fork.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gunicorn import util

MESSAGE_MAX = 200  # characters of gunicorn's message kept (it may quote the request)
_CODES = {400: "bad-request", 403: "forbidden", 414: "uri-too-long",
          417: "expectation-failed", 431: "request-header-fields-too-large",
          500: "internal-error", 501: "not-implemented"}


def error_code(status: int, reason: str) -> str:
    return _CODES.get(status) or re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "error"


def json_error_response(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer (the connection is closed after it, as gunicorn's was)."""
    body = json.dumps({"error": error_code(status, reason),
                       "message": (message or reason)[:MESSAGE_MAX]}).encode()
    reason_ascii = reason.encode("ascii", "replace").decode()
    head = (f"HTTP/1.1 {status} {reason_ascii}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nCache-Control: no-store\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def install() -> None:
    def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        util.write_nonblock(sock, json_error_response(int(status_int), str(reason), str(mesg)))

    util.write_error = write_json_error
