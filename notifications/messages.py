"""Texts of notifications: `NotificationTemplate` rows, per kind and language.

The texts are data (seeded for vi and en by a migration, edited and translated in the admin).
The code owns only the list of kinds and the placeholders each kind offers, `PLACEHOLDERS`;
callers pass those values in `context` and `render()` fills them in with `str.format_map`.

Rendering never fails because of a text: a language without a template falls back to the
Vietnamese one, a kind without any template to a short generic text, and a placeholder that
is missing, unknown or malformed renders as nothing.
"""

from __future__ import annotations

import datetime
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from common import refcache
from common.i18n import DEFAULT_LANGUAGE, TranslationTally, enabled_languages, translate
from common.text import squash_spaces
from notifications.models import NotificationTemplate

# Every kind the code sends, with what each placeholder holds: registered by the app that
# owns the kind (`register_kinds` from its `AppConfig.ready()`), so this module knows no
# domain word. A template may use any of its kind's placeholders (the admin refuses others);
# callers pass them all in `context`. The texts themselves are `NotificationTemplate` rows,
# seeded by the owning app's migrations.
PLACEHOLDERS: dict[str, dict[str, str]] = {}

# Status codes callers pass as `status`, shown as `{status_label}` when no label is given:
# `{kind prefix: {language: {status: label}}}`, registered with the kinds.
STATUS_LABELS: dict[str, dict[str, dict[str, str]]] = {}


def register_kinds(
    kinds: Mapping[str, Mapping[str, str]],
    *,
    status_labels: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> None:
    """Declare notification kinds with their placeholders (`{kind: {name: description}}`)
    and, optionally, the labels of the statuses their `status` placeholder carries
    (`{kind prefix: {language: {status: label}}}`). Called once per app at start-up; a
    kind registered twice with other placeholders is a programming error."""
    for kind, names in kinds.items():
        if kind in PLACEHOLDERS and PLACEHOLDERS[kind] != dict(names):
            raise ValueError(f"notification kind {kind!r} registered twice")
        PLACEHOLDERS[kind] = dict(names)
    for prefix, by_language in (status_labels or {}).items():
        STATUS_LABELS[prefix] = {language: dict(labels) for language, labels in by_language.items()}


register_kinds(
    {
        "announcement": {
            "title": "Tiêu đề thông báo, do người gửi viết",
            "body": "Nội dung thông báo, do người gửi viết",
            "area_name": "Tỉnh hoặc xã nhận thông báo",
        },
    }
)

# When a kind has no template at all (rows deleted in the admin): better a plain notice
# than no notification.
GENERIC_TEXTS: dict[str, tuple[str, str]] = {
    "vi": ("Có cập nhật mới: {tracking_code}", "Mở ứng dụng để xem chi tiết."),
    "en": ("New update: {tracking_code}", "Open the app for details."),
}

_DATE_FORMATS = {"vi": "%d/%m/%Y", "en": "%d %b %Y"}
_DATETIME_FORMATS = {"vi": "%H:%M %d/%m/%Y", "en": "%H:%M, %d %b %Y"}
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# What is left of a malformed placeholder once the well-formed ones are gone: `{name` or a
# lone brace.
_BROKEN_PLACEHOLDER = re.compile(r"\{[^\s{}]*|[{}]")
# Text left dangling where an empty value was: "tới ." or "bạn: .".
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,:;!?)])")
_ORPHAN_SEPARATOR = re.compile(r"[:,;]+([.!?])")


class UnknownNotificationKind(KeyError):
    """A caller asked for a kind that `PLACEHOLDERS` does not list: a programming error."""


@dataclass(frozen=True)
class _Texts:
    language: str
    title: str
    body: str
    sms: str = ""


