"""Defensive readers of FHIR JSON: every function takes whatever the sender put there and answers
a value or None, never raises. A wrong type ("code": "x" instead of a CodeableConcept) reads as
absent; the caller decides whether that makes the resource unusable and says so.

Reading the JSON directly (instead of validating each resource with fhir.resources on the hot
path) keeps a 60-resource patient in the low milliseconds; see docs/fhir-mapping.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from cds_service.mapping.codes import LOINC, system_key

Json = Mapping[str, Any]
EMPTY: Json = {}


def obj(value: Any) -> Json:
    if type(value) is dict:  # the common case, without the Mapping ABC check
        return value
    if value is None:  # an absent element (as common): the ABC check is the slow part
        return EMPTY
    return value if isinstance(value, Mapping) else EMPTY


def items(value: Any) -> list[Any]:
    """A FHIR array; a single object where an array belongs is read as a one-item array."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def objs(value: Any) -> list[Json]:
    if not isinstance(value, list):  # items(value), without the call
        if value is None:
            return []
        value = [value]
    return [v for v in value if type(v) is dict or isinstance(v, Mapping)]


def text(value: Any) -> str | None:
    if type(value) is str or isinstance(value, str):  # exact str first: what JSON parsing gives
        return value.strip() or None
    return None


def number(value: Any) -> float | None:
    """A finite number, else None: a bool, a string, an infinity (JSON's 1e400 is read as one) or
    an integer too large for a float is no size or dose anybody measured."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def integer(value: Any) -> int | None:
    """An integer, also from a float with no fraction (2.0); never from a bool."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# --- Identity and references ---------------------------------------------------------------------
def reference_of(resource: Json) -> str:
    """"Type/id" of a resource (the provenance string of every fact)."""
    rtype, rid = resource.get("resourceType"), resource.get("id")
    # text() of each, inline for exact strings (every mapper names its sources this way)
    rtype = (rtype.strip() if type(rtype) is str else text(rtype)) or "Resource"
    rid = rid.strip() if type(rid) is str else text(rid)
    return f"{rtype}/{rid}" if rid else f"{rtype}/(no id)"


_HISTORY = re.compile(r"/_history/[^/]*$")


def ref_key(reference: Any) -> str | None:
    """Normalise a Reference (or its .reference string) to "Type/id", "#id" or "urn:uuid:..."."""
    if type(reference) is dict or isinstance(reference, Mapping):  # exact dict first: no ABC check
        value = text(reference.get("reference"))
    else:
        value = text(reference)
    if value is None:
        return None
    if value.startswith("#") or value.startswith("urn:"):
        return value
    if value.count("/") == 1 and "?" not in value:
        # "Type/id", the usual reference: nothing to cut, it is its own key when both are given
        return value if value[0] != "/" and value[-1] != "/" else None
    return key_of_path(value)


def key_of_path(value: str) -> str | None:
    """ "Type/id" from the last two segments of a reference's path (absolute URL, query and
    `_history/n` cut off), or None when it has no two."""
    value = value.split("?", 1)[0].rstrip("/")
    if "/_history/" in value:
        value = _HISTORY.sub("", value)
    parts = value.split("/")
    if len(parts) >= 2 and parts[-2] and parts[-1]:
        return f"{parts[-2]}/{parts[-1]}"
    return None


def refs(values: Any) -> list[str]:
    return [k for k in (ref_key(v) for v in objs(values)) if k]


def profiles(resource: Json) -> list[str]:
    return [p for p in (text(v) for v in items(obj(resource.get("meta")).get("profile"))) if p]


def has_profile(resource: Json, *suffixes: str) -> bool:
    return any(p.split("|", 1)[0].endswith(s) for p in profiles(resource) for s in suffixes)


# --- Codes ---------------------------------------------------------------------------------------
class Code(NamedTuple):
    """One coding. A NamedTuple rather than a frozen dataclass: every mapper builds hundreds per
    call, and a tuple is built without the dataclass's per-field `object.__setattr__`."""

    system: str  # short key (codes.SNOMED, codes.LOINC...) or the URI as sent
    code: str
    display: str | None
    system_uri: str

    @property
    def label(self) -> str:
        return f"{self.system_uri}|{self.code}"


def codings(concept: Any) -> list[Code]:
    """The codings of a CodeableConcept that have a code, as `Code`s (a list: every caller reads
    them all, or the first, of a concept's few codings)."""
    found = []
    for coding in objs(obj(concept).get("coding")):
        code = text(coding.get("code"))
        if code is None:
            continue
        uri = text(coding.get("system")) or ""
        found.append(Code(system_key(uri), code, text(coding.get("display")), uri))
    return found


def _first_code(concept: Any) -> str | None:
    """`codings(concept)[0].code` (None without one), without building the `Code`s."""
    for coding in objs(obj(concept).get("coding")):
        code = text(coding.get("code"))
        if code is not None:
            return code
    return None


def loinc_codes(concept: object) -> list[str]:
    """The LOINC codes of a CodeableConcept: `codings()` filtered, without building a `Code` per
    coding (every mapper asks this of every Observation)."""
    out = []
    for coding in objs(obj(concept).get("coding")):
        code = text(coding.get("code"))
        if code is not None and system_key(text(coding.get("system")) or "") == LOINC:
            out.append(code)
    return out


