"""Translated fields stored as JSON objects `{"vi": "...", "en": "...", "tyz": "..."}`.

A new language needs no migration: it is a new key. Reads fall back per field to `vi`.
"""

from typing import Any

from django.core.exceptions import ValidationError

DEFAULT_LANGUAGE = "vi"
# Languages the service knows; the Language table will extend this list.
KNOWN_LANGUAGES = ("vi", "en", "tyz", "blt", "hmn", "km", "rad", "jra", "bdq", "mtq", "nut", "ium")


def translate(value: Any, language: str) -> str:
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return value.get(language) or value.get(DEFAULT_LANGUAGE) or next(iter(value.values()), "")


def validate_translations(value: Any) -> None:
    if not isinstance(value, dict) or not str(value.get(DEFAULT_LANGUAGE, "")).strip():
        raise ValidationError("A Vietnamese (vi) text is required.")
    for key, text in value.items():
        if key not in KNOWN_LANGUAGES or not isinstance(text, str):
            raise ValidationError(f"Unknown language or non-text value: {key!r}")


def request_language(request: Any) -> str:
    """`?lang=` over Accept-Language over the user's preferred language, then `vi`."""
    lang = request.query_params.get("lang") if hasattr(request, "query_params") else None
    if lang in KNOWN_LANGUAGES:
        return lang
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    choices = []
    for part in header.split(","):
        piece, _, q = part.strip().partition(";q=")
        code = piece.strip().lower().split("-")[0]
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if code in KNOWN_LANGUAGES and weight > 0:
            choices.append((weight, code))
    if choices:
        return max(choices, key=lambda c: c[0])[1]
    user = getattr(request, "user", None)
    preferred = getattr(user, "preferred_language", None)
    if preferred in KNOWN_LANGUAGES:
        return preferred
    return DEFAULT_LANGUAGE
