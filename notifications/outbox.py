"""The way in for every other app: `notify()` writes the inbox row and the outbox rows.

Pushes are sent after commit, by a Celery task, never inside the caller's transaction. If
publishing that task fails, the rows stay pending and the beat sweep delivers them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from notifications import messages
from notifications.models import Device, Notification, PushMessage
from notifications.push import string_data

logger = logging.getLogger(__name__)

TITLE_MAX = Notification._meta.get_field("title").max_length or 200
COLLAPSE_KEY_MAX = PushMessage._meta.get_field("collapse_key").max_length or 100


def notify(
    user: Any,
    kind: str,
    context: Mapping[str, Any],
    *,
    data: Mapping[str, Any],
    collapse_key: str,
) -> Notification:
    """Put a notification in `user`'s inbox and queue one push per active device.

    Must run inside the caller's `transaction.atomic()`, so the notification exists exactly
    when the change it announces does. Text is rendered in `user.preferred_language`;
    `data` (values turned into strings, as FCM requires) goes to the inbox and the pushes.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify() must be called inside transaction.atomic()")
    title, body = messages.render(kind, getattr(user, "preferred_language", ""), context)
    title = title[:TITLE_MAX]
    payload = string_data(dict(data))
    notification = Notification.objects.create(
        user=user, kind=kind, title=title, body=body, data=payload
    )
    pushes = [
        PushMessage(
            notification=notification,
            device=device,
            token=device.token,
            title=title,
            body=body,
            data=payload,
            collapse_key=collapse_key[:COLLAPSE_KEY_MAX],
        )
        for device in Device.objects.filter(user=user, is_active=True).only("id", "token")
    ]
    if pushes:
        PushMessage.objects.bulk_create(pushes)
        transaction.on_commit(
            partial(publish_delivery, [str(push.pk) for push in pushes]), robust=True
        )
    return notification


def publish_delivery(push_ids: list[str]) -> None:
    """Ask a worker to deliver these outbox rows now; on any failure, leave it to the sweep."""
    from notifications.tasks import deliver_pushes

    try:
        deliver_pushes.apply_async(
            args=[push_ids], retry=False, timeout=settings.CELERY_PUBLISH_TIMEOUT
        )
    except Exception:
        # The request that caused this has committed; a broker outage must not turn it into
        # an error. The rows are pending and the beat sweep will find them.
        logger.warning(
            "could not publish deliver_pushes for %d push(es); the sweep will send them",
            len(push_ids),
            exc_info=True,
        )
