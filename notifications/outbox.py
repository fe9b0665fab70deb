"""The way in for every other app: `notify()` writes the inbox row and the outbox rows.

Pushes and SMS (`queue_sms` for one-time codes and the like) are sent after commit, by a
Celery task, never inside the caller's transaction. If publishing that task fails, the rows
stay pending and the beat sweep delivers them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notifications import messages
from notifications.delivery import deliver_pushes_task, deliver_sms_task
from notifications.models import Device, Notification, PushMessage, SmsMessage
from notifications.push import string_data

logger = logging.getLogger(__name__)

TITLE_MAX = Notification._meta.get_field("title").max_length or 200
COLLAPSE_KEY_MAX = PushMessage._meta.get_field("collapse_key").max_length or 100

# SMS fallback: at most this many SMS per phone number in a sliding window. Counted in the
# database (SmsMessage rows), not in Redis, so the limit holds with Redis down.
SMS_RATE_LIMIT = 3
SMS_RATE_WINDOW = timedelta(hours=1)


def sms_rate_limit() -> tuple[int, timedelta]:
    """(how many, per how long); settings `SMS_RATE_LIMIT` and `SMS_RATE_WINDOW_SECONDS`."""
    limit = int(getattr(settings, "SMS_RATE_LIMIT", SMS_RATE_LIMIT))
    seconds = getattr(settings, "SMS_RATE_WINDOW_SECONDS", None)
    window = timedelta(seconds=seconds) if seconds is not None else SMS_RATE_WINDOW
    return limit, window


def notify(
    user: Any,
    kind: str,
    context: Mapping[str, Any],
    *,
    data: Mapping[str, Any],
    collapse_key: str,
    critical: bool = False,
) -> Notification:
    """Put a notification in `user`'s inbox and queue one push per active device.

    Must run inside the caller's `transaction.atomic()`, so the notification exists exactly
    when the change it announces does. Text is rendered in `user.preferred_language`;
    `data` (values turned into strings, as FCM requires) goes to the inbox and the pushes.

    `critical=True` (result ready, supplement requested, assisted submission): when the user
    has no active device, an SMS (the template's `sms` text) is queued instead, sent after
    commit and rate limited per phone number (`queue_sms_fallback`).
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
    elif critical:
        queue_sms_fallback(user, kind, context)
    return notification


def queue_sms_fallback(user: Any, kind: str, context: Mapping[str, Any]) -> SmsMessage | None:
    """Queue the SMS of `kind` to `user.phone`, sent after commit; call inside a transaction.

    At most `SMS_RATE_LIMIT` SMS per phone per `SMS_RATE_WINDOW`: one more is recorded as
    `suppressed` and not sent. Returns the row, or None when the user has no phone number
    or no active account.
    """
    phone = getattr(user, "phone", "") or ""
    # A closed account's `phone` is a placeholder, not a number to text.
    if not phone or not getattr(user, "is_active", True):
        return None
    # Serialises fallbacks per user, so two concurrent transitions cannot both see room
    # for one more SMS under the limit.
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    limit, window = sms_rate_limit()
    recent = (
        SmsMessage.objects.filter(phone=phone, created_at__gte=timezone.now() - window)
        .exclude(status=SmsMessage.Status.SUPPRESSED)
        .count()
    )
    text = messages.render_sms(kind, getattr(user, "preferred_language", ""), context)
    over_limit = recent >= limit
    row = SmsMessage.objects.create(
        user=user,
        phone=phone,
        kind=kind,
        text=text,
        status=SmsMessage.Status.SUPPRESSED if over_limit else SmsMessage.Status.PENDING,
        last_error="rate limited" if over_limit else "",
    )
    if over_limit:
        logger.info("sms fallback for %s suppressed: %d sent in the window", kind, recent)
    else:
        transaction.on_commit(partial(publish_sms, [str(row.pk)]), robust=True)
    return row


def queue_sms(phone: str, text: str, *, kind: str, user: Any = None) -> SmsMessage:
    """Queue one SMS that is not a notification fallback (a one-time code, a security notice):
    no per-phone suppression, sent after commit by a worker (or the sweep). Call inside a
    transaction.

    Rows whose `kind` starts with `otp.` have their digits masked once done with (see
    `notifications.delivery`).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("queue_sms() must be called inside transaction.atomic()")
    row = SmsMessage.objects.create(user=user, phone=phone, kind=kind, text=text)
    transaction.on_commit(partial(publish_sms, [str(row.pk)]), robust=True)
    return row


def publish_sms(sms_ids: list[str]) -> None:
    """Ask a worker to send these SMS rows now; on any failure, leave it to the sweep."""
    publish(deliver_sms_task, [sms_ids], f"deliver_sms for {len(sms_ids)} sms")


def publish_delivery(push_ids: list[str]) -> None:
    """Ask a worker to deliver these outbox rows now; on any failure, leave it to the sweep."""
    publish(deliver_pushes_task, [push_ids], f"deliver_pushes for {len(push_ids)} push(es)")


# After a failed publish, later ones are skipped for this long: with the broker down each
# attempt would cost the request CELERY_PUBLISH_TIMEOUT, and the sweep sends the rows anyway.
BROKER_DOWN_SKIP_SECONDS = 5.0
_broker_down_until = 0.0


def publish(task: Any, args: list[Any], what: str) -> bool:
    """Publish `task(*args)` after commit without ever failing the caller; False if not sent.

    Nothing is lost when this gives up: the rows it names are in the database and the beat
    sweep picks them up.
    """
    global _broker_down_until
    # Eager mode (dev, tests) has no broker to be down.
    eager = bool(task.app.conf.task_always_eager)
    if not eager and time.monotonic() < _broker_down_until:
        logger.info("broker marked down; %s left to the sweep", what)
        return False
    try:
        task.apply_async(args=args, retry=False, timeout=settings.CELERY_PUBLISH_TIMEOUT)
    except Exception:
        # The request that caused this has committed; a broker outage must not turn it into
        # an error. The rows are pending and the beat sweep will find them.
        _broker_down_until = time.monotonic() + BROKER_DOWN_SKIP_SECONDS
        logger.warning("could not publish %s; the sweep will send them", what, exc_info=True)
        return False
    return True
