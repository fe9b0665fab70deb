from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import delivery, push
from notifications.models import PushMessage
from notifications.outbox import notify
from notifications.push import PushOutcome
from notifications.tasks import deliver_pushes, sweep_outbox

Status = PushMessage.Status


def _queue(user, kind="service_request.received"):
    with transaction.atomic():
        notification = notify(
            user,
            kind,
            {"tracking_code": "DV-7K3M-9QX2-H", "agency_name": "UBND xã Lâm Bình"},
            data={"type": "service_request", "id": "1", "status": "received"},
            collapse_key="service_request-1",
        )
    return list(PushMessage.objects.filter(notification=notification).order_by("created_at"))


def _ids(rows):
    return [str(row.id) for row in rows]


@pytest.fixture
def no_jitter(monkeypatch):
    monkeypatch.setattr(delivery.random, "uniform", lambda low, high: high)


@pytest.mark.django_db
def test_claims_sends_and_records_sent(citizen_a, make_device):
    phone = make_device(citizen_a)
    [row] = _queue(citizen_a)

    assert deliver_pushes(_ids([row])) == 1

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.lease_until is None
    [sent] = push.memory_messages()
    assert sent.token == phone.token
    assert sent.title == "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận"
    assert sent.data["type"] == "service_request"


@pytest.mark.django_db
def test_a_claim_leases_the_rows(citizen_a, make_device, settings):
    make_device(citizen_a)
    [row] = _queue(citizen_a)
    before = timezone.now()

    [claimed] = delivery.claim(_ids([row]))

    assert claimed.id == row.id
    assert claimed.status == Status.SENDING
    assert claimed.attempts == 1
    lease = claimed.lease_until - before
    assert timedelta(seconds=settings.PUSH_LEASE_SECONDS - 5) < lease
    assert lease <= timedelta(seconds=settings.PUSH_LEASE_SECONDS + 5)
    # A second worker finds nothing to take.
    assert delivery.claim(_ids([row])) == []
    assert delivery.claim() == []


@pytest.mark.django_db
def test_rows_already_sent_are_not_sent_again(citizen_a, make_device):
    make_device(citizen_a)
    rows = _queue(citizen_a)
    deliver_pushes(_ids(rows))
    # A redelivered task message (acks_late) finds the rows done.
    assert deliver_pushes(_ids(rows)) == 0
    assert len(push.memory_messages()) == 1


@pytest.mark.django_db
def test_invalid_token_deactivates_the_device_and_never_retries(citizen_a, make_device):
    stale = make_device(citizen_a)
    fresh = make_device(citizen_a)
    push.memory_answer(stale.token, PushOutcome.INVALID_TOKEN, error="UnregisteredError")
    rows = _queue(citizen_a)

    report = delivery.deliver_ids(_ids(rows))

    assert (report.sent, report.dead, report.retry) == (1, 1, 0)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.is_active, stale.deactivated_reason) == (False, "invalid_token")
    assert fresh.is_active
    dead = PushMessage.objects.get(device=stale)
    assert dead.status == Status.DEAD
    assert dead.next_attempt_at is None
    assert "UnregisteredError" in dead.last_error
    # Nothing is due for the stale device any more, and new notifications skip it.
    assert sweep_outbox() == 0
    assert [p.device_id for p in _queue(citizen_a)] == [fresh.id]


@pytest.mark.django_db
def test_queued_pushes_of_a_deactivated_device_are_dropped(citizen_a, make_device):
    device = make_device(citizen_a)
    first = _queue(citizen_a)
    second = _queue(citizen_a)
    push.memory_answer(device.token, PushOutcome.INVALID_TOKEN)

    delivery.deliver_ids(_ids(first))

    [queued] = second
    queued.refresh_from_db()
    assert queued.status == Status.DEAD
    assert "device deactivated" in queued.last_error
    assert push.memory_messages() == []


@pytest.mark.django_db
def test_retry_uses_exponential_backoff(citizen_a, make_device, no_jitter):
    device = make_device(citizen_a)
    push.memory_answer(device.token, PushOutcome.RETRY, error="UnavailableError")
    [row] = _queue(citizen_a)

    before = timezone.now()
    delivery.deliver_ids(_ids([row]))

    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert row.last_error == "UnavailableError"
    assert row.lease_until is None
    wait = row.next_attempt_at - before
    assert timedelta(seconds=29) < wait < timedelta(seconds=32)
    # Not due yet: neither the task nor the sweep sends it early.
    assert deliver_pushes(_ids([row])) == 0
    assert sweep_outbox() == 0


@pytest.mark.parametrize(
    ("attempts", "retry_after", "low", "high"),
    [
        (1, None, 15, 30),
        (2, None, 30, 60),
        (4, None, 120, 240),
        (1, 300, 300, 300),  # Retry-After longer than the backoff wins
        (3, 10, 60, 120),  # ... and a shorter one does not shorten it
        (20, None, 1800, 3600),  # capped at an hour
    ],
)
def test_retry_delay_bounds(attempts, retry_after, low, high):
    for _ in range(50):
        assert low <= delivery.retry_delay(attempts, retry_after) <= high


@pytest.mark.django_db
def test_retry_honours_retry_after(citizen_a, make_device, no_jitter):
    device = make_device(citizen_a)
    push.memory_answer(device.token, PushOutcome.RETRY, error="QuotaExceededError", retry_after=900)
    [row] = _queue(citizen_a)

    before = timezone.now()
    delivery.deliver_ids(_ids([row]))

    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert timedelta(seconds=899) < row.next_attempt_at - before < timedelta(seconds=902)


