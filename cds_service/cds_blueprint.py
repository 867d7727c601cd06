"""The CDS Hooks 2.0 endpoints: discovery, service calls and feedback.

The routes stay thin: they read the request, delegate to the registry / data gathering / the
service's handler / the feedback store held by `AppServices`, and return JSON. Every failure is a
`ServiceError`, turned into a JSON body by the app's error handler.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from sqlalchemy.exc import SQLAlchemyError

from cds_service import metrics
from cds_service.errors import NotFound, ServiceError, StorageUnavailable
from cds_service.fhir.gather import gather
from cds_service.http_json import read_json_body
from cds_service.registry import HookCall
from cds_service.security.clients import effective_allowlist
from cds_service.services import AppServices

bp = Blueprint("cds", __name__)
log = logging.getLogger("salvage_cds.hooks")


def _services() -> AppServices:
    return current_app.extensions["salvage_cds"]


@bp.before_request
def authenticate() -> None:
    _services().authenticator.authenticate(request)


@bp.get("/cds-services")
def discovery() -> Any:
    return jsonify(_services().registry.discovery())


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Any:
    services = _services()
    config = services.config
    service = services.registry.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service with id {service_id!r}", field="id")
    body = read_json_body(request, max_bytes=config.max_request_bytes,
                          max_depth=config.max_json_depth)
    services.validator.validate_request(body, service.hook)
    deadline = time.monotonic() + config.request_budget_s
    data = gather(service, body, config, effective_allowlist(services.allowlist), deadline,
                  services.fhir_threads, services.fhir_connections)
    call = HookCall(service=service, request=body, data=data, config=config, today=date.today())
    response = service.handler(call)
    metrics.count_hook_call(service.id, response.get("cards", []))
    # Off the request path; a failure costs only the link for later feedback, never the cards.
    services.feedback.queue_issued_cards(service.id, call.hook_instance,
                                         response.get("cards", []))
    log.info(
        "hook call answered",
        extra={
            "service_id": service.id,
            "hook": service.hook,
            "cards": len(response.get("cards", [])),
            "fetched_keys": len(data.fetched),
            "missing_keys": len(data.missing),
            "truncated_keys": len(data.truncated),
            "fetch_ms": round(data.fetch_seconds * 1000, 1),
        },
    )
    return jsonify(response)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Any:
    services = _services()
    if services.registry.get(service_id) is None:
        raise NotFound(f"no CDS service with id {service_id!r}", field="id")
    try:
        body = read_json_body(request, max_bytes=services.config.max_request_bytes,
                              max_depth=services.config.max_json_depth)
        services.validator.validate_feedback(body)
    except ServiceError:
        metrics.count_feedback("invalid")
        raise
    try:
        stored = services.feedback.add_feedback(service_id, body["feedback"])
    except SQLAlchemyError:
        # Not acknowledged, so not lost: the client keeps the feedback and may send it again.
        log.error("feedback not stored: database error", extra={"service_id": service_id})
        metrics.count_feedback("not-stored", len(body["feedback"]))
        raise StorageUnavailable("feedback was not stored (database unavailable); retry later") \
            from None
    for entry in body["feedback"]:
        metrics.count_feedback(str(entry["outcome"]))
    log.info("feedback stored", extra={"service_id": service_id, "entries": stored})
    return jsonify({"stored": stored})
