"""Delivery of webhook outbox rows, as pushes are delivered (`notifications.delivery`):
claim due rows in a short transaction (`SELECT … FOR UPDATE SKIP LOCKED` and a conditional
UPDATE that sets `sending` and a lease), commit, send with no transaction open, record.

A try that fails (timeout, network error, a non-2xx answer, a redirect, a refused address)
is retried with exponential backoff and jitter (at least any `Retry-After`) for
`WEBHOOK_RETRY_HOURS` (24 h) after the event; then the row fails and its subscription is
switched off, and the admins of its agency are told. Delivery is at-least-once: the
`webhook-id` is the row's id on every try, so a receiver drops a repeat.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from prometheus_client import Counter

from agencies.models import StaffMembership
from notifications.outbox import notify, publish
from webhooks import signing, urlguard
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.routing import subscriptions_changed

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
Outcome = WebhookAttempt.Outcome

BATCH_SIZE = 20
SWEEP_MAX_BATCHES = 10
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
RETRY_AFTER_CAP_SECONDS = 3600
ERROR_MAX = 500
USER_AGENT = "dichvu-vungcao-webhooks/1"

DISABLED_KIND = "webhook.disabled"
DISABLED_FACTS = {
    "url": "Địa chỉ nhận webhook",
    "agency_name": "Cơ quan đăng ký webhook",
}

DELIVERIES = Counter(
    "webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retry, refused, gave_up.",
    ["outcome"],
)


def retry_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "WEBHOOK_RETRY_HOURS", 24)))


def lease_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_LEASE_SECONDS", 120))


def timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))


@dataclass
class Result:
    outcome: str
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""
    retry_after: int | None = None


def _due(now: datetime) -> Q:
    pending_due = Q(status=Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    lease_expired = Q(status=Status.SENDING, lease_until__lt=now)
    return (pending_due | lease_expired) & Q(subscription__is_active=True)


def claim(ids: Iterable[str] | None = None, *, limit: int = BATCH_SIZE) -> list[WebhookDelivery]:
    """Take up to `limit` due rows (only among `ids` when given): `sending`, a fresh lease,
    one more attempt counted. Commits before returning."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds())
    with transaction.atomic():
        candidates = WebhookDelivery.objects.select_for_update(
            skip_locked=True, of=("self",)
        ).filter(_due(now))
        if ids is not None:
            candidates = candidates.filter(id__in=list(ids))
        candidate_ids = list(candidates.order_by("created_at").values_list("id", flat=True)[:limit])
        if not candidate_ids:
            return []
        WebhookDelivery.objects.filter(_due(now), id__in=candidate_ids).update(
            status=Status.SENDING,
            lease_until=lease_until,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        return list(
            WebhookDelivery.objects.filter(
                id__in=candidate_ids, status=Status.SENDING, lease_until=lease_until
            )
            .select_related("subscription", "subscription__agency")
            .order_by("created_at")
        )


def secrets_in_use(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    in_use = [subscription.secret]
    if (
        subscription.previous_secret
        and subscription.previous_secret_until
        and subscription.previous_secret_until > now
    ):
        in_use.append(subscription.previous_secret)
    return in_use


def send(row: WebhookDelivery, http: httpx.Client) -> Result:
    """One try at `row`: POST the signed body, no redirects, checked addresses only."""
    timestamp = int(time.time())
    headers = signing.headers(
        secrets_in_use(row.subscription, timezone.now()), str(row.pk), timestamp, row.body
    )
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    started = time.monotonic()
    try:
        response = http.post(row.subscription.url, content=row.body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        latency = int((time.monotonic() - started) * 1000)
        message = str(exc) or type(exc).__name__
        refused = message.startswith(urlguard.BLOCKED_PREFIX)
        return Result(
            Outcome.REFUSED if refused else Outcome.RETRY,
            latency_ms=latency,
            error=f"{type(exc).__name__}: {message}"[:ERROR_MAX],
        )
    latency = int((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return Result(Outcome.DELIVERED, response.status_code, latency)
    error = f"HTTP {response.status_code}"
    if response.is_redirect:
        error += " (redirects are not followed)"
    return Result(
        Outcome.RETRY,
        response.status_code,
        latency,
        error,
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return min(int(value.strip()), RETRY_AFTER_CAP_SECONDS)
    return None


def retry_delay(attempts: int, retry_after: int | None = None) -> float:
    """Seconds before the next try: exponential with jitter, at least Retry-After."""
    backoff = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    # Jitter, not for security: spreads the retries of a receiver's outage.
    backoff *= random.uniform(0.5, 1.0)  # noqa: S311  # nosec B311
    return max(float(retry_after or 0), backoff)


def _still_ours(row: WebhookDelivery) -> Q:
    return Q(pk=row.pk, status=Status.SENDING, lease_until=row.lease_until)


def record(row: WebhookDelivery, result: Result) -> str:
    """Write a try's outcome (the log row and the delivery's state); returns the outcome
    counted: `delivered`, `retry`, `refused` or `gave_up`."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "lease_until": None,
        "updated_at": now,
        "last_status_code": result.status_code,
        "last_latency_ms": result.latency_ms,
        "last_error": result.error,
    }
    outcome = str(result.outcome)
    if result.outcome == Outcome.DELIVERED:
        fields.update(status=Status.DELIVERED, delivered_at=now)
    else:
        next_at = now + timedelta(seconds=retry_delay(row.attempts, result.retry_after))
        if next_at >= row.created_at + retry_window():
            outcome = Outcome.GAVE_UP
            fields.update(status=Status.FAILED, next_attempt_at=None)
        else:
            fields.update(status=Status.PENDING, next_attempt_at=next_at)
    with transaction.atomic():
        if not WebhookDelivery.objects.filter(_still_ours(row)).update(**fields):
            # Our lease ran out and another worker took the row: its outcome wins.
            return outcome
        WebhookAttempt.objects.create(
            delivery=row,
            outcome=outcome,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
        )
        if outcome == Outcome.GAVE_UP:
            disable_subscription(
                row.subscription,
                f"{row.event_type} {row.pk} undelivered after "
                f"{retry_window().total_seconds() / 3600:g} h: {result.error}",
            )
    DELIVERIES.labels(outcome).inc()
    return outcome


def disable_subscription(subscription: WebhookSubscription, reason: str) -> bool:
    """Switch a subscription off and tell the admins of its agency (and above) in their
    inbox; False if it was already off. Call inside a transaction."""
    now = timezone.now()
    changed = WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:300], updated_at=now
    )
    if not changed:
        return False
    subscriptions_changed()
    logger.warning("webhook subscription %s disabled: %s", subscription.pk, reason)
    agency = subscription.agency
    admins = (
        StaffMembership.objects.filter(
            agency_id__in=agency.lineage_ids,
            role=StaffMembership.Role.ADMIN,
            user__is_active=True,
        )
        .select_related("user")
        .order_by("user_id")
        .distinct()
    )
    told = set()
    for membership in admins:
        if membership.user_id in told:
            continue
        told.add(membership.user_id)
        notify(
            membership.user,
            DISABLED_KIND,
            {"url": subscription.url, "agency_name": agency.name},
            data={"type": "webhook", "id": str(subscription.pk), "status": "disabled"},
            collapse_key=f"webhook-{subscription.pk}",
        )
    return True


def deliver(ids: Iterable[str] | None = None, *, limit: int = BATCH_SIZE) -> dict[str, int]:
    """Claim one batch (among `ids` when given), send it and record every outcome; returns
    the count by outcome."""
    rows = claim(ids, limit=limit)
    counts: dict[str, int] = {"claimed": len(rows)}
    if not rows:
        return counts
    with urlguard.client(timeout_seconds()) as http:
        for row in rows:
            if row.lease_until and timezone.now() >= row.lease_until:
                # Slow receivers before it used up the lease; the sweep may own it now.
                continue
            outcome = record(row, send(row, http))
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def deliver_ids(ids: Sequence[str]) -> int:
    """Deliver the given rows that are due; returns how many were delivered."""
    delivered = 0
    for start in range(0, len(ids), BATCH_SIZE):
        delivered += deliver(ids[start : start + BATCH_SIZE]).get(Outcome.DELIVERED, 0)
    return delivered


def sweep(*, max_batches: int = SWEEP_MAX_BATCHES) -> int:
    """Deliver whatever is due (never published, retries, expired leases)."""
    delivered = 0
    for _batch in range(max_batches):
        counts = deliver()
        delivered += counts.get(Outcome.DELIVERED, 0)
        if counts["claimed"] < BATCH_SIZE:
            break
    return delivered


def redeliver(deliveries: Iterable[WebhookDelivery]) -> list[str]:
    """Put finished or waiting rows back in the queue, due now, with the same `webhook-id`
    (a receiver that had it drops the repeat). Rows being sent are left alone. Returns the
    ids queued."""
    now = timezone.now()
    ids = [row.pk for row in deliveries]
    queued = WebhookDelivery.objects.filter(pk__in=ids).exclude(status=Status.SENDING)
    queued_ids = [str(pk) for pk in queued.values_list("pk", flat=True)]
    WebhookDelivery.objects.filter(pk__in=queued_ids).update(
        status=Status.PENDING, next_attempt_at=None, lease_until=None, updated_at=now
    )
    return queued_ids


# acks_late: a worker killed mid-send leaves the message for another; the lease keeps two
# from sending one row at once.
@shared_task(name="webhooks.tasks.deliver_webhooks", acks_late=True, ignore_result=True)
def deliver_webhooks_task(ids: list[str]) -> int:
    """Send the given webhook rows now (those still due); returns how many were delivered."""
    return deliver_ids(list(ids))


def due_ids(limit: int = BATCH_SIZE * SWEEP_MAX_BATCHES) -> list[str]:
    """Ids of rows due now (retries, failed publishes, expired leases), oldest first."""
    due = WebhookDelivery.objects.filter(_due(timezone.now())).order_by("created_at")
    return [str(pk) for pk in due.values_list("pk", flat=True)[:limit]]


@shared_task(name="webhooks.tasks.sweep_webhooks", ignore_result=True)
def sweep_webhooks_task() -> int:
    """Beat: hand what is due to delivery tasks, a batch each. Publishing only, so the beat
    job is quick and every send runs on the webhooks' own queue."""
    ids = due_ids()
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        publish(deliver_webhooks_task, [chunk], f"deliver_webhooks for {len(chunk)} webhook(s)")
    return len(ids)
