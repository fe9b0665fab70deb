"""Issue 7's proofs with real processes: a Celery worker on its own redis-server, sending
through firebase-admin to the project's fake FCM server, on PostgreSQL.

- delivery: a dossier transition yields exactly one message per active device; UNREGISTERED
  deactivates the device; a 503 or a 429 followed by success is retried and delivered once;
- faults: the worker SIGKILLed in the middle of 1,000 messages and restarted; Redis stopped
  while 200 dossiers are submitted through the API, then started again.
"""

import contextlib
import re

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.delivery import sweep
from notifications.models import Device, Notification, PushMessage
from notifications.outbox import notify
from notifications.tasks import sweep_outbox
from services.actions import submit_request, transition_request
from tests.live import (
    RedisServer,
    Worker,
    amqp_broker_url,
    needs_postgres,
    publishing_to,
    purge_queues,
    wait_for,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

CONTEXT = {"tracking_code": "DV-7K3M-9QX2-H", "agency_name": "UBND xã Lâm Bình"}


def _notify(user, object_id="5b0a"):
    with transaction.atomic():
        return notify(
            user,
            "service_request.received",
            CONTEXT,
            data={"type": "service_request", "id": object_id, "status": "received"},
            collapse_key=f"service_request-{object_id}",
        )


def _tokens(fake) -> list[str]:
    return [m["message"].get("token") or m["message"].get("fid") for m in fake.messages]


@pytest.fixture
def redis_server(tmp_path):
    needs_postgres()
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_fcm_server):
    fake_fcm_server.clear()
    yield fake_fcm_server
    fake_fcm_server.clear()


@pytest.fixture
def broker_url(request):
    """RabbitMQ when CELERY_BROKER_URL names one (CI runs these tests on both), else a
    private redis-server of this test."""
    url = amqp_broker_url()
    if url:
        needs_postgres()
        purge_queues(url)
        return url
    return request.getfixturevalue("redis_server").url


def _worker(broker_url, fake, tmp_path, **env):
    return Worker(broker_url, fake.base_url, tmp_path / "worker.log", **env)


@pytest.fixture
def worker(broker_url, fake, tmp_path, settings):
    process = _worker(broker_url, fake, tmp_path)
    process.start()
    with publishing_to(broker_url, settings):
        yield process
    process.stop()


def _pushes_of(fake, dossier, status) -> list[str]:
    """The tokens the fake FCM server was sent for `dossier` entering `status`."""
    return [
        m["message"].get("token") or m["message"].get("fid")
        for m in fake.messages
        if m["message"].get("data", {}).get("id") == str(dossier.pk)
        and m["message"]["data"].get("status") == status
    ]


