"""Languages, translated fields and language negotiation.

Languages are rows of `common.models.Language`: adding one is done in the admin, never in
code. Translated fields are JSON objects `{"vi": "...", "en": "...", "tyz": "..."}`, so a new
language needs no migration either: it is a new key. Reads fall back per field to `vi`.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework.exceptions import ErrorDetail
from rest_framework.exceptions import ValidationError as APIValidationError

from common.models import Language

DEFAULT_LANGUAGE = "vi"
# What the service speaks while the Language table is still empty (a database being
# migrated): the two languages it ships real texts for.
FALLBACK_LANGUAGES = ("vi", "en")
# Every process keeps its own copy: an admin change reaches the other processes this late.
LANGUAGE_CACHE_SECONDS = 60.0
# Django's LocaleMiddleware stops at 500 characters too; longer headers are abuse.
ACCEPT_LANGUAGE_MAX_LENGTH = 500

_languages_cache: tuple[float, tuple[tuple[str, bool], ...]] | None = None


def _language_rows() -> tuple[tuple[str, bool], ...]:
    global _languages_cache
    now = time.monotonic()
    cached = _languages_cache
    if cached is not None and cached[0] > now:
        return cached[1]
    rows = tuple(Language.objects.order_by("position", "code").values_list("code", "enabled"))
    _languages_cache = (now + LANGUAGE_CACHE_SECONDS, rows)
    return rows


def enabled_languages() -> tuple[str, ...]:
    """Codes of the languages clients may ask for, in display order; always includes `vi`."""
    rows = _language_rows()
    if not rows:
        return FALLBACK_LANGUAGES
    codes = tuple(code for code, enabled in rows if enabled)
    # Everything falls back to Vietnamese, so it can never be switched off.
    return codes if DEFAULT_LANGUAGE in codes else (DEFAULT_LANGUAGE, *codes)


def known_languages() -> tuple[str, ...]:
    """Codes of every Language row, enabled or not: texts may be prepared before enabling."""
    rows = _language_rows()
    return tuple(code for code, _enabled in rows) if rows else FALLBACK_LANGUAGES


def invalidate_languages() -> None:
    """Forget the cached language list; call after changing a Language row."""
    global _languages_cache
    _languages_cache = None


def language_choices() -> list[tuple[str, str]]:
    """`(code, "native name (code)")` of every Language row, for forms."""
    languages = Language.objects.order_by("position", "code")
    return [(lang.code, str(lang)) for lang in languages] or [
        (code, code) for code in FALLBACK_LANGUAGES
    ]


def gettext_language(code: str) -> str:
    """The language Django's own messages should use for `code`: itself if Django has a
    catalog for it (vi, en), otherwise Vietnamese, like every other fallback."""
    return code if code in {lang for lang, _name in settings.LANGUAGES} else DEFAULT_LANGUAGE


# -- translated fields -----------------------------------------------------------------------


def has_text(value: Any, language: str) -> bool:
    """Whether the translated field `value` has a non-empty text in `language`."""
    if not isinstance(value, dict):
        return False
    text = value.get(language)
    return isinstance(text, str) and bool(text.strip())


def translate(value: Any, language: str) -> str:
    """The text of a translated field in `language`, else in Vietnamese, else any."""
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return value.get(language) or value.get(DEFAULT_LANGUAGE) or next(iter(value.values()), "")


def validate_translations(value: Any) -> None:
    """A translated field needs a Vietnamese text; every key must be a Language row."""
    if not has_text(value, DEFAULT_LANGUAGE):
        raise ValidationError(_("A Vietnamese (vi) text is required."), code="required")
    known = set(known_languages())
    for key, text in value.items():
        if key not in known or not isinstance(text, str):
            raise ValidationError(
                _("Unknown language or non-text value: %(key)s"),
                # Not "invalid": a model field would put its own message in place of this one.
                code="unknown_language",
                params={"key": repr(key)},
            )


def validate_language_code(value: str) -> None:
    """The code must be a row of the Language table (enabled or not)."""
    if value not in known_languages():
        raise ValidationError(
            _("“%(code)s” is not a language of the Language table."),
            code="unknown_language",
            params={"code": value},
        )


# -- negotiation -----------------------------------------------------------------------------


class UnsupportedLanguage(ValueError):
    """`?lang=` named a language the service does not speak (unknown or disabled)."""


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first (lower case).

    Ties keep the header's order; tags with `q=0` (not acceptable) or a malformed q are
    left out.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:ACCEPT_LANGUAGE_MAX_LENGTH].split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not tag:
            continue
        weight = 1.0
        for param in params:
            name, _sep, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(raw)
                except ValueError:
                    weight = 0.0
        # Written so that NaN fails it too.
        if not 0.0 < weight <= 1.0:
            continue
        weighted.append((-weight, position, tag.lower()))
    return [tag for _weight, _position, tag in sorted(weighted)]


# The shape of `?lang=` (documented by `common.i18n.openapi`): `vi`, `en-US`, `tyz`.
LANGUAGE_TAG_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
LANGUAGE_TAG = re.compile(LANGUAGE_TAG_PATTERN)


def _match(tag: str, enabled: Callable[[], Iterable[str]]) -> str | None:
    # `en-US` and `en_US` mean English; a code of the table may itself carry a subtag.
    tag = tag.strip().lower().replace("_", "-")
    primary = tag.split("-")[0]
    if primary == DEFAULT_LANGUAGE:
        # Always enabled: the most common answer costs no lookup.
        return DEFAULT_LANGUAGE
    codes = {code.lower(): code for code in enabled()}
    return codes.get(tag) or codes.get(primary)


def negotiate_language(
    *,
    query: str | None = None,
    accept_language: str = "",
    preferred: str | None = None,
    strict: bool = True,
) -> str:
    """`query` (`?lang=`) over `accept_language` (q-values) over `preferred`, then `vi`.

    An unknown or disabled `query` raises `UnsupportedLanguage` when `strict`, and is
    ignored otherwise. The language list is read only when a choice depends on it.
    """
    if query:
        # Spelled as the spec's pattern says (a language tag, nothing around it), then one
        # of the enabled languages.
        code = _match(query, enabled_languages) if LANGUAGE_TAG.fullmatch(query) else None
        if code:
            return code
        if strict:
            raise UnsupportedLanguage(query)
    for tag in parse_accept_language(accept_language):
        code = _match(tag, enabled_languages)
        if code:
            return code
    if preferred and preferred != DEFAULT_LANGUAGE and preferred in enabled_languages():
        return preferred
    return DEFAULT_LANGUAGE


def request_language(request: Any, *, strict: bool = True) -> str:
    """The language of the answer to `request`: `?lang=`, then `Accept-Language`, then the
    authenticated user's `preferred_language`, then `vi`.

    Reads `request.user`, so on a DRF request call it after authentication. An unknown
    `?lang=` is a 400 on `lang` when `strict`.
    """
    params = getattr(request, "query_params", None)
    if params is None:
        params = request.GET
    user = getattr(request, "user", None)
    preferred = (
        getattr(user, "preferred_language", None)
        if getattr(user, "is_authenticated", False)
        else None
    )
    try:
        return negotiate_language(
            query=params.get("lang"),
            accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
            preferred=preferred,
            strict=strict,
        )
    except UnsupportedLanguage as exc:
        message = _("“%(code)s” is not an available language; see GET /api/v1/languages/.") % {
            "code": str(exc)[:20]
        }
        raise APIValidationError({"lang": [ErrorDetail(message, code="invalid_choice")]}) from None


# -- completeness ----------------------------------------------------------------------------


@dataclass
class TranslationTally:
    """How many translatable texts there are, and how many each language has.

    A text counts when its Vietnamese original exists: Vietnamese is what everything is
    translated from.
    """

    total: int = 0
    translated: Counter[str] = field(default_factory=Counter)

    def add(self, value: Any) -> None:
        """Count one translated field value (`{lang: text}`)."""
        if not has_text(value, DEFAULT_LANGUAGE):
            return
        self.total += 1
        self.translated.update(code for code in value if has_text(value, code))

    def merge(self, other: TranslationTally) -> None:
        self.total += other.total
        self.translated.update(other.translated)

    def percentage(self, language: str) -> int:
        """0–100, rounded down so that 100 means nothing is missing."""
        if self.total == 0:
            return 100
        return self.translated[language] * 100 // self.total


TranslationSource = Callable[[], TranslationTally]
_translation_sources: dict[str, TranslationSource] = {}


def register_translation_source(name: str, source: TranslationSource) -> None:
    """Let an app count its translatable texts for `GET languages/`.

    Called from the app's `AppConfig.ready()`, so that `common` never imports the apps.
    A source should cost a query or two: it runs for every uncached request.
    """
    _translation_sources[name] = source


def translation_tally() -> TranslationTally:
    """The tally of every registered source."""
    tally = TranslationTally()
    for source in _translation_sources.values():
        tally.merge(source())
    return tally