@pytest.mark.django_db
def test_retries_end_dead_after_the_maximum_attempts(citizen_a, make_device, settings):
    settings.PUSH_MAX_ATTEMPTS = 3
    device = make_device(citizen_a)
    push.memory_answer(device.token, PushOutcome.RETRY, error="UnavailableError: 503")
    [row] = _queue(citizen_a)

    for attempt in range(1, 4):
        # Make the row due again, as time passing would.
        PushMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        sweep_outbox()
        row.refresh_from_db()
        assert row.attempts == attempt
        expected = Status.PENDING if attempt < 3 else Status.DEAD
        assert row.status == expected

    assert row.last_error == "UnavailableError: 503"
    assert sweep_outbox() == 0
    assert device.__class__.objects.get(pk=device.pk).is_active


@pytest.mark.django_db
def test_a_retry_that_then_succeeds_is_sent(citizen_a, make_device):
    device = make_device(citizen_a)
    push.memory_answer(device.token, PushOutcome.RETRY, times=1)
    [row] = _queue(citizen_a)
    delivery.deliver_ids(_ids([row]))
    PushMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())

    assert sweep_outbox() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")


@pytest.mark.django_db
def test_failed_message_is_dead_but_the_device_stays(citizen_a, make_device):
    device = make_device(citizen_a)
    push.memory_answer(device.token, PushOutcome.FAILED, error="InvalidArgumentError: payload")
    [row] = _queue(citizen_a)
    delivery.deliver_ids(_ids([row]))
    row.refresh_from_db()
    device.refresh_from_db()
    assert row.status == Status.DEAD
    assert device.is_active


@pytest.mark.django_db
def test_sweep_reclaims_an_expired_lease_but_not_a_fresh_one(citizen_a, make_device):
    make_device(citizen_a)
    make_device(citizen_a)
    crashed, busy = _queue(citizen_a)
    now = timezone.now()
    # One worker died after claiming (lease over); another is still sending (lease ahead).
    PushMessage.objects.filter(pk=crashed.pk).update(
        status=Status.SENDING, attempts=1, lease_until=now - timedelta(seconds=1)
    )
    PushMessage.objects.filter(pk=busy.pk).update(
        status=Status.SENDING, attempts=1, lease_until=now + timedelta(seconds=60)
    )

    assert sweep_outbox() == 1

    crashed.refresh_from_db()
    busy.refresh_from_db()
    assert (crashed.status, crashed.attempts) == (Status.SENT, 2)
    assert (busy.status, busy.attempts) == (Status.SENDING, 1)
    assert [m.token for m in push.memory_messages()] == [crashed.token]


@pytest.mark.django_db
def test_an_expired_lease_after_the_last_attempt_ends_dead(citizen_a, make_device, settings):
    settings.PUSH_MAX_ATTEMPTS = 2
    make_device(citizen_a)
    [row] = _queue(citizen_a)
    PushMessage.objects.filter(pk=row.pk).update(
        status=Status.SENDING,
        attempts=2,
        last_error="UnavailableError",
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    sweep_outbox()
    row.refresh_from_db()
    assert row.status == Status.DEAD
    assert row.last_error == "UnavailableError"
    assert push.memory_messages() == []


@pytest.mark.django_db
def test_a_late_worker_does_not_overwrite_the_reclaimed_row(citizen_a, make_device):
    make_device(citizen_a)
    [row] = _queue(citizen_a)
    [slow] = delivery.claim(_ids([row]))
    # The slow worker's lease runs out and the sweep sends the push.
    PushMessage.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    [fast] = delivery.claim()
    report = delivery.DeliveryReport()
    delivery.record_results([fast], [push.PushResult(PushOutcome.SENT)], report)

    delivery.record_results(
        [slow], [push.PushResult(PushOutcome.RETRY, "late timeout")], delivery.DeliveryReport()
    )

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.last_error == ""


@pytest.mark.django_db
def test_sweep_sends_everything_due_in_batches(citizen_a, make_device, monkeypatch):
    monkeypatch.setattr(delivery, "BATCH_SIZE", 2)
    for _ in range(5):
        make_device(citizen_a)
    _queue(citizen_a)
    PushMessage.objects.update(next_attempt_at=None)

    calls = []
    real_send = push.send

    def counting_send(messages):
        calls.append(len(messages))
        return real_send(messages)

    monkeypatch.setattr(push, "send", counting_send)

    assert sweep_outbox() == 5
    assert calls == [2, 2, 1]
    assert not PushMessage.objects.exclude(status=Status.SENT).exists()


@pytest.mark.django_db
def test_pushes_of_a_device_deactivated_after_queueing_are_not_sent(citizen_a, make_device):
    device = make_device(citizen_a)
    [row] = _queue(citizen_a)
    # Deactivated behind the outbox's back (not through deactivate_device).
    type(device).objects.filter(pk=device.pk).update(is_active=False)

    delivery.deliver_ids(_ids([row]))

    row.refresh_from_db()
    assert row.status == Status.DEAD
    assert push.memory_messages() == []


def test_tasks_are_the_ones_beat_and_outbox_name(settings):
    assert sweep_outbox.name == settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]["task"]
    assert deliver_pushes.name == "notifications.tasks.deliver_pushes"
    assert deliver_pushes.acks_late is True
