"""PHI-safe structured logging: one JSON object per line, a request id on every line.

What is logged: for each request an access line (``"msg": "request"``) with the request id, method,
route template, service id, hook, authenticated client, status, duration and byte counts; the
service's own lines add counts (cards, fetched/missing keys) and timings. What is never logged:
names, birth dates, resource contents, request or response bodies, query strings, tokens, JWTs.

Defences in depth, because a log line is written by many hands:

* the access line is built from the route *template* (``/cds-services/<service_id>``) and fixed
  fields — never from the body or the query string;
* every string that reaches the formatter is scrubbed of anything shaped like a JWT
  (``eyJ….….…``) or a ``Bearer …`` credential, and cut to a bounded length;
* exceptions are logged as their type and stack frames only — an exception *message* can quote
  data (``KeyError: 'Zielinska'``), so it is dropped.

`install_request_logging(app)` is called by the app factory; it attaches the JSON handler to the
``salvage_cds`` logger once per process and registers the before/after-request hooks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

LOGGER_NAME = "salvage_cds"
REQUEST_ID_HEADER = "X-Request-Id"
MAX_STRING = 500
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message", "asctime", "taskName"}

access_log = logging.getLogger(LOGGER_NAME + ".access")


def scrub(text: str) -> str:
    """Remove anything shaped like a JWT or a bearer credential; bound the length."""
    text = _JWT_LIKE.sub("[redacted-jwt]", text)
    text = _BEARER.sub(r"\1 [redacted]", text)
    if len(text) > MAX_STRING:
        text = text[:MAX_STRING] + "…"
    return text


def _safe_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        return [_safe_value(v) for v in value[:50]]
    if isinstance(value, dict):
        return {scrub(str(k)): _safe_value(v) for k, v in list(value.items())[:50]}
    return scrub(type(value).__name__)  # never the repr of an arbitrary object


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or _current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = _safe_value(value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            entry["exc_type"] = exc_type.__name__
            entry["exc_stack"] = [f"{f.filename}:{f.lineno}:{f.name}"
                                  for f in traceback.extract_tb(tb)][-20:]
        return json.dumps(entry, ensure_ascii=False, default=lambda v: type(v).__name__)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at emit time (test capture, gunicorn's redirect…)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self._salvage_cds_json = True

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    """Attach the JSON handler to the ``salvage_cds`` logger (once per process)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(getattr(h, "_salvage_cds_json", False) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    if logger.level == logging.NOTSET:
        logger.setLevel(level)
    # urllib3 logs request URLs (FHIR queries carry patient ids) on retries and at debug level;
    # our FHIR client reports failures itself, without the URL.
    third_party = logging.getLogger("urllib3")
    if third_party.level == logging.NOTSET or third_party.level < logging.ERROR:
        third_party.setLevel(logging.ERROR)
    return logger


def _current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


def install_request_logging(app: Flask) -> None:
    """Request ids and the PHI-safe access log (call before other before_request hooks)."""
    configure_logging()

    @app.before_request
    def start_request_log() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def write_access_log(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        fields: dict[str, Any] = {
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else "(unmatched)",
            "status": response.status_code,
            "request_bytes": request.content_length or 0,
            "response_bytes": response.calculate_content_length(),
        }
        if started is not None:
            fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        service_id = (request.view_args or {}).get("service_id")
        if service_id is not None:
            fields["service_id"] = str(service_id)[:128]
            fields["hook"] = _hook_of(app, str(service_id))
        client = g.get("cds_client")
        if client is not None:
            fields["client"] = client.label
        access_log.info("request", extra=fields)
        return response


def _hook_of(app: Flask, service_id: str) -> str | None:
    services = app.extensions.get("salvage_cds")
    service = services.registry.get(service_id) if services is not None else None
    return service.hook if service is not None else None
