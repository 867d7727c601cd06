"""The CDS Hooks 2.0 response schema kept in the package, compiled once.

Used by the tests (every response of every synthetic patient is checked against it) and available
to operators who want to check the service's output in a pipeline:
``response_errors(body)`` returns readable messages, ``check_response(body)`` raises on the first.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from cds_service.protocol.validation import RESPONSE_SCHEMA, load_schema


@lru_cache(maxsize=1)
def response_validator() -> Draft202012Validator:
    schema = load_schema(RESPONSE_SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def response_errors(body: Any) -> list[str]:
    """Every schema violation of a service response, as ``path: message`` strings."""
    errors = sorted(response_validator().iter_errors(body), key=lambda e: list(e.absolute_path))
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}" for e in errors
    ]


def check_response(body: Any) -> None:
    errors = response_errors(body)
    if errors:
        raise ValueError("invalid CDS Hooks response: " + "; ".join(errors[:10]))
