"""Prefetch templates and the CDS Hooks 2.0 rules on what a client sent for them.

Templates may use root-level primitive context fields (``{{context.patientId}}``) and the 2.0 user
tokens (``{{userPractitionerId}}`` …). CDS Hooks 2.0, "Prefetch tokens": "Only root-level fields
with a primitive value within the context object are eligible" — so ``{{context.a.b}}`` is refused.

What the client sent per key (CDS Hooks 2.0, "Providing FHIR Resources to a CDS Service"):
- a resource or Bundle: data (a searchset Bundle may be paginated: its `next` link is followed);
- ``null``: the client looked and found no data — NOT missing, nothing to fetch;
- an OperationOutcome: the client failed to get it — fetch it ourselves;
- key absent: the client chose not to (or could not) — fetch it ourselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from cds_service.errors import BadRequest

TOKEN = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")

# 2.0 user tokens: the token is replaced by the id part of context.userId when its type matches.
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


class TemplateError(ValueError):
    """A template cannot be rendered against this context."""


class PrefetchState(StrEnum):
    PROVIDED = "provided"
    NO_DATA = "no-data"  # null: the client found nothing
    CLIENT_ERROR = "client-error"  # an OperationOutcome in place of the data
    ABSENT = "absent"  # not sent


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill a template's tokens; None when a user token does not apply to this user.

    Raises TemplateError naming the token (and the context keys available) when a context token
    cannot be filled.
    """
    not_applicable = False

    def replace(match: re.Match[str]) -> str:
        nonlocal not_applicable
        token = match.group(1)
        if token in USER_TOKENS:
            user = context.get("userId")
            wanted = USER_TOKENS[token]
            if isinstance(user, str) and user.startswith(wanted + "/"):
                return quote(user.split("/", 1)[1], safe="")
            not_applicable = True
            return ""
        if not token.startswith("context."):
            raise TemplateError(f"unknown prefetch token {{{{{token}}}}}")
        name = token.removeprefix("context.")
        if "." in name:
            raise TemplateError(
                f"{{{{{token}}}}}: only root-level primitive context fields are allowed"
            )
        if name not in context:
            available = ", ".join(sorted(context)) or "none"
            raise TemplateError(f"{{{{{token}}}}}: context has no {name!r} (available: {available})")
        value = context[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TemplateError(f"{{{{{token}}}}}: context.{name} is not a primitive value")
        return quote(str(value), safe="")

    rendered = TOKEN.sub(replace, template)
    return None if not_applicable else rendered


def prefetch_state(prefetch: Mapping[str, Any] | None, key: str) -> PrefetchState:
    if not prefetch or key not in prefetch:
        return PrefetchState.ABSENT
    value = prefetch[key]
    if value is None:
        return PrefetchState.NO_DATA
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise BadRequest(f"prefetch.{key} is not a FHIR resource", field=f"prefetch.{key}")
    if value["resourceType"] == "OperationOutcome":
        return PrefetchState.CLIENT_ERROR
    return PrefetchState.PROVIDED


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The `next` page of a searchset Bundle, if any."""
    if bundle.get("resourceType") != "Bundle":
        return None
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url:
                return url
    return None


@dataclass(frozen=True)
class PlannedKey:
    """What to do for one prefetch key of one call."""

    key: str
    state: PrefetchState
    query: str | None  # rendered relative FHIR query; None when a user token does not apply
    required: bool
