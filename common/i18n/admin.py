"""Admin form pieces for translated JSON fields (`{"vi": "...", "en": "...", ...}`).

`TranslationsField` shows one textarea per enabled Language row, Vietnamese first (and
required when the field is), so that a language added in the admin gets its box at once,
with no code change. Texts of a language that was switched off are kept, read-only, so that
saving the form never loses them.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from common.i18n import DEFAULT_LANGUAGE, known_languages
from common.i18n.translations import STATE_LABELS, save_translated_object
from common.models import Language

SEPARATOR = "__"
# Constant attribute fragments, no user input: safe as they are.
READONLY = mark_safe(" readonly")  # nosec B308 B703
REQUIRED = mark_safe(" required")  # nosec B308 B703


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


class TranslationsWidget(forms.Widget):
    """One textarea per language; posts `<name>__<code>` for each."""

    def __init__(self, attrs: dict[str, Any] | None = None, *, rows: int = 2) -> None:
        super().__init__(attrs)
        self.rows = rows
        self.vietnamese_required = False

    def languages(self, value: dict[str, Any]) -> list[tuple[str, str, bool]]:
        """(code, label, enabled) in display order: Vietnamese, the enabled languages, then
        disabled ones that hold a text."""
        rows = list(Language.objects.order_by("position", "code"))
        shown: list[tuple[str, str, bool]] = []
        names = {row.code: str(row) for row in rows}
        shown.append((DEFAULT_LANGUAGE, names.get(DEFAULT_LANGUAGE, "Tiếng Việt (vi)"), True))
        for row in rows:
            if row.code == DEFAULT_LANGUAGE:
                continue
            if row.enabled or (isinstance(value.get(row.code), str) and value[row.code].strip()):
                shown.append((row.code, str(row), row.enabled))
        return shown

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        texts = _as_dict(value)
        base_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        rows = []
        for code, label, enabled in self.languages(texts):
            text = texts.get(code)
            text = text if isinstance(text, str) else ""
            note = ""
            if not enabled:
                note = str(_("language switched off: kept as it is"))
            elif code == DEFAULT_LANGUAGE and self.vietnamese_required:
                note = str(_("required; every other language is translated from it"))
            rows.append(
                (
                    f"{base_id}_{code}",
                    label,
                    note,
                    f"{name}{SEPARATOR}{code}",
                    f"{base_id}_{code}",
                    self.rows,
                    code,
                    READONLY if not enabled else "",
                    REQUIRED if code == DEFAULT_LANGUAGE and self.vietnamese_required else "",
                    text,
                )
            )
        return format_html(
            '<div class="translations-widget">{}</div>',
            format_html_join(
                "",
                '<div style="margin-bottom:6px"><label for="{}"><b>{}</b> <small>{}</small>'
                '</label><br><textarea name="{}" id="{}" rows="{}" cols="80" lang="{}"{}{}>'
                "\n{}</textarea></div>",
                rows,
            ),
        )

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, str] | None:
        prefix = f"{name}{SEPARATOR}"
        posted = {key[len(prefix) :]: data.get(key) for key in data if key.startswith(prefix)}
        return posted if posted else None

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        prefix = f"{name}{SEPARATOR}"
        return not any(key.startswith(prefix) for key in data)

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_{DEFAULT_LANGUAGE}" if id_ else id_


class TranslationsField(forms.Field):
    """A `{lang: text}` JSON value edited as one textarea per language.

    Blank texts are dropped; text is stored in NFC. A Vietnamese text is needed whenever
    there is any text at all (and always when `required`).
    """

    widget = TranslationsWidget
    default_error_messages = {
        "required": _("A Vietnamese (vi) text is required."),
        "no_source": _(
            "Write the Vietnamese text first: every other language is translated from it."
        ),
        "unknown_language": _("Unknown language: %(codes)s."),
    }

    def __init__(self, *, rows: int = 2, **kwargs: Any) -> None:
        kwargs.setdefault("widget", TranslationsWidget(rows=rows))
        super().__init__(**kwargs)
        if isinstance(self.widget, TranslationsWidget):
            self.widget.vietnamese_required = self.required

    def to_python(self, value: Any) -> dict[str, str]:
        texts = _as_dict(value)
        cleaned: dict[str, str] = {}
        for code, text in texts.items():
            if not isinstance(text, str):
                continue
            text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()
            if text:
                cleaned[str(code)] = text
        return cleaned

    def validate(self, value: dict[str, str]) -> None:
        if self.required and DEFAULT_LANGUAGE not in value:
            raise ValidationError(self.error_messages["required"], code="required")
        if value and DEFAULT_LANGUAGE not in value:
            raise ValidationError(self.error_messages["no_source"], code="required")
        unknown = sorted(set(value) - set(known_languages()))
        if unknown:
            raise ValidationError(
                self.error_messages["unknown_language"],
                code="unknown_language",
                params={"codes": ", ".join(unknown)},
            )

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial) != self.to_python(data)

    def prepare_value(self, value: Any) -> Any:
        return _as_dict(value)


class TranslatedAdminMixin:
    """For a ModelAdmin of a model with translated JSON fields and `translation_status`.

    Edits `translated_fields` with `TranslationsField`, saves through
    `common.i18n.translations.save_translated_object` (a changed Vietnamese text takes the
    reviewed mark off the other languages, and the editor is told), and shows the review
    state per language read-only: marks are set in the translator view.
    """

    translated_fields: tuple[str, ...] = ("name",)
    translated_rows: dict[str, int] = {}

    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name in self.translated_fields:
            return TranslationsField(
                required=not db_field.blank,
                label=db_field.verbose_name,
                rows=self.translated_rows.get(db_field.name, 2),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        reset = save_translated_object(request.user, obj)
        if reset:
            messages.warning(
                request,
                _(
                    "The Vietnamese text changed, so the translations into %(languages)s are "
                    "marked not reviewed again. Check them in the translator view."
                )
                % {"languages": ", ".join(reset)},
            )

    @admin.display(description=_("translations"))
    def translation_summary(self, obj: Any) -> Any:
        status = obj.translation_status if obj and isinstance(obj.translation_status, dict) else {}
        link = format_html(
            '<a href="{}">{}</a>', reverse("admin-translations"), _("Open the translator view")
        )
        if not status:
            return format_html("{} · {}", _("no review marks yet"), link)
        return format_html(
            "{} · {}",
            format_html_join(
                ", ",
                "<code>{}</code>: {}",
                ((code, STATE_LABELS.get(state, state)) for code, state in sorted(status.items())),
            ),
            link,
        )
