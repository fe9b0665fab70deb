"""Nothing the API must answer lives only in Redis or behind the broker.

A broker that cannot be reached leaves pushes pending for the sweep; a Redis that dies under
the cache and the throttles turns them into no-ops. Either way every call still succeeds.
"""

import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis
from django.core.cache import cache

from common.models import IdempotencyRecord
from config.celery import app as celery_app
from notifications import delivery, push
from notifications.models import Device, PushMessage
from services.models import ServiceRequest
from tests.accounts.helpers import register_code
from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
DOSSIER = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_broker_outage_never_fails_a_create_and_the_sweep_delivers_later(
    world,
    citizen_a,
    settings,
    monkeypatch,
    caplog,
    django_capture_on_commit_callbacks,
    client,
    request,
):
    device = Device.objects.create(user=citizen_a, token="fcm-token-broker:APA91b", platform="ios")
    # Restored by hand, with the value read before the Django setting changes: Celery reads
    # that setting live, and monkeypatch's undo would pin the test's `False` for later tests.
    eager = celery_app.conf.task_always_eager
    request.addfinalizer(lambda: celery_app.conf.update(task_always_eager=eager))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.update(task_always_eager=False)
    monkeypatch.setitem(celery_app.conf, "broker_url", CLOSED_PORT_BROKER)
    # Celery keeps its connection pools once made; start from none, so they use the URL above.
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(citizen_a).post("/api/v1/requests/", DOSSIER, format="json")
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.json()
    assert len(callbacks) == 1  # the publish was attempted after commit, and failed
    assert "the sweep will send them" in caplog.text
    assert elapsed < settings.CELERY_PUBLISH_TIMEOUT + 3
    row = PushMessage.objects.get()
    assert (row.status, row.device_id) == (PushMessage.Status.PENDING, device.pk)
    assert push.memory_messages() == []
    assert client.get("/health/ready").status_code == 503

    report = delivery.sweep()

    assert report.sent == 1
    row.refresh_from_db()
    assert row.status == PushMessage.Status.SENT
    [sent] = push.memory_messages()
    assert sent.token == device.token
    assert sent.data["tracking_code"] == response.json()["tracking_code"]


@pytest.fixture
def redis_server():
    """A private `redis-server` on a spare port; stopped (if still running) afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server on PATH")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    try:
        yield process, port, client
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def stop(process) -> None:
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_cache(redis_server, settings):
    process, port, client = redis_server
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return process, client


def login(api, phone, password=PASSWORD):
    return api.post("/api/v1/auth/token/", {"phone": phone, "password": password}, format="json")


@pytest.mark.redis
def test_every_api_call_succeeds_after_redis_dies(
    redis_cache, world, citizen_a, citizen_b, api, django_capture_on_commit_callbacks
):
    process, redis_client = redis_cache

    # With Redis up, login failures count there: a phone tried four times with a wrong
    # password from one address is held back.
    for _ in range(4):
        assert login(api, citizen_b.phone, "wrong-password").status_code == 401
    assert login(api, citizen_b.phone).status_code == 429
    assert redis_client.keys("*failures:login*")
    assert login(api, citizen_a.phone).status_code == 200
    created = client_for(citizen_a).post("/api/v1/requests/", DOSSIER, format="json")
    assert created.status_code == 201
    assert cache.get("no-such-key", "default") == "default"

    stop(process)
    with pytest.raises(redis.ConnectionError):
        redis_client.ping()

    started = time.monotonic()
    # Throttles fail open: the phone held back a moment ago may log in now.
    tokens = login(api, citizen_b.phone)
    assert tokens.status_code == 200, tokens.json()
    assert login(api, citizen_a.phone).status_code == 200
    refreshed = api.post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens.json()["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    registered = api.post(
        "/api/v1/auth/register/",
        {
            "phone": "0912 345 678",
            "password": "Nuong-Rau-2026!",
            "full_name": "Lò Thị Xuân",
            "otp": register_code("0912 345 678"),
        },
        format="json",
    )
    assert registered.status_code == 201, registered.json()

    me = client_for(citizen_a)
    assert me.get("/api/v1/me/").status_code == 200
    assert me.patch("/api/v1/me/", {"full_name": "Hoàng Thị Mai"}, format="json").status_code == 200
    assert api.get("/api/v1/services/").status_code == 200
    assert api.get("/api/v1/services/birth-registration/").status_code == 200
    assert api.get("/api/v1/service-categories/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        second = me.post("/api/v1/requests/", DOSSIER, format="json")
    assert second.status_code == 201
    key = {"Idempotency-Key": str(uuid.uuid4())}
    keyed = me.post("/api/v1/requests/", DOSSIER, format="json", headers=key)
    replayed = me.post("/api/v1/requests/", DOSSIER, format="json", headers=key)
    assert (keyed.status_code, replayed.status_code) == (201, 201)
    assert replayed["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.count() == 1
    assert me.get("/api/v1/requests/").status_code == 200
    assert me.get(f"/api/v1/requests/{second.json()['id']}/").status_code == 200
    lookup = api.get(
        "/api/v1/requests/lookup/",
        {"tracking_code": second.json()["tracking_code"], "phone_last4": citizen_a.phone[-4:]},
    )
    assert lookup.status_code == 200

    device = {"token": "fcm-token-redis-down:APA91b", "platform": "android"}
    assert me.post("/api/v1/devices/", device, format="json").status_code == 201
    assert me.get("/api/v1/notifications/").status_code == 200
    assert me.get("/api/v1/notifications/unread-count/").status_code == 200
    assert me.post("/api/v1/notifications/read-all/").status_code == 204
    assert me.delete(f"/api/v1/devices/{device['token']}/").status_code == 204
    assert ServiceRequest.objects.count() == 3
    # Failing open must also be fast: each call gives up on Redis at once, not after retries.
    assert time.monotonic() - started < 15


def test_every_cache_operation_fails_open_on_an_unreachable_redis():
    """No method of the cache raises when Redis cannot be reached (port 9 is closed)."""
    from common.cache import FailOpenRedisCache

    dead = FailOpenRedisCache(
        "redis://127.0.0.1:9/0",
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
    )
    assert dead.get("k", "default") == "default"
    dead.set("k", 1)
    assert dead.add("k", 1) is False
    assert dead.delete("k") is False
    dead.delete_many(["a", "b"])
    assert dead.get_many(["a"]) == {}
    assert dead.set_many({"a": 1}) == ["a"]
    assert dead.incr("k") == 1
    assert dead.count_in_window("k", 60) == 0
    dead.clear()


@pytest.mark.redis
def test_a_window_count_lives_in_redis_and_expires_with_its_window(redis_cache):
    from django.core.cache import caches

    _process, redis_client = redis_cache
    live = caches["default"]
    assert live.count_in_window("window", 60) == 1
    assert live.count_in_window("window", 60) == 2
    key = live.make_and_validate_key("window")
    assert int(redis_client.get(key)) == 2
    assert 0 < redis_client.ttl(key) <= 60
