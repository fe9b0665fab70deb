"""Notification and SMS texts in the translator view (`common.i18n.translations`).

Templates are rows per kind and language rather than JSON fields: an entry is a kind, its
source the Vietnamese row (title, body, SMS text), its translation the row in the chosen
language. The review state is the row's `reviewed` and `is_sample` flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from common.audit import record
from common.i18n import DEFAULT_LANGUAGE
from common.i18n.translations import (
    Entry,
    EntryNotFound,
    State,
    Text,
    Translatable,
    check_lengths,
    check_target_language,
    clean_text,
    next_state,
)
from notifications.messages import PLACEHOLDERS, template_fields
from notifications.models import NotificationTemplate

TEXT_FIELDS = ("title", "body", "sms")
LABELS = {"title": _("Title"), "body": _("Body"), "sms": _("SMS text")}
TITLE_MAX_LENGTH = NotificationTemplate._meta.get_field("title").max_length or 200


def template_state(row: NotificationTemplate | None) -> str | None:
    if row is None:
        return None
    if row.is_sample:
        return State.SAMPLE
    return State.REVIEWED if row.reviewed else State.UNREVIEWED


def placeholder_errors(kind: str, texts: Mapping[str, str]) -> dict[str, list[ValidationError]]:
    """Errors of texts that use placeholders `kind` does not offer, or malformed ones."""
    allowed = set(PLACEHOLDERS.get(kind, {}))
    errors: dict[str, list[ValidationError]] = {}
    for name, text in texts.items():
        try:
            used = template_fields(text)
        except ValueError:
            errors[name] = [
                ValidationError(
                    _("A placeholder is malformed: write it as {name}."), code="placeholder"
                )
            ]
            continue
        unknown = sorted(used - allowed)
        if unknown:
            errors[name] = [
                ValidationError(
                    _("Unknown placeholders: %(unknown)s. This kind offers: %(allowed)s."),
                    code="placeholder",
                    params={
                        "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                        "allowed": ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "-",
                    },
                )
            ]
    return errors


class NotificationTexts(Translatable):
    name = "notification"
    label = _("Notification and SMS texts")

    def _entry(
        self, kind: str, source: NotificationTemplate, target: NotificationTemplate | None
    ) -> Entry:
        hint = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS[kind])
        texts = [
            Text(
                key=name,
                label=LABELS[name],
                source=getattr(source, name),
                target=getattr(target, name) if target is not None else "",
                multiline=name != "title",
                max_length=TITLE_MAX_LENGTH if name == "title" else 2000,
                hint=hint,
            )
            for name in TEXT_FIELDS
            if getattr(source, name).strip()
        ]
        if target is not None:
            admin_url = reverse("admin:notifications_notificationtemplate_change", args=[target.pk])
        else:
            admin_url = (
                reverse("admin:notifications_notificationtemplate_add")
                + "?"
                + urlencode({"kind": kind})
            )
        return Entry(
            type=self.name,
            key=kind,
            title=kind,
            texts=texts,
            state=template_state(target),
            admin_url=admin_url,
            type_label=self.label,
        )

    def entries(self, language: str) -> list[Entry]:
        rows: dict[tuple[str, str], NotificationTemplate] = {
            (row.kind, row.language): row
            for row in NotificationTemplate.objects.filter(
                kind__in=list(PLACEHOLDERS), language__in={DEFAULT_LANGUAGE, language}
            )
        }
        return [
            self._entry(kind, rows[(kind, DEFAULT_LANGUAGE)], rows.get((kind, language)))
            for kind in PLACEHOLDERS
            if (kind, DEFAULT_LANGUAGE) in rows
        ]

    def save(
        self, actor: Any, key: str, language: str, texts: Mapping[str, str], *, reviewed: bool
    ) -> Entry:
        check_target_language(language)
        if key not in PLACEHOLDERS:
            raise EntryNotFound(key)
        cleaned = {name: clean_text(text) for name, text in texts.items()}
        unknown = sorted(set(cleaned) - set(TEXT_FIELDS))
        if unknown:
            raise ValidationError(
                _("These texts are not part of the entry: %(keys)s. Reload the page."),
                code="unknown_text",
                params={"keys": ", ".join(unknown)},
            )
        check_lengths(cleaned, {"title": TITLE_MAX_LENGTH})
        errors = placeholder_errors(key, cleaned)
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            source = NotificationTemplate.objects.filter(
                kind=key, language=DEFAULT_LANGUAGE
            ).first()
            if source is None:
                raise EntryNotFound(key)
            row = (
                NotificationTemplate.objects.select_for_update()
                .filter(kind=key, language=language)
                .first()
            )
            before = {name: getattr(row, name) if row else "" for name in TEXT_FIELDS}
            after = {**before, **cleaned}
            changed = [name for name in TEXT_FIELDS if before[name] != after[name]]
            started = any(after[name] for name in TEXT_FIELDS)
            if not started:
                # Nothing left: the kind falls back to Vietnamese, as if never translated.
                if row is not None:
                    record(actor, "translation.removed", row, details={"language": language})
                    row.delete()
                return self._entry(key, source, None)
            if not (after["title"] and after["body"]):
                raise ValidationError(
                    {
                        name: [ValidationError(_("This text is needed."), code="required")]
                        for name in ("title", "body")
                        if not after[name]
                    }
                )
            sourced = [name for name in TEXT_FIELDS if getattr(source, name).strip()]
            if reviewed and not all(after[name] for name in sourced):
                raise ValidationError(
                    _("Translate every text of the entry before marking it reviewed."),
                    code="incomplete",
                )
            state = next_state(
                template_state(row), changed=bool(changed), reviewed=reviewed, started=True
            )
            if row is None:
                row = NotificationTemplate(kind=key, language=language)
            for name in TEXT_FIELDS:
                setattr(row, name, after[name])
            row.reviewed = state == State.REVIEWED
            row.is_sample = state == State.SAMPLE
            row.save()
            record(
                actor,
                "translation.saved",
                row,
                details={"language": language, "state": state, "changed": changed},
            )
        return self._entry(key, source, row)


def save_template_edit(actor: Any, template: NotificationTemplate) -> list[str]:
    """Save a template edited in its own admin page, keeping review states honest.

    A changed Vietnamese text makes the other languages' reviewed rows of that kind
    unreviewed (they were checked against the old text); a translation whose text changed,
    or that was marked reviewed, stops being a sample. Returns the languages reset
    (audited as `translation.source_changed`).
    """
    with transaction.atomic():
        previous = (
            NotificationTemplate.objects.select_for_update().filter(pk=template.pk).first()
            if template.pk is not None
            else None
        )
        texts_changed = previous is None or any(
            getattr(previous, name) != getattr(template, name) for name in TEXT_FIELDS
        )
        if template.language != DEFAULT_LANGUAGE and (texts_changed or template.reviewed):
            template.is_sample = False
        template.save()
        reset: list[str] = []
        if template.language == DEFAULT_LANGUAGE and previous is not None and texts_changed:
            others = NotificationTemplate.objects.select_for_update().filter(
                kind__in={template.kind, previous.kind}, reviewed=True
            )
            others = others.exclude(language=DEFAULT_LANGUAGE)
            reset = sorted(set(others.values_list("language", flat=True)))
            others.update(reviewed=False)
            if reset:
                record(actor, "translation.source_changed", template, details={"reset": reset})
    return reset
