"""Reads a user may make, already scoped to that user."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from agencies.models import AdministrativeUnit
from notifications.models import Device, Notification


def inbox_for(user: Any) -> QuerySet[Notification]:
    """The user's inbox, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_count(user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_for_user(user: Any, notification_id: object) -> Notification:
    """One of the user's notifications; anybody else's is a 404, as if it did not exist."""
    return get_object_or_404(inbox_for(user), pk=notification_id)


def active_devices_of(user: Any) -> QuerySet[Device]:
    return Device.objects.filter(user=user, is_active=True)


def administrative_unit(code: int, level: str) -> AdministrativeUnit | None:
    """The province or commune with this code, or None."""
    units = AdministrativeUnit.objects.filter(code=code, level=level)
    return units.select_related("parent").first()
