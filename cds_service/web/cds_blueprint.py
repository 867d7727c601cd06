"""The CDS Hooks 2.0 endpoints: discovery, service calls and feedback.

The routes stay thin: they read the request, delegate to the registry / data gathering / the
service's handler / the feedback store held by `AppParts`, and return JSON. Every failure is a
`ServiceError`, turned into a JSON body by the app's error handler.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from cds_service import metrics
from cds_service.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    ServiceError,
    StorageUnavailable,
)
from cds_service.fhir.gather import gather
from cds_service.model.assessment import assessment_date_at
from cds_service.protocol.registry import HookCall
from cds_service.security.clients import effective_allowlist
from cds_service.storage.feedback_store import FeedbackOutcome
from cds_service.web.app_parts import AppParts
from cds_service.web.http_json import read_json_body

bp = Blueprint("cds", __name__)
log = logging.getLogger("salvage_cds.hooks")


def _parts() -> AppParts:
    return current_app.extensions["salvage_cds"]


def _client_iss() -> str | None:
    """The authenticated client's `iss` (None under `serve --dev`)."""
    client = g.get("cds_client")
    return client.iss if client is not None else None


@bp.before_request
def authenticate() -> None:
    _parts().authenticator.authenticate(request)


@bp.get("/cds-services")
def discovery() -> Any:
    return jsonify(_parts().registry.discovery())


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Any:
    parts = _parts()
    config = parts.config
    service = parts.registry.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service with id {service_id!r}", field="id")
    # The budget counts from here: a large body's wait for its turn is part of the call.
    deadline = time.monotonic() + config.request_budget_s
    body = read_json_body(request, max_bytes=config.max_request_bytes,
                          max_depth=config.max_json_depth, large_bodies=parts.large_bodies,
                          wait_until=deadline)
    parts.validator.validate_request(body, service.hook)
    data = gather(service, body, config, effective_allowlist(parts.allowlist), deadline,
                  parts.fhir_threads, parts.fhir_connections)
    call = HookCall(service=service, request=body, data=data, config=config,
                    today=assessment_date_at(datetime.now(UTC)))
    response = service.handler(call)
    cards = response.get("cards", [])
    metrics.count_hook_call(service.id, cards)
    # Off the request path; a failure costs only the link for later feedback, never the cards.
    parts.feedback.queue_issued_cards(service.id, call.hook_instance, cards, _client_iss())
    log.info(
        "hook call answered",
        extra={
            "service_id": service.id,
            "hook": service.hook,
            "cards": len(cards),
            "fetched_keys": len(data.fetched),
            "missing_keys": len(data.missing),
            "truncated_keys": len(data.truncated),
            "fetch_ms": round(data.fetch_seconds * 1000, 1),
        },
    )
    return jsonify(response)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Any:
    parts = _parts()
    if parts.registry.get(service_id) is None:
        raise NotFound(f"no CDS service with id {service_id!r}", field="id")
    body = read_json_body(request, max_bytes=parts.config.max_request_bytes,
                          max_depth=parts.config.max_json_depth, large_bodies=parts.large_bodies)
    try:
        invalid = parts.validator.feedback_entry_errors(body)
    except ServiceError:  # the body itself is not a feedback request
        metrics.count_feedback("invalid")
        raise
    try:
        outcome = parts.feedback.add_feedback(service_id, body["feedback"],
                                              client_iss=_client_iss(), skip=invalid)
    except SQLAlchemyError:
        # Not acknowledged, so not lost: the client keeps the feedback and may send it again.
        log.error("feedback not stored: database error", extra={"service_id": service_id})
        metrics.count_feedback("not-stored", len(body["feedback"]))
        raise StorageUnavailable("feedback was not stored (database unavailable); retry later") \
            from None
    for index, entry in enumerate(body["feedback"]):
        if index in invalid or index in outcome.invalid:
            metrics.count_feedback("invalid")
        elif index in outcome.refused:
            metrics.count_feedback("refused")
        else:
            metrics.count_feedback(str(entry.get("outcome")))
    log.info("feedback stored", extra={"service_id": service_id, "entries": outcome.stored,
                                       "duplicates": outcome.duplicates,
                                       "unmatched": outcome.unmatched,
                                       "invalid": len(invalid) + len(outcome.invalid),
                                       "refused": len(outcome.refused)})
    return jsonify(_feedback_answer(invalid, outcome))


def _feedback_answer(invalid: dict[int, list[str]], outcome: FeedbackOutcome) -> dict[str, Any]:
    """200 with what was stored; or the refusal of the entries that were not (400: invalid or
    not storable, 403: another client's card), saying how many of the others were stored."""
    answer: dict[str, Any] = {"stored": outcome.acknowledged}
    if outcome.unmatched:
        answer["notCounted"] = outcome.unmatched  # no card of ours by that uuid: kept apart
    paths = [p for i in sorted(invalid) for p in invalid[i]]
    unstorable = [outcome.invalid[i] for i in sorted(outcome.invalid)]
    refused = [outcome.refused[i] for i in sorted(outcome.refused)]
    stored = f"; the other entries were stored ({outcome.acknowledged})"
    if paths or unstorable:
        raise BadRequest(
            "invalid feedback: " + "; ".join([*paths, *map(str, unstorable), *map(str, refused)])
            + stored,
            field=paths[0] if paths else unstorable[0].path,
            invalid=paths + [u.path for u in unstorable],
            refused=[r.path for r in refused], **answer)
    if refused:
        raise Forbidden(
            "feedback refused: " + "; ".join(map(str, refused)) + stored,
            field=refused[0].path, refused=[r.path for r in refused], **answer)
    return answer
