"""The per-app parts (stores, validator, allowlist, authenticator, FHIR threads and
connections), built once by the app factory and kept on `app.extensions`. (Not named "services":
a CDS service is one of the hook services of the discovery document.)

Nothing here is module-global: two apps (e.g. two tests) never share a store or a validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import Request

from cds_service.config import ServiceConfig
from cds_service.fhir.allowlist import FhirAllowlist
from cds_service.fhir.connections import FhirConnections
from cds_service.fhir.threads import FhirThreads
from cds_service.protocol.registry import ServiceRegistry
from cds_service.protocol.validation import RequestValidator
from cds_service.storage.feedback_store import FeedbackStore
from cds_service.web.http_json import LargeBodySlots


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> None:
        """Return when the caller is authenticated; raise `Unauthorized` otherwise."""


@dataclass(frozen=True)
class AppParts:
    config: ServiceConfig
    registry: ServiceRegistry
    validator: RequestValidator
    allowlist: FhirAllowlist
    feedback: FeedbackStore
    authenticator: Authenticator
    fhir_threads: FhirThreads  # run the FHIR queries of the hook calls of this process
    fhir_connections: FhirConnections  # kept-alive sessions to the FHIR servers, shared
    large_bodies: LargeBodySlots  # large request bodies this process handles at once

    def close(self) -> None:
        """Write what is queued and release connections and threads (worker exit, tests)."""
        self.feedback.close()
        self.fhir_threads.shutdown()
        self.fhir_connections.close()
        close = getattr(self.authenticator, "close", None)
        if close is not None:
            close()
