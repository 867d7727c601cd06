"""Read one patient's data for the SMART app through the same FHIR access as the hooks.

The queries the assessment reads (`cds_service.assessment.queries.PATIENT_DATA_PREFETCH`, the
hooks' prefetch), the same `FhirClient` (allowlist, timeouts, bounded retries, no redirects,
paging caps) and the same rule for what is required: without the Patient and its Conditions
there is no plan; every other query that fails is named on the page as missing data. Errors carry
messages that are safe to show (no token).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cds_service.assessment.queries import PATIENT_DATA_PREFETCH, REQUIRED_KEYS
from cds_service.config import ServiceConfig
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.client import FhirAuthError, FhirClient, FhirNotFound, FhirUnavailable
from cds_service.fhir.gather import fhir_settings
from cds_service.protocol.prefetch import render_template


class PatientDataError(Exception):
    """The plan cannot be built; `kind` picks the page, `str()` is safe to show."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "auth" | "not-found" | "unreachable" | "failed"


# The queries whose results the plan's situation rests on: without them "no progression on record"
# or "never treated locally" would be missing data presented as a finding (issue 18).
ESSENTIAL_DATA = {
    "imaging measurements and disease status (Observation)": ("observations",),
    "local treatments of the brain (Procedure)": ("procedures", "profiledProcedures"),
}
_HTTP_STATUS = re.compile(r"\((\d{3})\)")


@dataclass
class PatientData:
    values: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fetch_seconds: float = 0.0

    failed: dict[str, str] = field(default_factory=dict)  # key -> error, optional queries

    def unread(self) -> tuple[str, ...]:
        """The essential queries that failed or came back empty: what the plan could not read."""
        lines = []
        for what, keys in ESSENTIAL_DATA.items():
            failed = [self.failed[key] for key in keys if key in self.failed]
            if failed:
                lines.append(f"{what}: the search failed ({failed[0]})")
            elif all(_empty(self.values.get(key)) for key in keys):
                lines.append(f"{what}: the search returned nothing")
        return tuple(lines)

    def resources(self) -> list[Any]:
        return [value for value in self.values.values() if value is not None]

    @property
    def patient(self) -> dict[str, Any] | None:
        value = self.values.get("patient")
        return value if isinstance(value, dict) and value.get("resourceType") == "Patient" else None


def _empty(value: Any) -> bool:
    if value is None:
        return True
    return (isinstance(value, dict) and value.get("resourceType") == "Bundle"
            and not value.get("entry"))


def encode_query(query: str) -> str:
    """Percent-encode every search parameter value (`http://loinc.org|21889-1` →
    `http%3A%2F%2Floinc.org%7C21889-1`) so that no proxy's path normalisation (`//` → `/`) can
    change a token. Commas stay: they separate the values of one parameter."""
    path, sep, params = query.partition("?")
    if not sep:
        return query
    encoded = []
    for pair in params.split("&"):
        name, eq, value = pair.partition("=")
        encoded.append(name + eq + quote(value, safe=","))
    return path + "?" + "&".join(encoded)


def queries_for(patient_id: str) -> dict[str, str]:
    context = {"patientId": patient_id}
    rendered = {key: render_template(template, context)
                for key, template in PATIENT_DATA_PREFETCH.items()}
    return {key: encode_query(query) for key, query in rendered.items() if query is not None}


def failure_kind(error: Exception) -> str:
    """"unreachable" when no answer came; "failed" when the server answered with an error."""
    if isinstance(error, FhirUnavailable) and not _HTTP_STATUS.search(str(error)):
        return "unreachable"
    return "failed"


def fetch_patient_data(config: ServiceConfig, allowlist: FhirAllowlist, fhir_base: str,
                       access_token: str, patient_id: str) -> PatientData:
    base = allowlist.check(fhir_base)  # re-checked on every use: the allowlist may have changed
    started = time.perf_counter()
    deadline = time.monotonic() + config.request_budget_s
    with FhirClient(base, fhir_base, access_token, fhir_settings(config), allowlist) as client:
        results = client.fetch_many(queries_for(patient_id), deadline)
    data = PatientData(values={}, fetch_seconds=time.perf_counter() - started)
    for key, result in results.items():
        data.notes.extend(f"{key}: {note}" for note in result.notes)
        if result.truncation is not None:
            data.notes.append(result.truncation.for_key(key).describe())
        if result.error is None:
            data.values[key] = result.value
            continue
        data.values[key] = None
        if isinstance(result.error, FhirAuthError):
            raise PatientDataError("auth", str(result.error))
        if key in REQUIRED_KEYS:
            if key == "patient" and isinstance(result.error, FhirNotFound):
                raise PatientDataError("not-found", "the patient in context was not found on the "
                                                    "FHIR server")
            raise PatientDataError(failure_kind(result.error), f"{key}: {result.error}")
        data.failed[key] = str(result.error)
        data.missing.append(f"{key}: {result.error}")
    if data.patient is None:
        raise PatientDataError("not-found", "the FHIR server did not return the patient in context")
    return data
