"""Delivery of outbox rows: claim in a short transaction, send with none open, record.

Two workers never send the same row at once: a claim locks due rows with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL) and moves them to `sending` with a lease
through a conditional UPDATE that re-checks they are still due, so on a database without
row locks the second claimer simply finds nothing. A worker that dies mid-send leaves rows
in `sending`; once the lease expires the sweep claims them again (at-least-once: the
collapse key makes a rare duplicate harmless).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from prometheus_client import Counter

from notifications import push, sms
from notifications.models import Device, PushMessage, SmsMessage
from notifications.push import OutgoingPush, PushOutcome, PushResult

logger = logging.getLogger(__name__)

BATCH_SIZE = push.FCM_BATCH_LIMIT
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
# A sweep stops after this many batches and leaves the rest to the next beat tick.
SWEEP_MAX_BATCHES = 20
# Batches a delivery task drains after its own rows; keeps each task short.
DRAIN_MAX_BATCHES = 4
SMS_BATCH_SIZE = 100
SMS_MAX_ATTEMPTS = 3
# SMS rows whose kind starts with this hold a one-time code (`outbox.queue_sms`).
ONE_TIME_CODE_KIND_PREFIX = "otp."
_CODE_DIGITS = re.compile(r"[0-9]{4,}")

Status = PushMessage.Status

PUSHES = Counter(
    "push_messages_total",
    "Push outbox rows by what became of an attempt: sent, retry, invalid_token, failed, "
    "device_inactive, attempts_exhausted.",
    ["outcome"],
)
SMS = Counter(
    "sms_messages_total",
    "SMS outbox rows by what became of an attempt: sent, retry, failed, error, gave_up.",
    ["outcome"],
)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retry: int = 0
    dead: int = 0
    deactivated_devices: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retry += other.retry
        self.dead += other.dead
        self.deactivated_devices += other.deactivated_devices


def _due(now: datetime) -> Q:
    pending_due = Q(status=Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    lease_expired = Q(status=Status.SENDING, lease_until__lt=now)
    return pending_due | lease_expired


def claim(ids: Iterable[str] | None = None, *, limit: int | None = None) -> list[PushMessage]:
    """Take up to `limit` due rows (only among `ids` when given) for this worker.

    Each claimed row is `sending` with a fresh lease and one more attempt counted. Commits
    before returning, so nothing is locked while the pushes go out.
    """
    limit = limit or BATCH_SIZE
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.PUSH_LEASE_SECONDS)
    with transaction.atomic():
        candidates = PushMessage.objects.select_for_update(skip_locked=True).filter(_due(now))
        if ids is not None:
            candidates = candidates.filter(id__in=list(ids))
        candidate_ids = list(candidates.order_by("created_at").values_list("id", flat=True)[:limit])
        if not candidate_ids:
            return []
        PushMessage.objects.filter(_due(now), id__in=candidate_ids).update(
            status=Status.SENDING,
            lease_until=lease_until,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        return list(
            PushMessage.objects.filter(
                id__in=candidate_ids, status=Status.SENDING, lease_until=lease_until
            )
            .select_related("device")
            .order_by("created_at")
        )


def retry_delay(attempts: int, retry_after: int | None = None) -> float:
    """Seconds to wait before the next try: exponential with jitter, at least Retry-After."""
    backoff = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    # Jitter spreads a burst of failures (an FCM outage) over time instead of retrying in
    # lockstep.
    # Jitter, not for security.
    backoff *= random.uniform(0.5, 1.0)  # noqa: S311  # nosec B311
    return max(float(retry_after or 0), backoff)


def deliver(ids: Iterable[str] | None = None, *, limit: int | None = None) -> DeliveryReport:
    """Claim one batch (among `ids` when given), send it and record every outcome."""
    rows = claim(ids, limit=limit)
    report = DeliveryReport(claimed=len(rows))
    if not rows:
        return report
    sendable: list[PushMessage] = []
    for row in rows:
        if not row.device.is_active:
            PUSHES.labels("device_inactive").inc()
            _finish_dead(row, "device no longer active", report)
        elif row.attempts > settings.PUSH_MAX_ATTEMPTS:
            # Claimed again after its last lease ran out: it had all its tries.
            PUSHES.labels("attempts_exhausted").inc()
            _finish_dead(row, row.last_error or "lease expired after the last attempt", report)
        else:
            sendable.append(row)
    if sendable:
        results = push.send([_outgoing(row) for row in sendable])
        record_results(sendable, results, report)
    return report


def deliver_ids(ids: Sequence[str]) -> DeliveryReport:
    """Deliver the given rows that are due, in batches."""
    report = DeliveryReport()
    for start in range(0, len(ids), BATCH_SIZE):
        report.add(deliver(ids[start : start + BATCH_SIZE]))
    return report


def sweep(*, max_batches: int = SWEEP_MAX_BATCHES) -> DeliveryReport:
    """Deliver whatever is due: never published, failed publish, retries, expired leases."""
    report = DeliveryReport()
    for _ in range(max_batches):
        batch = deliver()
        report.add(batch)
        if batch.claimed < BATCH_SIZE:
            break
    return report


def _outgoing(row: PushMessage) -> OutgoingPush:
    return OutgoingPush(
        token=row.token,
        title=row.title,
        body=row.body,
        data=push.string_data(row.data),
        collapse_key=row.collapse_key,
    )


def _still_ours(row: PushMessage) -> Q:
    # If our lease ran out and another worker reclaimed the row, its outcome wins.
    return Q(id=row.id, status=Status.SENDING, lease_until=row.lease_until)


def record_results(
    rows: Sequence[PushMessage], results: Sequence[PushResult], report: DeliveryReport
) -> None:
    """Write what FCM answered for each claimed row."""
    if len(rows) != len(results):
        raise ValueError("one result per row expected")
    now = timezone.now()
    sent_by_lease: dict[datetime | None, list[UUID]] = {}
    for row, result in zip(rows, results, strict=True):
        PUSHES.labels(str(result.outcome)).inc()
        if result.is_sent:
            sent_by_lease.setdefault(row.lease_until, []).append(row.pk)
    for lease_until, pks in sent_by_lease.items():
        report.sent += PushMessage.objects.filter(
            pk__in=pks, status=Status.SENDING, lease_until=lease_until
        ).update(status=Status.SENT, sent_at=now, lease_until=None, last_error="", updated_at=now)
    for row, result in zip(rows, results, strict=True):
        if result.outcome == PushOutcome.INVALID_TOKEN:
            _deactivate(row, result.error, report)
        elif result.outcome == PushOutcome.FAILED:
            _finish_dead(row, result.error, report)
        elif result.outcome == PushOutcome.RETRY:
            _schedule_retry(row, result, report)


def _finish_dead(row: PushMessage, error: str, report: DeliveryReport) -> None:
    now = timezone.now()
    report.dead += PushMessage.objects.filter(_still_ours(row)).update(
        status=Status.DEAD, last_error=error, lease_until=None, updated_at=now
    )


def _schedule_retry(row: PushMessage, result: PushResult, report: DeliveryReport) -> None:
    now = timezone.now()
    if row.attempts >= settings.PUSH_MAX_ATTEMPTS:
        logger.warning("push %s dead after %d attempts: %s", row.pk, row.attempts, result.error)
        _finish_dead(row, result.error, report)
        return
    next_attempt_at = now + timedelta(seconds=retry_delay(row.attempts, result.retry_after))
    report.retry += PushMessage.objects.filter(_still_ours(row)).update(
        status=Status.PENDING,
        next_attempt_at=next_attempt_at,
        lease_until=None,
        last_error=result.error,
        updated_at=now,
    )


def _deactivate(row: PushMessage, error: str, report: DeliveryReport) -> None:
    with transaction.atomic():
        _finish_dead(row, error, report)
        changed = deactivate_device(row.device_id, reason="invalid_token")
    if changed:
        report.deactivated_devices.append(str(row.device_id))
        logger.info("device %s deactivated: %s", row.device_id, error)


def deactivate_device(device_id: UUID | str, *, reason: str) -> bool:
    """Stop pushing to a device and give up its queued pushes. False if already inactive.

    Call inside a transaction.
    """
    now = timezone.now()
    changed = Device.objects.filter(pk=device_id, is_active=True).update(
        is_active=False, deactivated_reason=reason[:64], updated_at=now
    )
    retire_pending_pushes(device_id, f"device deactivated: {reason}")
    return bool(changed)


def retire_pending_pushes(device_id: UUID | str, reason: str) -> int:
    """Mark the device's queued pushes dead, so they never reach whoever uses it next."""
    return PushMessage.objects.filter(device_id=device_id, status=Status.PENDING).update(
        status=Status.DEAD, last_error=reason, updated_at=timezone.now()
    )


