"""Flask's JSON responses through orjson.

Every hook response is written through it (what it saves: docs/performance.md, measured with and
without it by `python -m bench.run --machinery`). Anything orjson is not asked to handle the way
Flask does — dates, dataclasses, non-string keys, sorted keys, debug indentation, very large
integers — goes through Flask's own provider, so the output never depends on which one ran,
apart from three things: non-ASCII text is written as UTF-8 instead of ``\\u`` escapes (the same
JSON; RFC 8259 makes UTF-8 the encoding of JSON between systems, and EHR CDS clients decode it so —
a client that read ``application/json`` as Latin-1 would garble "≥" or "…"), a float NaN/Infinity
becomes ``null`` instead of the invalid ``NaN``, and an `enum.Enum` member is written as its value
where Flask's provider failed. Requests are still parsed by the standard library
(`http_json.read_json_body`): orjson turns integers beyond 64 bits into floats, which must not
happen to data we reason on.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

# Types orjson would write differently from Flask's provider: left to Flask (TypeError).
# (Subclasses of str/int/dict/list — e.g. cards.fhir_validation.CallValue — are written as their
# base type by both.)
_HAND_BACK = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    def _fast(self) -> bool:
        compact = not ((self.compact is None and self._app.debug) or self.compact is False)
        return compact and not self.sort_keys

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if not kwargs and self._fast():
            try:
                return orjson.dumps(obj, option=_HAND_BACK).decode()
            except TypeError:  # orjson.JSONEncodeError included
                pass
        return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self._fast():
            obj = self._prepare_response_obj(args, kwargs)
            try:
                data = orjson.dumps(obj, option=_HAND_BACK | orjson.OPT_APPEND_NEWLINE)
            except TypeError:
                pass
            else:
                # typed on Flask's sansio App as werkzeug's body-less Response; it is flask.Response
                response_class: Any = self._app.response_class
                return response_class(data, mimetype=self.mimetype)
        return super().response(*args, **kwargs)
