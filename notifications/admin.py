from django.contrib import admin
from django.http import HttpRequest

from notifications.models import Device, Notification, PushMessage


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
