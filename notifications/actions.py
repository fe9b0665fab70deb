"""Writes of the notifications app: devices and the inbox's read state."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.delivery import deactivate_device, retire_pending_pushes
from notifications.models import Device, Notification

logger = logging.getLogger(__name__)

MAX_ACTIVE_DEVICES = 10


def register_device(
    user: Any, *, token: str, platform: str, app_version: str = ""
) -> tuple[Device, bool]:
    """Register (or refresh) the device holding FCM `token` for `user`.

    Returns `(device, created)`. A token is one app install: when it shows up under another
    account (someone else logged in on that phone) it moves to `user`, is reactivated, and
    pushes still queued for the previous account are dropped. A user keeps at most
    `MAX_ACTIVE_DEVICES` active devices; registering one more retires the least recently
    seen.
    """
    for attempt in range(2):
        try:
            return _register_device(user, token, platform, app_version)
        except IntegrityError:
            # Two registrations of a new token raced; the second now finds the row.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _register_device(user: Any, token: str, platform: str, app_version: str) -> tuple[Device, bool]:
    now = timezone.now()
    with transaction.atomic():
        # Serialises registrations per user, so the device cap holds under concurrency.
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        device = Device.objects.select_for_update().filter(token=token).first()
        created = device is None
        if device is None:
            device = Device.objects.create(
                user=user,
                token=token,
                platform=platform,
                app_version=app_version,
                last_seen_at=now,
            )
        else:
            if device.user_id != user.pk:
                retire_pending_pushes(device.pk, "device moved to another account")
                logger.info("device %s moved to another account", device.pk)
            device.user = user
            device.platform = platform
            device.app_version = app_version
            device.is_active = True
            device.deactivated_reason = ""
            device.last_seen_at = now
            device.save()
        _enforce_device_cap(user, keep=device)
    return device, created


def _enforce_device_cap(user: Any, *, keep: Device) -> None:
    active = list(
        Device.objects.filter(user=user, is_active=True)
        .exclude(pk=keep.pk)
        .order_by("-last_seen_at", "-created_at")
        .values_list("pk", flat=True)
    )
    for device_id in active[MAX_ACTIVE_DEVICES - 1 :]:
        deactivate_device(device_id, reason="device_limit")


def unregister_device(user: Any, token: str) -> bool:
    """Stop pushes to `token` if it is `user`'s device (logout, or the app's own request).

    Returns False when `user` has no device with that token; somebody else's device is
    never touched.
    """
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(user=user, token=token).first()
        if device is None:
            return False
        if device.is_active:
            deactivate_device(device.pk, reason="unregistered")
        else:
            retire_pending_pushes(device.pk, "device unregistered")
    return True


def mark_read(notification: Notification) -> None:
    """Mark one inbox row read; reading it again keeps the first time."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])


def mark_all_read(user: Any) -> int:
    """Mark every unread row of `user`'s inbox read; returns how many changed."""
    now = timezone.now()
    # update() skips auto_now: set updated_at so phones syncing by it see the change.
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=now, updated_at=now
    )
