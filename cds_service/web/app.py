"""The Flask application factory.

`create_app(config)` builds everything an app needs — registry, validator, allowlist, feedback
store, authenticator — and keeps it on ``app.extensions["salvage_cds"]``. Nothing happens at import
time. Every error leaves as JSON (never an HTML page, never a stack trace).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from cards.suggestions import preload_models
from cds_service import metrics
from cds_service.config import ServiceConfig
from cds_service.errors import ServiceError
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.connections import FhirConnections
from cds_service.fhir.gather import fhir_settings
from cds_service.fhir.threads import FhirThreads
from cds_service.protocol.registry import ServiceRegistry
from cds_service.protocol.validation import RequestValidator
from cds_service.security import build_authenticator
from cds_service.security.phi_logging import install_request_logging
from cds_service.smart import bp as smart_bp
from cds_service.storage.feedback_store import FeedbackStore
from cds_service.web.app_parts import AppParts
from cds_service.web.assessment_api import bp as assessment_bp
from cds_service.web.cds_blueprint import bp as cds_bp
from cds_service.web.http_json import LargeBodySlots
from cds_service.web.json_provider import OrjsonProvider
from cds_service.web.meta_routes import bp as meta_bp
from hooks import load_services

log = logging.getLogger("salvage_cds.app")

CORS_ALLOW_METHODS = "GET, POST, OPTIONS"
CORS_ALLOW_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE_S = "600"
# The SMART app is a same-origin browser app: no cross-origin script may read its pages
# (issue 16, item 14: CORS "*" covered /smart/* too).
NO_CORS_PREFIXES = ("/smart",)
# Answers that carry patient data are never stored by a browser or a proxy (issue 16, item 14).
PATIENT_DATA_PREFIXES = ("/cds-services/", "/api/assessment")


def create_app(config: ServiceConfig | None = None) -> Flask:
    config = config or ServiceConfig.from_env()
    app = Flask("cds_service", instance_relative_config=False)
    app.json = OrjsonProvider(app)
    app.config.update(
        SECRET_KEY=config.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=config.max_request_bytes,
    )
    app.config.update(dict(config.flask))
    app.json.sort_keys = False  # members in the order built (JSON_SORT_KEYS is gone since Flask 2.3)

    app.extensions["salvage_cds"] = AppParts(
        config=config,
        registry=ServiceRegistry.from_services(load_services()),
        validator=RequestValidator.create(),
        allowlist=FhirAllowlist.from_config(config.fhir_allowlist,
                                            config.fhir_allow_insecure_loopback),
        feedback=FeedbackStore.open(config.database_url),
        authenticator=build_authenticator(config),
        fhir_threads=FhirThreads(config.fhir_pool_threads),
        fhir_connections=FhirConnections(fhir_settings(config),
                                         pool_size=config.fhir_pool_threads),
        large_bodies=LargeBodySlots(config.large_bodies_per_worker, config.request_budget_s),
    )

    preload_models()  # validators built once per worker at start-up, not on the first call
    install_request_logging(app)  # first: request ids exist before any other hook logs
    metrics.install(app)
    app.register_blueprint(cds_bp)
    app.register_blueprint(assessment_bp)
    app.register_blueprint(smart_bp)
    app.register_blueprint(meta_bp)
    _register_health(app)
    _register_cors(app, config)
    _register_no_store(app)
    _register_error_handlers(app)
    return app


def _register_health(app: Flask) -> None:
    @app.get("/health")
    def health() -> Any:
        parts: AppParts = app.extensions["salvage_cds"]
        try:
            parts.feedback.ping()
            database = "ok"
        except Exception:  # the health check reports a broken database, never raises
            log.exception("database ping failed")
            database = "unavailable"
        status = 200 if database == "ok" else 503
        return jsonify({"status": "ok" if status == 200 else "degraded",
                        "database": database,
                        "services": len(parts.registry.services)}), status


def _register_no_store(app: Flask) -> None:
    @app.after_request
    def no_store(response: Response) -> Response:
        if request.method == "POST" and request.path.startswith(PATIENT_DATA_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response


def _register_cors(app: Flask, config: ServiceConfig) -> None:
    allowed = config.cors_origins

    def origin_allowed(origin: str) -> str | None:
        if "*" in allowed:
            return "*"
        return origin if origin in allowed else None

    @app.before_request
    def preflight() -> Response | None:
        if request.method == "OPTIONS":
            return app.make_default_options_response()
        return None

    @app.after_request
    def cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is None or request.path.startswith(NO_CORS_PREFIXES):
            return response
        allow = origin_allowed(origin)
        if allow is None:
            return response
        response.headers["Access-Control-Allow-Origin"] = allow
        if allow != "*":
            response.headers.add("Vary", "Origin")
        if request.method == "OPTIONS":
            response.status_code = 204
            response.headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE_S
        return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Any:
        response = jsonify(error.to_json())
        response.status_code = error.status
        response.headers.update(error.headers)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="salvage-cds"'
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        response = jsonify({"error": (error.name or "error").lower().replace(" ", "-"),
                            "message": error.description or error.name})
        response.status_code = error.code or 500
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        # The message is generic on purpose: no stack trace, no data, reaches the caller.
        log.error("unexpected error: %s", type(error).__name__, exc_info=error)
        response = jsonify({"error": "internal-error",
                            "message": "the service failed to process this request"})
        response.status_code = 500
        return response
