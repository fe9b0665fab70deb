"""Scrape-time figures of the outbox: how much waits, and for how long."""

from collections.abc import Iterable

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import Metric

from common.metrics import gauge
from notifications.models import PushMessage, SmsMessage


def outbox_backlog() -> Iterable[Metric]:
    """`outbox_pending{channel}` rows not sent yet (pending, or being sent), and
    `outbox_oldest_pending_age_seconds{channel}` how long the oldest of them has waited."""
    pending = gauge("outbox_pending", "Outbox rows not sent yet (pending or sending).", ["channel"])
    oldest = gauge(
        "outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox row not sent yet (0 when none).",
        ["channel"],
    )
    now = timezone.now()
    for channel, model in (("push", PushMessage), ("sms", SmsMessage)):
        waiting = Q(status__in=[model.Status.PENDING, model.Status.SENDING])
        figures = model.objects.filter(waiting).aggregate(
            count=Count("pk"), since=Min("created_at")
        )
        pending.add_metric([channel], figures["count"])
        since = figures["since"]
        oldest.add_metric([channel], (now - since).total_seconds() if since else 0.0)
    return [pending, oldest]
