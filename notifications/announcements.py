"""Announcements: who may send one where, and the fan-out to inboxes and pushes.

The fan-out never holds one transaction or one task for long: each batch of recipients
(`FANOUT_BATCH_SIZE`, keyset-ordered by user id) is one short transaction that writes their
inbox rows and outbox rows and moves the announcement's `fanout_cursor`; the task then
queues the next batch. A worker that dies mid-batch rolls the batch back and the cursor
stays put, so a retried (or swept) batch resumes where the last commit left off and nobody
gets the announcement twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agencies.models import AdministrativeUnit, Agency, StaffMembership
from notifications import messages
from notifications.models import Announcement, Device, Notification, PushMessage
from notifications.outbox import COLLAPSE_KEY_MAX, TITLE_MAX, publish, publish_delivery
from notifications.push import string_data

logger = logging.getLogger(__name__)

KIND = "announcement"
FANOUT_BATCH_SIZE = 1000
# The sweep restarts a fan-out whose last batch is older than this (its task was lost).
FANOUT_STALE_AFTER = timedelta(minutes=2)

_MANAGING_ROLES = (StaffMembership.Role.MANAGER, StaffMembership.Role.ADMIN)


def announcing_memberships(user: Any) -> QuerySet[StaffMembership]:
    """The user's memberships that may send announcements (manager or admin); none for a
    user who is not acting as staff."""
    if not user.is_staff:
        return StaffMembership.objects.none()
    return StaffMembership.objects.filter(
        user=user, role__in=_MANAGING_ROLES, agency__is_active=True
    ).select_related("agency__administrative_unit")


def may_announce(user: Any) -> bool:
    """Whether `user` may send announcements at all (somewhere)."""
    return bool(user.is_superuser or announcing_memberships(user).exists())


def covers(user: Any, unit: AdministrativeUnit) -> bool:
    """Whether `unit` lies in the area of one of `user`'s managing memberships.

    A commune office covers its commune; a province board covers the province and its
    communes; a ministry-level agency covers the whole country; a superuser, anywhere.
    """
    if user.is_superuser:
        return True
    for membership in announcing_memberships(user):
        agency = membership.agency
        if agency.level == Agency.Level.MINISTRY:
            return True
        area = agency.administrative_unit
        if area is None:
            continue
        if area.pk == unit.pk or (
            area.level == AdministrativeUnit.Level.PROVINCE and unit.parent_id == area.pk
        ):
            return True
    return False


def recipients(unit: AdministrativeUnit) -> QuerySet[Any]:
    """Active users whose home commune is `unit` or lies in province `unit`."""
    users = get_user_model().objects.filter(is_active=True)
    if unit.level == AdministrativeUnit.Level.PROVINCE:
        return users.filter(administrative_unit__parent=unit)
    return users.filter(administrative_unit=unit)


def fan_out_batch(announcement_id: UUID | str, *, batch_size: int = FANOUT_BATCH_SIZE) -> bool:
    """Deliver the announcement to its next batch of recipients; True while more remain."""
    with transaction.atomic():
        announcement = (
            Announcement.objects.select_for_update()
            .select_related("administrative_unit")
            .filter(pk=announcement_id)
            .first()
        )
        if announcement is None or announcement.fanout_done_at is not None:
            return False
        users = recipients(announcement.administrative_unit)
        if announcement.fanout_cursor is not None:
            users = users.filter(pk__gt=announcement.fanout_cursor)
        batch = list(users.order_by("pk").only("pk", "preferred_language")[:batch_size])
        now = timezone.now()
        if not batch:
            announcement.fanout_done_at = now
            announcement.save(update_fields=["fanout_done_at", "updated_at"])
            return False
        _write_batch(announcement, batch)
        announcement.fanout_cursor = batch[-1].pk
        announcement.recipient_count += len(batch)
        announcement.save(update_fields=["fanout_cursor", "recipient_count", "updated_at"])
        return True


def _write_batch(announcement: Announcement, users: list[Any]) -> None:
    context = {
        "title": announcement.title,
        "body": announcement.body,
        "area_name": announcement.administrative_unit.name,
    }
    data = string_data({"type": KIND, "id": str(announcement.pk)})
    collapse_key = f"{KIND}-{announcement.pk}"[:COLLAPSE_KEY_MAX]
    texts: dict[str, tuple[str, str]] = {}
    notifications = []
    for user in users:
        language = user.preferred_language or ""
        if language not in texts:
            title, body = messages.render(KIND, language, context)
            texts[language] = (title[:TITLE_MAX], body)
        title, body = texts[language]
        notifications.append(Notification(user=user, kind=KIND, title=title, body=body, data=data))
    Notification.objects.bulk_create(notifications)
    by_user = {n.user_id: n for n in notifications}
    devices = Device.objects.filter(user_id__in=list(by_user), is_active=True).only(
        "id", "token", "user_id"
    )
    pushes = [
        PushMessage(
            notification=by_user[device.user_id],
            device=device,
            token=device.token,
            title=by_user[device.user_id].title,
            body=by_user[device.user_id].body,
            data=data,
            collapse_key=collapse_key,
        )
        for device in devices
    ]
    if pushes:
        PushMessage.objects.bulk_create(pushes)
        transaction.on_commit(
            partial(publish_delivery, [str(push.pk) for push in pushes]), robust=True
        )


@shared_task(name="notifications.tasks.fan_out_announcement", acks_late=True, ignore_result=True)
def fan_out_announcement(announcement_id: str) -> None:
    """One batch of an announcement's fan-out, then queue the next one (short tasks)."""
    if fan_out_batch(announcement_id):
        publish_fan_out(announcement_id)


def publish_fan_out(announcement_id: UUID | str) -> None:
    """Queue the next fan-out batch; on a broker failure the sweep restarts it later."""
    publish(
        fan_out_announcement,
        [str(announcement_id)],
        f"the fan-out of announcement {announcement_id}",
    )


def stale_fan_outs() -> list[str]:
    """Announcements whose fan-out stopped (lost task, broker down), for the sweep."""
    cutoff = timezone.now() - FANOUT_STALE_AFTER
    return [
        str(pk)
        for pk in Announcement.objects.filter(
            fanout_done_at__isnull=True, updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:100]
    ]
