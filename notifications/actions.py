"""Writes of the notifications app: devices and the inbox's read state."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import AdministrativeUnit
from common.exceptions import NotAllowed
from common.housekeeping import delete_in_batches
from notifications import announcements
from notifications.delivery import deactivate_device, retire_pending_pushes
from notifications.models import Announcement, Device, Notification, PushMessage, SmsMessage

logger = logging.getLogger(__name__)

MAX_ACTIVE_DEVICES = 10
STALE_DEVICE_AFTER = timedelta(days=60)


class OutsideArea(NotAllowed):
    default_detail = _("This administrative unit is outside the area of your agency.")
    default_code = "outside_area"


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


def prune_stale_devices(*, now: Any = None) -> int:
    """Delete devices not seen (registered or refreshed) for 60 days; returns how many.

    Their queued pushes go with them (cascade): a token that silent is almost certainly an
    uninstalled app, and FCM itself expires tokens inactive for 270 days.
    """
    cutoff = (now or timezone.now()) - STALE_DEVICE_AFTER
    stale = Device.objects.filter(
        Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True, created_at__lt=cutoff)
    )
    with transaction.atomic():
        # Rows in flight keep their device until the worker records the outcome.
        stale = stale.exclude(pushes__status=PushMessage.Status.SENDING)
        _deleted, by_model = stale.delete()
    count = by_model.get(Device._meta.label, 0)
    if count:
        logger.info("pruned %d device(s) unseen since %s", count, cutoff.isoformat())
    return count


# Statuses an outbox row never leaves: kept OUTBOX_RETENTION_DAYS for support, then purged.
FINISHED_PUSHES = (PushMessage.Status.SENT, PushMessage.Status.DEAD)
FINISHED_SMS = (SmsMessage.Status.SENT, SmsMessage.Status.FAILED, SmsMessage.Status.SUPPRESSED)


def purge_finished_outbox(*, now: Any = None) -> dict[str, int]:
    """Delete pushes and SMS finished (sent or given up) more than `OUTBOX_RETENTION_DAYS`
    ago; returns how many of each (`pushes`, `sms`). Pending and in-flight rows stay.

    The SMS rate limit counts the last hour's rows only, so a month is plenty.
    """
    days = getattr(settings, "OUTBOX_RETENTION_DAYS", 30)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return {
        "pushes": delete_in_batches(
            PushMessage.objects.filter(status__in=FINISHED_PUSHES, updated_at__lt=cutoff)
        ),
        "sms": delete_in_batches(
            SmsMessage.objects.filter(status__in=FINISHED_SMS, updated_at__lt=cutoff)
        ),
    }


def send_announcement(
    sender: Any,
    *,
    title: str,
    body: str,
    administrative_unit: AdministrativeUnit,
    language: str = "vi",
) -> Announcement:
    """Send an announcement to everyone whose home commune lies in `administrative_unit`.

    Managers and admins may send to their agency's area (a commune office: its commune; a
    province board: the province or any of its communes); superusers anywhere. Officers and
    citizens → `NotAllowed` (403); a unit outside the sender's area → `OutsideArea` (403).
    The inbox rows and pushes are written after commit, in batches, by a Celery task.
    """
    if not announcements.may_announce(sender):
        raise NotAllowed(_("Only managers and admins may send announcements."))
    if not announcements.covers(sender, administrative_unit):
        raise OutsideArea()
    with transaction.atomic():
        announcement = Announcement.objects.create(
            title=title,
            body=body,
            language=language,
            administrative_unit=administrative_unit,
            sender=sender,
        )
        transaction.on_commit(partial(announcements.publish_fan_out, announcement.pk), robust=True)
    return announcement
