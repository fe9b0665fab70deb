"""JSON rendering with orjson, byte for byte in meaning what DRF's own renderer wrote.

orjson serialises a page of dossiers several times faster than the standard library, which
matters on a 2-core server answering many small phones. Its defaults differ from DRF's
`JSONRenderer` in ways a client could notice, so they are brought back in line:

* date-times that reach the renderer as objects (serializers already turn model fields into
  strings) are written as DRF writes them: milliseconds, `Z` for UTC;
* a `Decimal` outside a serializer field is a number, as DRF writes it, not a string;
* dictionary keys that are not strings (an integer count per code) are allowed, as in `json`;
* a type neither knows is an error, never a silent `null` (drf-orjson-renderer's own fallback
  answers `None` for anything it does not recognise);
* what orjson cannot write at all (an integer beyond 64 bits in a citizen's `form_data`) falls
  back to DRF's renderer instead of failing the request; text that cannot be encoded at all
  (a lone surrogate stored before such text was refused) is written as U+FFFD.

Text is UTF-8 and never `\\u`-escaped, as with DRF's `UNICODE_JSON`: Vietnamese stays readable
and takes two or three bytes a letter instead of six.
"""

from typing import Any

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from common.text import printable_data

_drf_encoder = JSONEncoder()


class FastJSONRenderer(ORJSONRenderer):
    """The API's renderer: `application/json`, compact, UTF-8 (see the module docstring)."""

    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    @staticmethod
    def default(obj: Any) -> Any:
        # DRF's encoder knows lazy translations, date-times, Decimals, UUIDs, querysets and
        # generators; what it does not know it refuses with a TypeError, as it should.
        return _drf_encoder.default(obj)

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except orjson.JSONEncodeError:
            pass
        try:
            return JSONRenderer().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # Text stored before such characters were refused (a lone surrogate): shown as
            # U+FFFD rather than failing the whole answer.
            return JSONRenderer().render(
                printable_data(data), accepted_media_type, renderer_context
            )
