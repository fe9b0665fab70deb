"""The whole pipeline once, as a phone and an officer would drive it.

A real Celery worker on real Redis and the project's fake FCM server, both in their own
processes; the API served by Django's live server on PostgreSQL. The officer's `receive`
must reach the phone as an FCM HTTP v1 message with the right token, title and data.
"""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from notifications.models import PushMessage
from tests.live import Worker, free_port, publishing_to, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def real_services():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs Redis (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis at {redis_url} is not reachable")
    return redis_url


@pytest.fixture
def fake_fcm(real_services, tmp_path):
    port = free_port()
    log = open(tmp_path / "fake_fcm.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.fake_fcm", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return http("GET", f"{base}/_fake/messages")[0] == 200
        except OSError:
            return False

    try:
        wait_for(up, 15, "the fake FCM server")
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def worker(real_services, fake_fcm, settings, tmp_path):
    process = Worker(real_services, fake_fcm, tmp_path / "worker.log")
    with publishing_to(real_services, settings):
        process.start()
        try:
            yield process
        finally:
            process.stop()


def test_officer_receive_reaches_the_phone_through_fcm(
    live_server, world, citizen_a, officer_commune, fake_fcm, worker
):
    api = f"{live_server.url}/api/v1"

    status, tokens = http(
        "POST", f"{api}/auth/token/", {"phone": "0900 000 001", "password": "DemoPass#2026"}
    )
    assert status == 200, tokens
    phone = tokens["access"]
    status, _ = http(
        "POST",
        f"{api}/devices/",
        {"token": "fcm-token-of-mai", "platform": "android", "app_version": "1.0.0"},
        phone,
    )
    assert status == 201

    status, dossier = http(
        "POST",
        f"{api}/requests/",
        {
            "service": "birth-registration",
            "administrative_unit": 2266,
            "form_data": {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}},
        },
        phone,
    )
    assert status == 201, dossier

    status, tokens = http(
        "POST", f"{api}/auth/token/", {"phone": "+84900000101", "password": "DemoPass#2026"}
    )
    status, received = http(
        "POST",
        f"{api}/requests/{dossier['id']}/transitions/",
        {"action": "receive"},
        tokens["access"],
    )
    assert status == 200, received
    assert received["status"] == "received"

    def pushes():
        messages = http("GET", f"{fake_fcm}/_fake/messages")[1]
        return [m for m in messages if m["message"]["data"].get("status") == "received"]

    message = wait_for(pushes, 30, "the push of `received`")[0]["message"]
    assert message.get("token", message.get("fid")) == "fcm-token-of-mai"
    assert (
        dossier["tracking_code"]
        in message["notification"]["title"] + message["notification"]["body"]
    )
    assert message["data"] == {
        "type": "service_request",
        "id": dossier["id"],
        "status": "received",
        "tracking_code": dossier["tracking_code"],
    }
    assert message["android"]["priority"] == "high"

    wait_for(
        lambda: not PushMessage.objects.exclude(status=PushMessage.Status.SENT).exists(),
        15,
        "every outbox row to be marked sent",
    )
    status, inbox = http("GET", f"{api}/notifications/", token=phone)
    assert status == 200
    assert {n["kind"] for n in inbox["results"]} == {
        "service_request.submitted",
        "service_request.received",
    }
