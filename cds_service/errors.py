"""Typed errors of the service, each with its HTTP status and a stable error code.

Every error leaves the service as a JSON body ``{"error": <code>, "message": <text>}`` (plus
``"field"`` when one member of the request is at fault) — never an HTML page or a stack trace.
An error may also carry response headers (`headers`, e.g. a 503's ``Retry-After``).
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 500
    code = "internal-error"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra
        self.headers: dict[str, str] = {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class BadRequest(ServiceError):
    status = 400
    code = "bad-request"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not-found"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload-too-large"


class PreconditionFailed(ServiceError):
    """Per the CDS Hooks specification: required data neither prefetched nor obtainable."""

    status = 412
    code = "precondition-failed"


class StorageUnavailable(ServiceError):
    """The database could not take the write: nothing was stored, the client may retry."""

    status = 503
    code = "storage-unavailable"


class ServiceBusy(ServiceError):
    """The worker could not take the request within its time budget (too many large bodies at
    once): nothing was done, the client may retry after ``Retry-After`` seconds."""

    status = 503
    code = "service-busy"

    def __init__(self, message: str, *, retry_after_s: int, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.headers["Retry-After"] = str(retry_after_s)
