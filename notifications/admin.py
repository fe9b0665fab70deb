from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from common.i18n import language_choices
from notifications.messages import PLACEHOLDERS, template_fields
from notifications.models import (
    Announcement,
    Device,
    Notification,
    NotificationTemplate,
    PushMessage,
    SmsMessage,
)
from notifications.translations import save_template_edit


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may look; every change goes through the app's actions and workers."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "user", "platform", "app_version", "is_active", "last_seen_at")
    list_filter = ("platform", "is_active", "deactivated_reason")
    search_fields = ("user__phone", "user__full_name", "token")
    list_select_related = ("user",)
    date_hierarchy = "created_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("title", "user", "kind", "read_at", "created_at")
    list_filter = ("kind",)
    search_fields = ("user__phone", "title")
    list_select_related = ("user",)
    date_hierarchy = "created_at"


@admin.register(PushMessage)
class PushMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "device",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("token", "title", "collapse_key")
    list_select_related = ("device",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "notification",
        "device",
        "token",
        "title",
        "body",
        "data",
        "collapse_key",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "sent_at",
        "created_at",
        "updated_at",
    )


def _kind_choices() -> list[tuple[str, str]]:
    return [(kind, kind) for kind in PLACEHOLDERS]


class NotificationTemplateForm(forms.ModelForm):
    # Callables: kinds come from the code, languages from the Language table.
    kind = forms.ChoiceField(label=_("loại"), choices=_kind_choices)
    language = forms.ChoiceField(label=_("ngôn ngữ"), choices=language_choices)

    class Meta:
        model = NotificationTemplate
        fields = ("kind", "language", "title", "body", "sms", "reviewed")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        allowed = set(PLACEHOLDERS.get(cleaned.get("kind", ""), {}))
        for name in ("title", "body", "sms"):
            text = cleaned.get(name) or ""
            try:
                used = template_fields(text)
            except ValueError:
                self.add_error(name, _("A placeholder is malformed: write it as {name}."))
                continue
            unknown = sorted(used - allowed)
            if unknown:
                self.add_error(
                    name,
                    _("Unknown placeholders: %(unknown)s. This kind offers: %(allowed)s.")
                    % {
                        "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                        "allowed": ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "-",
                    },
                )
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    """One row per kind and language; a language without a row falls back to Vietnamese."""

    form = NotificationTemplateForm
    list_display = ("kind", "language", "title", "reviewed", "is_sample", "updated_at")
    list_display_links = ("kind", "language")
    list_editable = ("reviewed",)
    list_filter = ("language", "kind", "reviewed", "is_sample")
    search_fields = ("title", "body", "sms")
    fields = (
        "kind",
        "language",
        "placeholders",
        "title",
        "body",
        "sms",
        "reviewed",
        "is_sample",
        "updated_at",
    )
    readonly_fields = ("placeholders", "is_sample", "updated_at")

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # Also the list's "reviewed" column: marking reviewed ends a sample, and a changed
        # Vietnamese text takes the reviewed mark off the kind's translations.
        reset = save_template_edit(request.user, obj)
        if reset:
            messages.warning(
                request,
                _(
                    "The Vietnamese text changed, so the translations into %(languages)s are "
                    "marked not reviewed again. Check them in the translator view."
                )
                % {"languages": ", ".join(reset)},
            )

    @admin.display(description=_("chỗ điền"))
    def placeholders(self, obj: NotificationTemplate | None) -> str:
        kinds = [obj.kind] if obj is not None and obj.kind in PLACEHOLDERS else list(PLACEHOLDERS)
        return format_html_join(
            "",
            "<p><b>{}</b>: {}</p>",
            (
                (
                    kind,
                    format_html_join(
                        ", ",
                        "<code>{{{}}}</code> {}",
                        ((name, f"({help})") for name, help in PLACEHOLDERS[kind].items()),
                    ),
                )
                for kind in kinds
            ),
        ) or format_html("{}", "-")


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("phone",)
    date_hierarchy = "created_at"


@admin.register(Announcement)
class AnnouncementAdmin(ReadOnlyAdmin):
    """Sent through the API (`POST announcements/`), which checks the sender's area."""

    list_display = ("title", "administrative_unit", "sender", "recipient_count", "created_at")
    list_select_related = ("administrative_unit", "sender")
    search_fields = ("title",)
    date_hierarchy = "created_at"