# -- SMS fallback ------------------------------------------------------------------------------


def _sms_due(now: datetime) -> Q:
    return Q(status=SmsMessage.Status.PENDING) | Q(
        status=SmsMessage.Status.SENDING, lease_until__lt=now
    )


def claim_sms(ids: Iterable[str] | None = None, *, limit: int = SMS_BATCH_SIZE) -> list[SmsMessage]:
    """Take up to `limit` due SMS rows, like `claim` does for pushes; commits before returning."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.PUSH_LEASE_SECONDS)
    with transaction.atomic():
        candidates = SmsMessage.objects.select_for_update(skip_locked=True).filter(_sms_due(now))
        if ids is not None:
            candidates = candidates.filter(id__in=list(ids))
        candidate_ids = list(candidates.order_by("created_at").values_list("id", flat=True)[:limit])
        if not candidate_ids:
            return []
        SmsMessage.objects.filter(_sms_due(now), id__in=candidate_ids).update(
            status=SmsMessage.Status.SENDING,
            lease_until=lease_until,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        return list(
            SmsMessage.objects.filter(
                id__in=candidate_ids, status=SmsMessage.Status.SENDING, lease_until=lease_until
            ).order_by("created_at")
        )


def deliver_sms(ids: Iterable[str] | None = None) -> int:
    """Send one batch of due SMS rows (among `ids` when given); returns how many were sent.

    A temporary failure (a `retry` result, a backend that raised) puts the row back to
    `pending` for the sweep, until its `SMS_MAX_ATTEMPTS`th attempt: then it is `failed`.
    """
    sent = 0
    for row in claim_sms(ids):
        if row.lease_until and timezone.now() >= row.lease_until:
            # The sends before it took the whole lease (a gateway timing out, retried): the
            # sweep may have claimed this row again, and both would send it.
            continue
        try:
            result = sms.send_sms(row.phone, row.text)
        except Exception as exc:
            logger.warning("sms %s failed: %r", row.pk, exc)
            SMS.labels("error").inc()
            _sms_later(row, repr(exc))
            continue
        SMS.labels(str(result.outcome)).inc()
        if result.is_sent:
            sent += _record_sms(row, SmsMessage.Status.SENT, sent_at=timezone.now())
        elif result.outcome == sms.SmsOutcome.RETRY:
            _sms_later(row, result.error)
        else:
            _record_sms(row, SmsMessage.Status.FAILED, last_error=result.error)
    return sent


def _sms_later(row: SmsMessage, error: str) -> None:
    gave_up = row.attempts >= SMS_MAX_ATTEMPTS
    if gave_up:
        SMS.labels("gave_up").inc()
        logger.warning("sms %s failed after %d attempts: %s", row.pk, row.attempts, error)
    status = SmsMessage.Status.FAILED if gave_up else SmsMessage.Status.PENDING
    _record_sms(row, status, last_error=error[:2000])


def _record_sms(row: SmsMessage, status: str, **fields: Any) -> int:
    """Write the outcome of a claimed row, unless another worker has reclaimed it since."""
    # A code stays valid for minutes after its SMS went out: whoever reads this table (the
    # admin, a backup) must not find it there. Nothing needs the row's text once it is done.
    if status != SmsMessage.Status.PENDING and row.kind.startswith(ONE_TIME_CODE_KIND_PREFIX):
        fields["text"] = mask_codes(row.text)
    now = timezone.now()
    return SmsMessage.objects.filter(
        pk=row.pk, status=SmsMessage.Status.SENDING, lease_until=row.lease_until
    ).update(status=status, lease_until=None, updated_at=now, **fields)


def mask_codes(text: str) -> str:
    """`text` with every run of 4 or more digits replaced by as many `•`."""
    return _CODE_DIGITS.sub(lambda match: "•" * len(match[0]), text)


# The Celery tasks of delivery live beside their work, so that `outbox` can publish them
# without importing `notifications.tasks` (which imports everything). Their names stay
# `notifications.tasks.*`: messages already queued and the beat schedule use them.


# acks_late: a worker killed mid-send leaves the message on the broker for another worker;
# the rows' lease stops the two from sending the same push twice in the meantime.
@shared_task(name="notifications.tasks.deliver_pushes", acks_late=True, ignore_result=True)
def deliver_pushes_task(ids: list[str]) -> int:
    """Send the given outbox rows now (those still due), then whatever else is due.

    Under load every commit queues one of these tasks for a row or two: draining what else
    is due sends hundreds per FCM call, and the tasks queued behind find their rows done
    (one empty claim each). Returns how many were sent.
    """
    sent = deliver_ids(list(ids)).sent
    return sent + sweep(max_batches=DRAIN_MAX_BATCHES).sent


@shared_task(name="notifications.tasks.deliver_sms", acks_late=True, ignore_result=True)
def deliver_sms_task(ids: list[str]) -> int:
    """Send the given SMS rows now (those still due); returns how many were sent."""
    return deliver_sms(list(ids))
