"""A string field takes a JSON string, nothing else.

DRF's `CharField` turns a number into its text (`0` → `"0"`), so a client that sends a
number where the spec says string is accepted, and its generated twin in another language
is not: the API and its spec disagree. Applied once at start-up (`CommonConfig.ready`), to
every `CharField` and the fields built on it (`RegexField`, `EmailField`, `SlugField`, …):
anything but a string is a 400 `invalid`. Multipart and query values are strings already.
"""

from typing import Any

from rest_framework import serializers

_lenient = serializers.CharField.to_internal_value


def _strict(field: serializers.CharField, data: Any) -> str:
    if not isinstance(data, str):
        field.fail("invalid")
    return _lenient(field, data)


def refuse_non_strings() -> None:
    serializers.CharField.to_internal_value = _strict  # type: ignore[method-assign,assignment]
