"""Parsers that refuse, with a 400 naming the field, what no stored text may hold
(`common.text.check_text`): forbidden characters anywhere, nesting deeper than
`common.text.MAX_DEPTH`. A body too deep for Python's own parser is a 400 too, never a
RecursionError."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from common.text import MAX_DEPTH, BadText, check_text, without_nul_data

_MESSAGES = {
    "characters": _("Text may not hold control characters or unpaired surrogates."),
    "depth": _("Nested deeper than %(depth)d levels."),
}


def bad_text_error(bad: BadText) -> ValidationError:
    code = "invalid_characters" if bad.reason == "characters" else "too_deep"
    message = str(_MESSAGES[bad.reason]) % {"depth": MAX_DEPTH}
    return ValidationError({bad.path: [message]}, code=code)


def checked(data: Any) -> Any:
    try:
        check_text(data)
    except BadText as bad:
        raise bad_text_error(bad) from None
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deep.")) from None
        return checked(data)


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        checked({key: parsed.data.getlist(key) for key in parsed.data})
        return parsed


class LenientJSONParser(JSONParser):
    """For text relayed from outside that cannot be sent back for correction (an SMS a
    phone sent): forbidden characters are left for the view to drop *after* validation
    (`without_forbidden_data`), so lengths are checked on what was sent; depth still counts."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = parsers.JSONParser.parse(self, stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deep.")) from None
        try:
            check_text(data)
        except BadText as bad:
            if bad.reason == "depth":
                raise bad_text_error(bad) from None
        # NUL alone goes now (DRF's string fields refuse it before checking anything else).
        return without_nul_data(data)