def concept_words(concept: Any) -> str:
    """Text and displays of a CodeableConcept, for name matching."""
    c = obj(concept)
    parts = [text(c.get("text"))]
    for coding in objs(c.get("coding")):  # the displays of `codings(c)`, without their `Code`s
        if text(coding.get("code")) is not None:
            parts.append(text(coding.get("display")))
    return " ".join(p for p in parts if p)


def has_code(concept: Any, system: str, codes: Any) -> bool:
    """Whether a coding of `concept` is in `system` with a code in `codes` (`codings()` tested
    without building a `Code` per coding)."""
    for coding in objs(obj(concept).get("coding")):
        code = text(coding.get("code"))
        if code is not None and code in codes and (
                system_key(text(coding.get("system")) or "") == system):
            return True
    return False


def status_code(value: Any) -> str | None:
    """A code element (status) or the first code of a CodeableConcept (clinicalStatus)."""
    if isinstance(value, str):
        return value.strip().lower() or None
    code = _first_code(value)
    return code.lower() if code is not None else None


# --- Extensions ----------------------------------------------------------------------------------
def extensions(element: Any, url_suffix: str) -> list[Json]:
    return [e for e in objs(obj(element).get("extension"))
            if (text(e.get("url")) or "").endswith(url_suffix)]


def sub_extension(extension: Json, name: str) -> Json | None:
    """A complex extension's part: relative url ("volume") or an absolute one ending in it."""
    for part in objs(extension.get("extension")):
        url = text(part.get("url")) or ""
        if url == name or url.endswith("/" + name) or url.endswith("-" + name):
            return part
    return None


def value_of(element: Json, *kinds: str) -> Any:
    """The first `value<Kind>` present (kinds like "Reference", "Quantity", "UnsignedInt")."""
    for kind in kinds:
        key = "value" + kind
        if key in element:
            return element[key]
    return None


# --- Dates ---------------------------------------------------------------------------------------
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(T.*)?$")


class FhirDate(NamedTuple):
    """A FHIR date/dateTime with its precision; `start` is the first day it can mean. A
    NamedTuple rather than a frozen dataclass, as `Code`: every mapper reads dates, and a tuple is
    built without the dataclass's per-field `object.__setattr__`."""

    start: date
    precision: str  # "year" | "month" | "day"
    raw: str

    @property
    def day(self) -> date | None:
        """The calendar day, only when the value names one (a partial date is never padded)."""
        return self.start if self.precision == "day" else None


def parse_date(value: Any) -> FhirDate | None:
    """FHIR date, dateTime or instant. A time part keeps the day as written (the sender's local
    day): converting to UTC could move an evening scan to the next day."""
    raw = text(value)
    if raw is None:
        return None
    if len(raw) == 10 and raw[4] == "-" and raw[7] == "-" and raw.isascii():
        # A date with a day and no time, the usual value: `date.fromisoformat` reads it in C. It
        # takes only ASCII digits there, so anything it refuses goes the general way below.
        try:
            return FhirDate(date.fromisoformat(raw), "day", raw)
        except ValueError:
            pass
    return _parse_date(raw)


def _parse_date(raw: str) -> FhirDate | None:
    """`parse_date` of a stripped, non-empty string, by the pattern of FHIR's date types."""
    match = _DATE.match(raw)
    if not match:
        return None
    year, month, day, time_part = match.groups()
    try:
        if day:
            if time_part:
                datetime.fromisoformat(raw.replace("Z", "+00:00"))  # reject "2024-01-01Tjunk"
            return FhirDate(date(int(year), int(month), int(day)), "day", raw)
        if month:
            return FhirDate(date(int(year), int(month), 1), "month", raw)
        return FhirDate(date(int(year), 1, 1), "year", raw)
    except ValueError:
        return None


def timepoint(resource: Json, prefix: str) -> FhirDate | None:
    """effective[x]/performed[x]/onset[x] as one date: dateTime, instant, date, or a Period's end
    (its start when no end is given) — the moment the fact was last known true."""
    for kind in ("DateTime", "Instant", "Date"):
        if prefix + kind in resource:
            return parse_date(resource[prefix + kind])
    period = obj(resource.get(prefix + "Period"))
    if period:
        return parse_date(period.get("end")) or parse_date(period.get("start"))
    return None


def period_bounds(resource: Json, prefix: str) -> tuple[FhirDate | None, FhirDate | None]:
    """(start, end) of performed[x]/effective[x]; a single dateTime is both."""
    for kind in ("DateTime", "Instant", "Date"):
        if prefix + kind in resource:
            point = parse_date(resource[prefix + kind])
            return point, point
    period = obj(resource.get(prefix + "Period"))
    return parse_date(period.get("start")), parse_date(period.get("end"))


def last_updated(resource: Json) -> datetime | None:
    raw = text(obj(resource.get("meta")).get("lastUpdated"))
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None  # naive and aware instants cannot be compared


# --- Quantities ----------------------------------------------------------------------------------
class Quantity(NamedTuple):
    """A NamedTuple, as `FhirDate`: built for every size and dose read."""

    value: float
    unit: str | None  # UCUM code when given, else the unit text (lower-cased)


def quantity(value: Any) -> Quantity | None:
    q = obj(value)
    amount = number(q.get("value"))
    if amount is None:
        return None
    unit = text(q.get("code")) or text(q.get("unit"))
    return Quantity(amount, unit.lower() if unit else None)
