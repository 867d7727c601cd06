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
    try:
        key = _template_key(resource, call_values)
    except _NotPlainJson:
        return _validate_built_slowly(resource)
    return _checked(resource, key, call_values)


def strip_and_validate_built(resource: dict[str, Any]) -> dict[str, Any]:
    """`validate_built(strip_empty(resource))` (`cards.render.strip_empty`: no null, "", [] or
    {} member, recursively) in one walk of the resource instead of three (strip, template, key)."""
    call_values: list[str] = []
    try:
        stripped, key = _stripped_and_key(resource, call_values)
    except _NotPlainJson:  # a value of another type: the general path, same verdict
        from cards.render import strip_empty  # cards.render is above this module

        return _validate_built_slowly(strip_empty(resource))
    return _checked(stripped, key, call_values)


def _checked(resource: dict[str, Any], key: tuple[Any, ...], call_values: list[str]
             ) -> dict[str, Any]:
    _check_call_values(resource, call_values)
    error = _template_error(key)
    if error is not None:
        raise InvalidResource(f"{resource.get('resourceType')}: {error}")
    return resource


def _check_call_values(resource: dict[str, Any], call_values: list[str]) -> None:
    """Each value that came from the call (not from the template) is a valid FHIR string."""
    for value in call_values:
        try:
            _FHIR_STRING.validate_python(str(value))
        except ValidationError:
            raise InvalidResource(
                f"{resource.get('resourceType')}: a value is not a valid FHIR string") from None


def _validate_built_slowly(resource: dict[str, Any]) -> dict[str, Any]:
    """`validate_built` for a resource holding a value that is not one of the exact JSON types
    (builders never send one): the template as JSON, its verdict not memoised."""
    call_values: list[str] = []
    template = _template(resource, call_values)
    _check_call_values(resource, call_values)
    try:
        text = json.dumps(template, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # a value no JSON can hold (a date, a NaN...)
        raise InvalidResource(f"{resource.get('resourceType')}: not JSON ({exc})") from None
    error = _model_error(json.loads(text))
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


# --- the template as a memo key -------------------------------------------------------------------
# A template is keyed by a nested tuple rather than its JSON text (building and hashing tuples
# costs less than serialising): an object is (_OBJECT, name, value, name, value...), an array
# (_ARRAY, value...), a string itself (a CallValue: PLACEHOLDER), null None, an integer or
# boolean (its type, itself) and a float (float, its JSON text) — so that 1, 1.0 and true stay
# three keys and 0.0 and -0.0 two, as they are different JSON texts. Two templates have equal keys
# exactly when they are the same JSON; `_from_key` gives the template back for the one
# validation of a new key.
_OBJECT = ("object",)
_ARRAY = ("array",)
_NUMBERS = (int, float, bool)


class _NotPlainJson(Exception):
    """A value of a type other than the JSON ones (dict with str names, list, str or a str
    subclass, int, float, bool, None)."""


def _template_key(value: Any, call_values: list[str]) -> Any:
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        parts: list[Any] = [_OBJECT]
        for name, item in value.items():
            if type(name) is not str:
                raise _NotPlainJson
            parts.append(name)
            parts.append(_template_key(item, call_values))
        return tuple(parts)
    if kind is list:
        return (_ARRAY, *[_template_key(item, call_values) for item in value])
    if kind is CallValue:
        call_values.append(value)
        return PLACEHOLDER
    if value is None:
        return None
    if kind in _NUMBERS:
        return _number_key(kind, value)
    if isinstance(value, str):  # a str enum member (a code): JSON writes its text
        return str.__str__(value)
    raise _NotPlainJson


def _stripped_and_key(value: Any, call_values: list[str]) -> tuple[Any, Any]:
    """(strip_empty(value), its template key) of a dict or list; for a member or item that is
    dropped the caller sees an empty result (exactly where strip_empty drops it)."""
    kind = type(value)
    if kind is dict:
        out: dict[str, Any] = {}
        parts: list[Any] = [_OBJECT]
        for name, item in value.items():
            if type(name) is not str:
                raise _NotPlainJson
            kept = _stripped_member(item, call_values)
            if kept is not _DROPPED:
                out[name] = kept[0]
                parts.append(name)
                parts.append(kept[1])
        return out, tuple(parts)
    if kind is list:
        items: list[Any] = []
        keys: list[Any] = [_ARRAY]
        for item in value:
            kept = _stripped_member(item, call_values)
            if kept is not _DROPPED:
                items.append(kept[0])
                keys.append(kept[1])
        return items, tuple(keys)
    raise _NotPlainJson


_DROPPED = (None, None)  # what `_stripped_member` answers for a member strip_empty drops


def _stripped_member(item: Any, call_values: list[str]) -> tuple[Any, Any]:
    """(the member as strip_empty keeps it, its template key), or `_DROPPED`."""
    kind = type(item)
    if kind is dict or kind is list:
        cleaned, key = _stripped_and_key(item, call_values)
        return (cleaned, key) if cleaned else _DROPPED
    if item is None or (isinstance(item, str) and not item.strip()):
        return _DROPPED
    return item, _template_key(item, call_values)


def _number_key(kind: type, value: Any) -> tuple[type, Any]:
    # float.__repr__ is the text json.dumps writes ("-0.0", "1e+16"; "nan"/"inf" for its NaN and
    # Infinity); an int or a bool is itself
    return (kind, repr(value)) if kind is float else (kind, value)


def _from_key(key: Any) -> Any:
    """The template (JSON value) a key stands for."""
    if type(key) is not tuple:
        return key  # a string or None
    head = key[0]
    if head is _OBJECT:
        return {key[i]: _from_key(key[i + 1]) for i in range(1, len(key), 2)}
    if head is _ARRAY:
        return [_from_key(item) for item in key[1:]]
    kind, value = key
    return float(value) if kind is float else value  # (type, number or boolean)


@functools.lru_cache(maxsize=TEMPLATE_MEMO_SIZE)
def _template_error(key: tuple[Any, ...]) -> str | None:
    return _model_error(_from_key(key))


def _model_error(resource: Any) -> str | None:
    if not isinstance(resource, dict):
        return "not a JSON object"
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except (KeyError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return str(exc)
    return None