class _Values(dict):
    """Values for `format_map`: a missing key renders as nothing instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""


def _display(value: Any, language: str) -> str:
    # Dates arrive as objects and names as translation dicts, so that each language can
    # show them its own way.
    if value is None:
        return ""
    if isinstance(value, dict):
        return translate(value, language)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(_DATETIME_FORMATS.get(language, _DATETIME_FORMATS["vi"]))
    if isinstance(value, datetime.date):
        return value.strftime(_DATE_FORMATS.get(language, _DATE_FORMATS["vi"]))
    return str(value)


def _tidy(text: str) -> str:
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", squash_spaces(text))
    return _ORPHAN_SEPARATOR.sub(r"\1", text).strip(" ,:;")


def _fill(template: str, values: _Values) -> str:
    try:
        return template.format_map(values)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        # A field like `{x.y}`, `{x:%d}` or `{x` that the values cannot satisfy: drop the
        # placeholders rather than lose the whole notification.
        return _BROKEN_PLACEHOLDER.sub("", _PLACEHOLDER.sub("", template))


def _texts(kind: str, language: str | None) -> _Texts:
    """The texts of `kind` in `language`, else in Vietnamese, else the generic ones."""
    if kind not in PLACEHOLDERS:
        raise UnknownNotificationKind(kind)
    if not language or (language != DEFAULT_LANGUAGE and language not in enabled_languages()):
        # A language switched off in the admin is not sent either, even to those who chose it.
        language = DEFAULT_LANGUAGE
    texts = refcache.cached(
        "notifications.templates", (kind, language), lambda: _stored(kind, language)
    )
    if texts is not None:
        return texts
    fallback = language if language in GENERIC_TEXTS else DEFAULT_LANGUAGE
    return _Texts(fallback, *GENERIC_TEXTS[fallback])


def _stored(kind: str, language: str) -> _Texts | None:
    """The template of `kind` in `language`, else the Vietnamese one (one query)."""
    rows = {
        row.language: row
        for row in NotificationTemplate.objects.filter(
            kind=kind, language__in={language, DEFAULT_LANGUAGE}
        ).only("language", "title", "body", "sms")
    }
    row = rows.get(language) or rows.get(DEFAULT_LANGUAGE)
    if row is None:
        return None
    return _Texts(row.language, row.title, row.body, row.sms)


refcache.forget_on_change("notifications.templates", NotificationTemplate)


def _values(kind: str, language: str, context: Mapping[str, Any]) -> _Values:
    values = _Values({key: _display(value, language) for key, value in context.items()})
    if not values.get("status_label") and values.get("status"):
        labels = STATUS_LABELS.get(kind.split(".")[0], {})
        labels_here = labels.get(language) or labels.get(DEFAULT_LANGUAGE, {})
        values["status_label"] = labels_here.get(values["status"], values["status"])
    return values


def render(kind: str, language: str | None, context: Mapping[str, Any]) -> tuple[str, str]:
    """Render `(title, body)` of `kind` in `language` (one query, once the language list is
    cached).

    Falls back to the Vietnamese template (also for a disabled language), then to a generic
    text. A placeholder with no
    value in `context`, or one the template spells wrong, renders as empty text; only a
    `kind` missing from `PLACEHOLDERS` raises (`UnknownNotificationKind`).
    """
    texts = _texts(kind, language)
    values = _values(kind, texts.language, context)
    return _tidy(_fill(texts.title, values)), _tidy(_fill(texts.body, values))


def render_sms(kind: str, language: str | None, context: Mapping[str, Any]) -> str:
    """The SMS text of `kind` in `language`: the template's `sms` text, or else its title
    followed by the tracking code when the title does not show it already.

    Not cut to SMS length: `notifications.sms.send_sms` does that.
    """
    texts = _texts(kind, language)
    values = _values(kind, texts.language, context)
    if texts.sms.strip():
        return _tidy(_fill(texts.sms, values))
    title = _tidy(_fill(texts.title, values))
    code = values.get("tracking_code", "")
    return f"{title}: {code}" if code and code not in title else title


def placeholders(kind: str) -> set[str]:
    """Names `kind` offers its templates; callers' tests check they pass them all."""
    if kind not in PLACEHOLDERS:
        raise UnknownNotificationKind(kind)
    return set(PLACEHOLDERS[kind])


def template_fields(text: str) -> set[str]:
    """Placeholder names a template text uses; raises ValueError when it is malformed."""
    return {
        field.split(".")[0].split("[")[0]
        for _literal, field, _spec, _conversion in string.Formatter().parse(text)
        if field is not None
    }


def translation_tally() -> TranslationTally:
    """Templates per language for `GET languages/`: each kind counts as one text (one query).

    Sample rows (unchecked demo text) are shown but not counted.
    """
    by_kind: dict[str, dict[str, str]] = {kind: {} for kind in PLACEHOLDERS}
    rows = NotificationTemplate.objects.filter(
        kind__in=list(PLACEHOLDERS), is_sample=False
    ).values_list("kind", "language", "title", "body")
    for kind, language, title, body in rows:
        if title.strip() and body.strip():
            by_kind[kind][language] = title
    tally = TranslationTally()
    for texts in by_kind.values():
        tally.add(texts)
    return tally
