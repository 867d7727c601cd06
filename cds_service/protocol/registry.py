"""One record per CDS service, keyed by service id: discovery and dispatch both read it.

Each module in `hooks/` declares its `SERVICE` (id, hook, title, description, prefetch templates,
which prefetch keys are required, and its handler). Discovery is generated from these records and a
call is routed by service id only (never by hook type, so two services on one hook cannot collide).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cds_service.config import ServiceConfig
    from cds_service.fhir.gather import GatheredData


@dataclass(frozen=True)
class HookCall:
    """Everything a handler needs for one call, already validated and gathered."""

    service: HookService
    request: Mapping[str, Any]  # the validated request body
    data: GatheredData
    config: ServiceConfig
    today: date

    @property
    def context(self) -> Mapping[str, Any]:
        return self.request["context"]

    @property
    def hook_instance(self) -> str:
        return self.request["hookInstance"]


Handler = Callable[[HookCall], dict[str, Any]]


@dataclass(frozen=True)
class HookService:
    id: str
    hook: str
    title: str
    description: str
    handler: Handler
    prefetch: Mapping[str, str] = field(default_factory=dict)
    # Keys without which the service cannot answer: if neither prefetched nor fetchable → 412.
    required_prefetch: frozenset[str] = frozenset()
    usage_requirements: str | None = None

    def discovery_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
        }
        if self.prefetch:
            entry["prefetch"] = dict(self.prefetch)
        if self.usage_requirements:
            entry["usageRequirements"] = self.usage_requirements
        return entry


@dataclass(frozen=True)
class ServiceRegistry:
    services: Mapping[str, HookService]

    @classmethod
    def from_services(cls, services: Iterable[HookService]) -> ServiceRegistry:
        by_id: dict[str, HookService] = {}
        for service in services:
            if service.id in by_id:
                raise ValueError(f"duplicate CDS service id {service.id!r}")
            missing = service.required_prefetch - set(service.prefetch)
            if missing:
                raise ValueError(f"{service.id}: required prefetch keys {sorted(missing)} undefined")
            by_id[service.id] = service
        return cls(by_id)

    def get(self, service_id: str) -> HookService | None:
        return self.services.get(service_id)

    def discovery(self) -> dict[str, Any]:
        return {"services": [s.discovery_entry() for s in self.services.values()]}
