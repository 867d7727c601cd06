"""Talking to the user's FHIR sandbox: load the demo bundles, read a patient's prefetch.

Plain HTTP with `requests`: any FHIR R4 server that accepts transaction Bundles with PUT entries
(client-assigned ids) will do. Every failure becomes a `SandboxError` whose message says what
failed and where, never a traceback.
"""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from cds_service.ops.demo import CATALOG, DemoPatient, Resource, bundle
from cds_service.protocol.prefetch import TemplateError, next_link, render_template

TIMEOUT_S = (5.0, 60.0)
MAX_PAGES = 20
FHIR_JSON = "application/fhir+json"
DEMO_USER = "Practitioner/example-radonc"


class SandboxError(RuntimeError):
    """The FHIR server could not be reached or refused what was asked."""


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SandboxError(f"--fhir must be an http(s) FHIR base URL, got {url!r}")
    return url.rstrip("/")


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _problem(response: requests.Response) -> str:
    """What the server said, from an OperationOutcome when it sent one."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    issues = body.get("issue") if isinstance(body, dict) else None
    if isinstance(issues, list):
        said = [str(i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code"))
                for i in issues if isinstance(i, dict)]
        return "; ".join(said)[:500]
    return json.dumps(body)[:300]


def _send(method: str, url: str, token: str | None, body: Resource | None = None) -> Resource:
    try:
        response = requests.request(method, url, json=body, headers=_headers(token),
                                    timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        raise SandboxError(f"{method} {url}: cannot reach the FHIR server ({type(exc).__name__})"
                           ) from exc
    if response.status_code >= 400:
        raise SandboxError(f"{method} {url}: HTTP {response.status_code}: {_problem(response)}")
    try:
        data: Resource = response.json()
    except ValueError as exc:
        raise SandboxError(f"{method} {url}: the answer is not JSON") from exc
    return data


def _failed_entries(result: Resource) -> list[str]:
    return [str(entry.get("response", {}).get("status"))
            for entry in result.get("entry") or []
            if not str(entry.get("response", {}).get("status", "200")).startswith("2")]


def load_patient(base_url: str, patient: DemoPatient, token: str | None = None) -> int:
    """PUTs every resource of one demo patient in one transaction; returns how many."""
    data = bundle(patient.name)
    result = _send("POST", base_url, token, data)
    failed = _failed_entries(result)
    if failed:
        raise SandboxError(f"{patient.name}: {len(failed)} entries refused: {failed[:5]}")
    return len(data["entry"])


def load_all(base_url: str, token: str | None = None) -> list[tuple[DemoPatient, int]]:
    return [(patient, load_patient(base_url, patient, token)) for patient in CATALOG]


def hook_request_without_prefetch(patient_id: str, fhir_url: str,
                                  with_token: bool = False) -> Resource:
    request: Resource = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir_url,
        "context": {"userId": DEMO_USER, "patientId": patient_id},
    }
    if with_token:
        request["fhirAuthorization"] = {"access_token": "$FHIR_TOKEN", "token_type": "Bearer",
                                        "expires_in": 3600, "scope": "patient/*.read",
                                        "subject": "salvage-cds-demo"}
    return request


def curl_command(service_url: str, service_id: str, request: Resource) -> str:
    """A ready-to-paste curl; a token stays in the shell variable $FHIR_TOKEN, never printed."""
    body = json.dumps(request, separators=(",", ":"))
    quoted = shlex.quote(body)
    if "$FHIR_TOKEN" in body:
        quoted = quoted.replace("$FHIR_TOKEN", "'\"$FHIR_TOKEN\"'")
    url = f"{service_url.rstrip('/')}/cds-services/{service_id}"
    return f"curl -s -X POST {url} -H 'Content-Type: application/json' -d {quoted}"


def _search_all(base_url: str, query: str, token: str | None) -> Resource:
    """A query's result with its pages merged (a searchset without `next`)."""
    page = _send("GET", f"{base_url}/{query}", token)
    if page.get("resourceType") != "Bundle":
        return page
    entries = list(page.get("entry") or [])
    for _ in range(MAX_PAGES - 1):
        link = next_link(page)
        if link is None:
            break
        page = _send("GET", urljoin(base_url + "/", link), token)
        entries += page.get("entry") or []
    else:
        if next_link(page):
            raise SandboxError(f"{query}: more than {MAX_PAGES} pages")
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
            "entry": entries}


def prefetch_for(base_url: str, templates: Mapping[str, str], context: Mapping[str, Any],
                 token: str | None = None) -> Resource:
    prefetch: Resource = {}
    for key, template in templates.items():
        try:
            query = render_template(template, context)
        except TemplateError as exc:
            raise SandboxError(f"prefetch {key}: {exc}") from exc
        if query is not None:
            prefetch[key] = _search_all(base_url, query, token)
    return prefetch


def hook_request_with_prefetch(base_url: str, patient_id: str, templates: Mapping[str, str],
                               token: str | None = None) -> Resource:
    request = hook_request_without_prefetch(patient_id, base_url)
    request["prefetch"] = prefetch_for(base_url, templates, request["context"], token)
    return request
