"""`POST /api/assessment`: one patient's FHIR Bundle in, the salvage assessment JSON out.

api-contract.md: the body is a FHIR R4 Bundle of type collection, searchset or transaction holding
one patient's resources; `?date=YYYY-MM-DD` sets the assessment date (default: today, UTC). Every
malformed request is a 400 with ``{"error": ..., "message": <what is wrong>}`` (plus ``field``) —
never a 500. The assessment itself is the one path every caller shares
(`cds_service.assessment.pipeline`); this module only reads the request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from cds_service.assessment.pipeline import assess_resources
from cds_service.config import ServiceConfig
from cds_service.errors import BadRequest, ServiceError
from cds_service.mapping.context import subject_key
from cds_service.model.assessment import assessment_date_at
from cds_service.web.http_json import read_json_body

bp = Blueprint("assessment_api", __name__)


@bp.before_request
def authenticate() -> None:
    """The same trusted-client JWTs as the CDS endpoints (`aud` = this endpoint's URL): it takes
    one patient's data (issue 16, item 2). Only `serve --dev` turns it off, loudly. A bare
    blueprint without the service around it (unit tests of the mapping path) has nothing to
    authenticate against."""
    services = current_app.extensions.get("salvage_cds")
    if services is not None:
        services.authenticator.authenticate(request)

BUNDLE_TYPES = ("collection", "searchset", "transaction")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_JSON_DEPTH = 64


def parse_assessment_date(value: str | None) -> date:
    if value is None:
        return assessment_date_at(datetime.now(UTC))
    try:
        if len(value) != len("YYYY-MM-DD"):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"date must be a calendar date YYYY-MM-DD (got {value[:40]!r})",
                         field="date") from None


def bundle_resources(body: Any) -> list[dict[str, Any]]:
    """The resources of a collection / searchset / transaction Bundle, checked entry by entry."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        shown = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
        raise BadRequest(f"body must be a FHIR Bundle (got resourceType {shown!r})",
                         field="resourceType")
    bundle_type = body.get("type")
    if bundle_type not in BUNDLE_TYPES:
        raise BadRequest(f"Bundle.type must be one of {', '.join(BUNDLE_TYPES)} "
                         f"(got {bundle_type!r})", field="type")
    entries = body.get("entry", [])
    if not isinstance(entries, list):
        raise BadRequest("Bundle.entry must be an array", field="entry")
    resources = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise BadRequest(f"Bundle.entry[{i}] must be an object", field=f"entry[{i}]")
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise BadRequest(f"Bundle.entry[{i}].resource must be a FHIR resource object with a "
                             "resourceType", field=f"entry[{i}].resource")
        resources.append(resource)
    patients = sorted({str(r.get("id")) for r in resources if r["resourceType"] == "Patient"})
    if len(patients) > 1:
        raise BadRequest(f"the Bundle holds {len(patients)} Patient resources "
                         f"({', '.join(patients[:5])}); one patient's resources are expected",
                         field="entry")
    if not patients:
        _one_subject(resources)
    return resources


def _one_subject(resources: list[dict[str, Any]]) -> None:
    """Without a Patient resource, the subjects must name one patient: nothing else tells whose
    data the assessment is about (with one, the mapping skips the others' resources, named)."""
    subjects = sorted({key for key in map(subject_key, resources)
                       if key and key.startswith("Patient/")})
    if len(subjects) > 1:
        raise BadRequest(f"the Bundle has no Patient resource and its resources are about "
                         f"{len(subjects)} patients ({', '.join(subjects[:5])}); one patient's "
                         "resources are expected", field="entry")


@bp.post("/api/assessment")
def post_assessment() -> Any:
    try:
        on = parse_assessment_date(request.args.get("date"))
        max_bytes = current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BYTES
        services = current_app.extensions.get("salvage_cds")  # absent: the blueprint alone
        body = read_json_body(request, max_bytes=max_bytes, max_depth=MAX_JSON_DEPTH,
                              large_bodies=services.large_bodies if services else None)
        resources = bundle_resources(body)
    except ServiceError as exc:
        return jsonify(exc.to_json()), exc.status, exc.headers
    config = services.config if services is not None else ServiceConfig()
    return jsonify(assess_resources(resources, on=on, config=config).assessment.to_json())
