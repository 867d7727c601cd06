"""What the service says about itself: `/openapi.json` and a small page at `/`."""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from cds_service import __version__
from cds_service.openapi import build_document

bp = Blueprint("meta", __name__)

INDEX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>salvage-cds {version}</title></head>
<body>
<h1>salvage-cds {version}</h1>
<p>CDS Hooks 2.0 decision support for progressive breast cancer brain metastases.</p>
<ul>
<li><a href="cds-services">CDS Hooks discovery</a> (<code>GET /cds-services</code>)</li>
<li><a href="openapi.json">API description</a> (OpenAPI 3.1, <code>GET /openapi.json</code>)</li>
<li><a href="health">Health</a> (<code>GET /health</code>)</li>
</ul>
</body></html>
"""


@bp.get("/openapi.json")
def openapi() -> Any:
    services = current_app.extensions["salvage_cds"]
    document = current_app.extensions.get("salvage_cds_openapi")
    if document is None:
        document = build_document(services.registry.services, services.config.public_base_url)
        current_app.extensions["salvage_cds_openapi"] = document
    return jsonify(document)


@bp.get("/")
def index() -> Response:
    page = INDEX_PAGE.format(version=escape(__version__))
    return Response(page, mimetype="text/html")