def test_a_transition_reaches_each_active_device_exactly_once(
    world, citizen_a, officer_commune, make_device, fake, fake_fcm, worker
):
    # `fake_fcm` points this process's own sends (the sweep below) at the same fake server.
    phone = make_device(citizen_a)
    tablet = make_device(citizen_a, platform="ios")
    old_phone = make_device(citizen_a, is_active=False)
    active = sorted([phone.token, tablet.token])

    dossier, created = submit_request(
        applicant=citizen_a,
        service=world["service"],
        commune=world["lam_binh"],
        form_data={"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}},
    )
    assert created
    dossier = transition_request(officer_commune, dossier, "receive")
    assert dossier.status == "received"

    wait_for(lambda: len(_pushes_of(fake, dossier, "received")) >= 2, 30, "the received pushes")
    received = Notification.objects.get(user=citizen_a, kind="service_request.received")
    rows = PushMessage.objects.filter(notification=received)
    # The worker records the outcome just after the fake server answered.
    wait_for(lambda: not rows.exclude(status="sent").exists(), 10, "the rows to be recorded")
    assert sorted(rows.values_list("token", flat=True)) == active
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert not PushMessage.objects.filter(device=old_phone).exists()

    # A sweep afterwards (as beat would run it), here and in the worker, finds nothing due.
    wait_for(
        lambda: not PushMessage.objects.exclude(status="sent").exists(), 10, "the submitted pushes"
    )
    assert sweep().claimed == 0
    sweep_outbox.delay()
    wait_for(
        lambda: re.search(r"sweep_outbox\[[^]]+\] succeeded", worker.log_path.read_text()),
        10,
        "the worker's sweep to run",
    )

    assert sorted(_pushes_of(fake, dossier, "received")) == active  # each once, no duplicate
    assert sorted(_pushes_of(fake, dossier, "submitted")) == active
    assert len(fake.messages) == 4
    assert old_phone.token not in _tokens(fake)
    assert rows.count() == 2 and set(rows.values_list("status", flat=True)) == {"sent"}
    assert set(rows.values_list("attempts", flat=True)) == {1}


def test_an_unregistered_token_deactivates_its_device(citizen_a, make_device, fake, worker):
    gone = make_device(citizen_a)
    alive = make_device(citizen_a)
    fake.configure({gone.token: {"error": "UNREGISTERED"}})

    _notify(citizen_a)

    wait_for(
        lambda: not Device.objects.get(pk=gone.pk).is_active, 30, "the device to be deactivated"
    )
    gone.refresh_from_db()
    assert gone.deactivated_reason == "invalid_token"
    row = PushMessage.objects.get(device=gone)
    assert row.status == "dead" and "Unregistered" in row.last_error
    wait_for(lambda: PushMessage.objects.get(device=alive).status == "sent", 10, "the other push")
    assert _tokens(fake) == [alive.token]
    # Never tried again, and never pushed to again.
    _notify(citizen_a, "6c1b")
    wait_for(lambda: len(_tokens(fake)) == 2, 10, "the second push")
    assert _tokens(fake) == [alive.token, alive.token]
    assert PushMessage.objects.filter(device=gone).count() == 1


def test_a_503_then_success_is_delivered_once(citizen_a, make_device, fake, worker):
    device = make_device(citizen_a)
    fake.configure({device.token: {"error": "UNAVAILABLE", "times": 1}})

    _notify(citizen_a)

    wait_for(lambda: PushMessage.objects.get().status == "sent", 30, "the push to be sent")
    assert _tokens(fake) == [device.token]


def test_a_429_is_retried_by_the_outbox_and_delivered_once(citizen_a, make_device, fake, worker):
    device = make_device(citizen_a)
    fake.configure({device.token: {"error": "QUOTA", "retry_after": 1, "times": 1}})

    _notify(citizen_a)

    row = wait_for(
        lambda: PushMessage.objects.filter(status="pending", attempts=1).first(),
        30,
        "the push to be scheduled for a retry",
    )
    assert "QuotaExceeded" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert _tokens(fake) == []
    # Time passes (the backoff is at least 15 s); the beat sweep sends it.
    PushMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    sweep_outbox.delay()

    wait_for(lambda: PushMessage.objects.get().status == "sent", 30, "the retry to be sent")
    row.refresh_from_db()
    assert row.attempts == 2 and row.last_error == ""
    assert _tokens(fake) == [device.token]


# -- faults -----------------------------------------------------------------------------------


def test_a_worker_killed_mid_batch_loses_nothing(citizen_a, fake, broker_url, tmp_path, settings):
    devices = Device.objects.bulk_create(
        Device(
            user=citizen_a,
            token=f"kill-test-{i:04d}",
            platform="android",
            last_seen_at=timezone.now(),
        )
        for i in range(1000)
    )
    tokens = {d.token for d in devices}
    # Slow enough that the kill lands in the middle of the first 500-message batch.
    fake.configure({"latency_ms": 50})
    worker = _worker(broker_url, fake, tmp_path, PUSH_LEASE_SECONDS="3")
    worker.start()
    with publishing_to(broker_url, settings):
        try:
            _notify(citizen_a)
            wait_for(lambda: len(fake.messages) >= 100, 30, "the first pushes to arrive")
            worker.kill()
            received_before_kill = len(fake.messages)
            assert received_before_kill < 1000
            assert PushMessage.objects.filter(status="sent").count() < 1000

            worker.start()
            fake.configure({"latency_ms": 0})

            def all_sent():
                # What beat does every minute: here every second, the leases being 3 s.
                if PushMessage.objects.exclude(status="sent").exists():
                    sweep_outbox.delay()
                    return False
                return True

            wait_for(lambda: all_sent() or _pause(1.0), 45, "every push to be sent")
        finally:
            worker.stop()

    received = _tokens(fake)
    assert set(received) == tokens  # none lost
    assert PushMessage.objects.filter(status="sent").count() == 1000
    assert not PushMessage.objects.filter(status="dead").exists()
    # At-least-once: the batch in flight at the kill may be sent again, nothing else.
    assert len(received) - 1000 <= 500


def _pause(seconds):
    import time

    time.sleep(seconds)
    return False


def test_with_redis_down_the_api_still_answers_and_the_sweep_delivers_later(
    live_server, world, citizen_a, make_device, fake, redis_server, tmp_path, settings
):
    from tests.test_end_to_end import http

    make_device(citizen_a, token="fcm-token-redis-test")
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.FailOpenRedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    # Redis as cache and broker: this test is about Redis going away.
    worker = _worker(redis_server.url, fake, tmp_path)
    worker.start()
    api = f"{live_server.url}/api/v1"
    with publishing_to(redis_server.url, settings):
        try:
            status, tokens = http(
                "POST",
                f"{api}/auth/token/",
                {"phone": citizen_a.phone, "password": "DemoPass#2026"},
            )
            assert status == 200, tokens
            access = tokens["access"]
            redis_server.stop()

            ids = []
            for i in range(200):
                status, body = http(
                    "POST",
                    f"{api}/requests/",
                    {
                        "service": world["service"].code,
                        "administrative_unit": 2266,
                        "form_data": {
                            "child": {"full_name": f"Hoàng Văn {i}", "birth_date": "2026-11-01"}
                        },
                    },
                    access,
                )
                assert status == 201, body
                ids.append(body["id"])
            assert PushMessage.objects.filter(status="pending").count() == 200
            assert fake.messages == []

            redis_server.start()  # same port: the worker reconnects

            def delivered():
                if PushMessage.objects.filter(status="sent").count() == 200:
                    return True
                # The worker and this process may still be reconnecting.
                with contextlib.suppress(Exception):
                    sweep_outbox.delay()
                return _pause(1.0)

            wait_for(delivered, 45, "the sweep to deliver all 200")
        finally:
            worker.stop()

    assert sorted(m["message"]["data"]["id"] for m in fake.messages) == sorted(ids)
