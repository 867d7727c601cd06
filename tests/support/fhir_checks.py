"""Helpers: every resource a card carries validates as FHIR R4 (fhir.resources R4B models)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from cards import codes


def suggestion_resources(cards: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if "resource" in action:
                    yield action["resource"]


def assert_valid_fhir(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def extension(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == url]


def sub(ext: dict[str, Any], name: str) -> Any:
    [value] = [s for s in ext["extension"] if s["url"] == name]
    return value


def doses(resource: dict[str, Any]) -> list[tuple[float, int]]:
    """(totalDose cGy, fractions) of every dose-prescribed-to-volume extension."""
    out = []
    for ext in extension(resource, codes.DOSE_PRESCRIBED_TO_VOLUME):
        quantity = sub(ext, "totalDose")["valueQuantity"]
        assert quantity["code"] == "cGy" and quantity["system"] == codes.UCUM
        out.append((quantity["value"], sub(ext, "fractions")["valuePositiveInt"]))
    return out


def project_codings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return [c for c in concept.get("coding", [])
            if c["system"] in (codes.SALVAGE_OPTION, codes.SYSTEMIC_REGIMEN)]
