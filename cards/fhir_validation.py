"""Validating the FHIR resources the service builds, with fhir.resources (R4B), before they leave.

Two entry points:

- `validate_with_model`: the whole resource through its fhir.resources model, on every call. For
  resources that carry data the EHR sent us (the corrected copy of a draft order).
- `validate_built`: for the suggestion resources the builders assemble from constants (codes,
  profiles, regimens) plus a few strings that change with every call, each wrapped in `CallValue`
  by the builder (the patient/encounter/condition references, the suggestion uuid, lesion
  identifiers and the notes that name lesions). The resource is split in two:

  * its *template*: the resource with every CallValue replaced by `PLACEHOLDER`. The template is
    validated with the fhir.resources model once per worker process and kept (`_template_error`,
    a bounded memo of a pure function). Templates hold constants and placeholders only — never a
    patient's data — and there are few of them (one per option x number of target volumes x dose
    x re-irradiation x encounter or not...);
  * its CallValues, each validated on every call with fhir.resources' own FHIR `string` type.

  Why the verdict is the one of `validate_with_model`: fhir.resources checks a string leaf only
  through the primitive type of its field, and PLACEHOLDER (leading, doubled and trailing spaces)
  is accepted only by the types that accept every value the FHIR `string` type accepts (string,
  markdown, uri, url, canonical, xhtml; `tests/cards/test_fhir_validation.py` checks this against
  every primitive type of the library). A CallValue in a stricter field (id, code, dateTime...)
  therefore makes the template fail, and the defect is reported, not hidden. The structural
  checks (required members, one-of-many choices, no null or empty element, no unknown member)
  depend only on which members are present, the same in the template and in the resource.

  Why: validating the suggestion resources of a call through their models was a large part of
  a patient-view call's CPU (docs/performance.md, `python -m bench.run --machinery`).

No result is cached across patients: what is kept is the verdict on a template, which holds no
value of any patient, and every call's own values are checked on every call.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from fhir.resources.R4B import fhirtypes, get_fhir_model_class
from pydantic import TypeAdapter, ValidationError

# Templates seen by one worker: a few dozen in practice; the bound only guards against a builder
# that forgets a CallValue (each call would then bring a new template — and patient data).
TEMPLATE_MEMO_SIZE = 512

# Accepted only by the FHIR primitive types that accept every valid FHIR string (module doc).
PLACEHOLDER = " call  value "

_FHIR_STRING = TypeAdapter(fhirtypes.StringType)


class InvalidResource(ValueError):
    """A resource the service built does not validate as FHIR R4: never returned."""


class CallValue(str):
    """A string of a built resource that changes from call to call (see the module doc).

    A `str` in every other respect: it serialises, compares and hashes like the text it holds.
    """

    __slots__ = ()


def validate_with_model(resource: dict[str, Any]) -> dict[str, Any]:
    """Return `resource` unchanged if it validates with its fhir.resources (R4B) model."""
    error = _model_error(resource)
    if error is not None:
        raise InvalidResource(f"{resource.get('resourceType')}: {error}")
    return resource


def validate_built(resource: dict[str, Any]) -> dict[str, Any]:
    """Return `resource` unchanged if it is valid FHIR R4: its template through the memo, its
    CallValues one by one (same verdict as `validate_with_model`, see the module doc)."""
    call_values: list[str] = []
    template = _template(resource, call_values)
    for value in call_values:
        try:
            _FHIR_STRING.validate_python(str(value))
        except ValidationError:
            raise InvalidResource(
                f"{resource.get('resourceType')}: a value is not a valid FHIR string") from None
    try:
        key = json.dumps(template, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # a value no JSON can hold (a date, a NaN...)
        raise InvalidResource(f"{resource.get('resourceType')}: not JSON ({exc})") from None
    error = _template_error(key)
    if error is not None:
        raise InvalidResource(f"{resource.get('resourceType')}: {error}")
    return resource


def _template(value: Any, call_values: list[str]) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _template(item, call_values) for key, item in value.items()}
    if kind is list:
        return [_template(item, call_values) for item in value]
    if kind is CallValue:
        call_values.append(value)
        return PLACEHOLDER
    return value


@functools.lru_cache(maxsize=TEMPLATE_MEMO_SIZE)
def _template_error(template_json: str) -> str | None:
    return _model_error(json.loads(template_json))


def _model_error(resource: Any) -> str | None:
    if not isinstance(resource, dict):
        return "not a JSON object"
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except (KeyError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return str(exc)
    return None
