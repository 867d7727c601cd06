"""JSON Schema validation of CDS Hooks requests and feedback.

The schemas live as files next to this module (`schemas/`), are loaded and compiled once per app
(`RequestValidator` is built by the app factory), and every error names the offending member with a
dotted path such as ``context.patientId`` so an integrator can fix the call without guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from cds_service.errors import BadRequest

SCHEMA_PACKAGE = "cds_service.protocol"
REQUEST_SCHEMA = "cds-hooks-request.schema.json"
FEEDBACK_SCHEMA = "cds-hooks-feedback.schema.json"
RESPONSE_SCHEMA = "cds-hooks-response.schema.json"


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files(SCHEMA_PACKAGE).joinpath("schemas", name).read_text("utf-8")
    return json.loads(text)


def error_path(error: ValidationError) -> str:
    """Dotted path of the member at fault; for a missing member, the path of that member."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        # message is "'name' is a required property": name the missing member itself.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    elif error.validator == "dependentRequired":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    return ".".join(p for p in parts if p) or "(body)"


def _describe(error: ValidationError) -> str:
    path = error_path(error)
    if error.validator == "required":
        return f"{path} is required"
    if error.validator == "dependentRequired":
        return f"{path} is required when fhirAuthorization is present"
    if error.validator == "pattern":
        return f"{path} has an invalid format"
    if error.validator == "type":
        return f"{path} must be of type {error.validator_value}"
    if error.validator == "const":
        return f"{path} must be {json.dumps(error.validator_value)}"
    if error.validator == "enum":
        choices = error.validator_value if isinstance(error.validator_value, list) else []
        return f"{path} must be one of {', '.join(map(json.dumps, choices))}"
    return f"{path}: {error.message}"


def _first_error(validator: Draft202012Validator, instance: Any) -> ValidationError | None:
    # The shallowest error is the most useful one to report ("context is required" rather than
    # something deep inside it); ties keep the schema's order, so the message is stable.
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path), e.path))
    return errors[0] if errors else None


def _with_local_refs_resolved(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """`schema` with each `{"$ref": "#/$defs/NAME"}` replaced by that definition: the same
    constraints, errors with the same keyword, value and instance path, but no reference to
    resolve on every request (jsonschema resolves a `$ref` each time it meets one). The
    definitions do not refer to themselves; a deeper chain is left as a reference."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if (len(schema) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/")
                and ref.removeprefix("#/$defs/") in defs and depth < _MAX_REF_DEPTH):
            return _with_local_refs_resolved(defs[ref.removeprefix("#/$defs/")], defs, depth + 1)
        return {k: _with_local_refs_resolved(v, defs, depth) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_with_local_refs_resolved(v, defs, depth) for v in schema]
    return schema


_MAX_REF_DEPTH = 8


@dataclass(frozen=True)
class RequestValidator:
    request: Draft202012Validator
    feedback: Draft202012Validator
    contexts: dict[str, Draft202012Validator]

    @classmethod
    def create(cls) -> RequestValidator:
        request_schema = load_schema(REQUEST_SCHEMA)
        Draft202012Validator.check_schema(request_schema)
        contexts = {}
        for key in request_schema["$defs"]:
            if key.endswith("-context"):
                hook = key.removesuffix("-context")
                defs = request_schema["$defs"]
                sub = {**_with_local_refs_resolved(defs[key], defs), "$defs": defs}
                contexts[hook] = Draft202012Validator(sub)
        feedback_schema = load_schema(FEEDBACK_SCHEMA)
        Draft202012Validator.check_schema(feedback_schema)
        return cls(
            request=Draft202012Validator(request_schema),
            feedback=Draft202012Validator(feedback_schema),
            contexts=contexts,
        )

    def validate_request(self, body: Any, hook: str) -> None:
        """Raise BadRequest naming the first offending member of a service request."""
        error = _first_error(self.request, body)
        if error is not None:
            raise BadRequest(_describe(error), field=error_path(error))
        if body["hook"] != hook:
            raise BadRequest(
                f"hook is {body['hook']!r} but this service answers {hook!r}", field="hook"
            )
        context_validator = self.contexts.get(hook)
        if context_validator is not None:
            error = _first_error(context_validator, body["context"])
            if error is not None:
                path = error_path(error)
                field = "context" if path == "(body)" else f"context.{path}"
                message = _describe(error).replace(path, field, 1)
                raise BadRequest(message, field=field)

    def feedback_entry_errors(self, body: Any) -> dict[int, list[str]]:
        """Per entry, the paths of what is wrong with it (its index -> paths); an error in the
        envelope (no `feedback` list, too many entries) is a `BadRequest` for the whole body.
        Entries are judged one by one: a bad one is named, the others can be stored."""
        errors = sorted(self.feedback.iter_errors(body), key=lambda e: list(e.absolute_path))
        per_entry: dict[int, list[str]] = {}
        for error in errors:
            path = list(error.absolute_path)
            if len(path) >= 2 and path[0] == "feedback" and isinstance(path[1], int):
                per_entry.setdefault(path[1], []).append(error_path(error))
            else:
                self.validate_feedback(body)  # raises, naming every error
        return per_entry

    def validate_feedback(self, body: Any) -> None:
        errors = sorted(self.feedback.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            described = [_describe(e) for e in errors[:20]]
            raise BadRequest(
                "invalid feedback: " + "; ".join(described),
                field=error_path(errors[0]),
                invalid=[error_path(e) for e in errors[:20]],
            )
