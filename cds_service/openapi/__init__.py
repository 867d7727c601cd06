"""The OpenAPI 3.1 description of the service's HTTP API, served at `/openapi.json`.

Built once per app from the registry (service ids) and the JSON Schemas the service validates
with: the CDS Hooks request, feedback and response schemas of `cds_service/protocol/schemas/`
and the assessment schema next to this module. OpenAPI 3.1 schemas are JSON Schema 2020-12, so
they are embedded as they are, their internal `#/$defs/...` references re-pointed into
`#/components/schemas/<name>/$defs/...` (any OpenAPI tool then resolves them). The SMART app's
HTML pages are described in docs/smart-app.md, not here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from cds_service import __version__
from cds_service.protocol.validation import load_schema

JSON = "application/json"

SCHEMA_FILES = {
    "HookRequest": "cds-hooks-request.schema.json",
    "HookResponse": "cds-hooks-response.schema.json",
    "FeedbackRequest": "cds-hooks-feedback.schema.json",
}


def _repointed(schema: Any, name: str) -> Any:
    """A copy of a schema with `#/$defs/x` references pointing at its place in components."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key in ("$schema", "$id"):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                value = f"#/components/schemas/{name}/" + value.removeprefix("#/")
            out[key] = _repointed(value, name)
        return out
    if isinstance(schema, list):
        return [_repointed(item, name) for item in schema]
    return schema


def assessment_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("assessment.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _component_schemas() -> dict[str, Any]:
    schemas = {name: _repointed(load_schema(file), name) for name, file in SCHEMA_FILES.items()}
    schemas["Assessment"] = _repointed(assessment_schema(), "Assessment")
    schemas.update(copy.deepcopy(FIXED_SCHEMAS))
    return schemas


FIXED_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "stable error code, e.g. bad-request"},
            "message": {"type": "string", "description": "what is wrong, for people"},
            "field": {"type": "string", "description": "the request member at fault"},
        },
    },
    "Discovery": {
        "type": "object",
        "additionalProperties": False,
        "required": ["services"],
        "properties": {"services": {"type": "array", "items": {
            "type": "object",
            "required": ["hook", "title", "description", "id"],
            "properties": {
                "hook": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "id": {"type": "string"},
                "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                "usageRequirements": {"type": "string"},
            },
        }}},
    },
    "FeedbackStored": {
        "type": "object",
        "additionalProperties": False,
        "required": ["stored"],
        "properties": {
            "stored": {"type": "integer", "minimum": 0,
                       "description": "feedback entries stored durably (duplicates acknowledged)"},
            "notCounted": {"type": "integer", "minimum": 1,
                           "description": "of those, entries on no card this service issued when "
                                          "they arrived: kept apart until a matching card link "
                                          "exists (never counted otherwise)"},
        },
    },
    "Health": {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "database", "services"],
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "database": {"enum": ["ok", "unavailable"]},
            "services": {"type": "integer", "minimum": 0},
        },
    },
    "FhirBundle": {
        "type": "object",
        "required": ["resourceType", "type"],
        "properties": {
            "resourceType": {"const": "Bundle"},
            "type": {"enum": ["collection", "searchset", "transaction"]},
            "entry": {"type": "array", "items": {"type": "object", "properties": {
                "resource": {"type": "object", "required": ["resourceType"]}}}},
        },
    },
}


def _json_body(schema: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/E{status}"} for status in statuses}


ERROR_MEANINGS = {
    400: "malformed request: the message names the offending member (`field`)",
    401: "CDS client JWT missing or refused (not in --dev mode)",
    404: "no CDS service with this id",
    412: "required data (patient, conditions) neither prefetched nor obtainable from fhirServer",
    403: "feedback entries about cards issued to another client: refused (the others stored)",
    413: "request body too large",
    503: "feedback: database unavailable, the feedback was not stored, send it again; any call "
         "with a large body (>= 1 MiB): the worker was busy with other large bodies for the "
         "call's time budget, nothing was done, retry after the Retry-After seconds",
}

SERVICE_ID = {"name": "service_id", "in": "path", "required": True,
              "description": "a service id from discovery"}


def _paths(service_ids: list[str]) -> dict[str, Any]:
    service_id = {**SERVICE_ID, "schema": {"enum": service_ids}}
    jwt: list[dict[str, list[str]]] = [{"cdsClientJwt": []}]  # the scheme, no scopes
    return {
        "/cds-services": {"get": {
            "operationId": "discovery", "summary": "CDS Hooks discovery", "security": jwt,
            "responses": {"200": _json_body("Discovery", "the services and their prefetch"),
                          **_errors(401)}}},
        "/cds-services/{service_id}": {"post": {
            "operationId": "callService", "summary": "CDS Hooks service call",
            "security": jwt, "parameters": [service_id],
            "requestBody": {"required": True, **_json_body("HookRequest", "CDS Hooks request")},
            "responses": {"200": _json_body("HookResponse", "cards ({\"cards\": []} when silent)"),
                          **_errors(400, 401, 404, 412, 413, 503)}}},
        "/cds-services/{service_id}/feedback": {"post": {
            "operationId": "feedback", "summary": "CDS Hooks 2.0 feedback",
            "security": jwt, "parameters": [service_id],
            "requestBody": {"required": True, **_json_body("FeedbackRequest", "feedback")},
            "responses": {"200": _json_body("FeedbackStored", "stored (after the commit)"),
                          **_errors(400, 401, 403, 404, 413, 503)}}},
        "/api/assessment": {"post": {
            "operationId": "assess", "summary": "one patient's FHIR Bundle in, the assessment out",
            "security": jwt, "parameters": [{"name": "date", "in": "query", "required": False,
                            "description": "assessment date (default: today, UTC)",
                            "schema": {"type": "string", "format": "date"}}],
            "requestBody": {"required": True, **_json_body("FhirBundle", "a FHIR R4 Bundle")},
            "responses": {"200": _json_body("Assessment", "the salvage assessment"),
                          **_errors(400, 401, 413, 503)}}},
        "/health": {"get": {
            "operationId": "health", "summary": "liveness and database check",
            "responses": {"200": _json_body("Health", "healthy"),
                          "503": _json_body("Health", "database unavailable")}}},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "this description",
            "responses": {"200": {"description": "OpenAPI 3.1 document",
                                  "content": {JSON: {"schema": {"type": "object"}}}}}}},
        "/": {"get": {
            "operationId": "index", "summary": "a page with the version and links",
            "responses": {"200": {"description": "HTML page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    }


def build_document(service_ids: Iterable[str], server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "salvage-cds",
            "version": __version__,
            "summary": "CDS Hooks 2.0 decision support for progressive breast cancer brain "
                       "metastases",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": server_url.rstrip("/")}],
        "paths": _paths(sorted(service_ids)),
        "components": {
            "schemas": _component_schemas(),
            "responses": {f"E{status}": _json_body("Error", meaning)
                          for status, meaning in ERROR_MEANINGS.items()},
            "securitySchemes": {"cdsClientJwt": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "CDS Hooks 2.0 'Trusting CDS Clients' (off only in serve --dev)"}},
        },
    }
