"""Scrape-time figures of the outbox: how much waits, and for how long."""

from collections.abc import Iterable

from django.db import models
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import Metric

from common.metrics import gauge
from notifications.models import PushMessage, SmsMessage

# channel → outbox model (with `status` PENDING/SENDING and `created_at`). Apps that send
# from an outbox of their own add theirs (webhooks: `webhook`).
OUTBOX_CHANNELS: dict[str, type[models.Model]] = {"push": PushMessage, "sms": SmsMessage}


def add_outbox_channel(channel: str, model: type[models.Model]) -> None:
    OUTBOX_CHANNELS[channel] = model


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
    for channel, model in OUTBOX_CHANNELS.items():
        waiting = Q(status__in=[model.Status.PENDING, model.Status.SENDING])  # type: ignore[attr-defined]
        figures = model._default_manager.filter(waiting).aggregate(
            count=Count("pk"), since=Min("created_at")
        )
        pending.add_metric([channel], figures["count"])
        since = figures["since"]
        oldest.add_metric([channel], (now - since).total_seconds() if since else 0.0)
    return [pending, oldest]
