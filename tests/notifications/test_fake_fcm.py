"""The fake FCM server's own HTTP contract (what firebase-admin and developers see)."""

import socket
import subprocess
import sys
import time

import httpx
import pytest
from django.conf import settings as django_settings

from notifications.fake_fcm import FakeFCMServer


@pytest.fixture
def fake(fake_fcm_server):
    fake_fcm_server.clear()
    with httpx.Client(base_url=fake_fcm_server.base_url, timeout=5) as client:
        yield client
    fake_fcm_server.clear()


def _send(client, target_field="token", target="tok-1", project="demo"):
    return client.post(
        f"/v1/projects/{project}/messages:send",
        json={"message": {target_field: target, "notification": {"title": "T", "body": "B"}}},
    )


def test_send_records_and_lists_messages(fake):
    response = _send(fake, project="demo-x")
    assert response.status_code == 200
    assert response.json()["name"].startswith("projects/demo-x/messages/")

    listed = fake.get("/_fake/messages").json()
    assert len(listed) == 1
    assert listed[0]["project"] == "demo-x"
    assert listed[0]["message"]["token"] == "tok-1"
    assert listed[0]["received_at"]

    assert fake.delete("/_fake/messages").status_code == 204
    assert fake.get("/_fake/messages").json() == []


def test_accepts_the_target_as_fid(fake):
    assert _send(fake, target_field="fid", target="fid-1").status_code == 200
    assert fake.get("/_fake/messages").json()[0]["message"]["fid"] == "fid-1"


def test_a_message_without_target_is_a_400(fake):
    response = fake.post("/v1/projects/demo/messages:send", json={"message": {"data": {}}})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_validate_only_is_not_recorded(fake):
    response = fake.post(
        "/v1/projects/demo/messages:send",
        json={"message": {"token": "tok-1"}, "validate_only": True},
    )
    assert response.status_code == 200
    assert fake.get("/_fake/messages").json() == []


def test_unregistered_answers_like_fcm(fake):
    fake.post("/_fake/behaviours", json={"tok-1": {"error": "UNREGISTERED"}})
    response = _send(fake)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == 404
    assert error["status"] == "NOT_FOUND"
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": "UNREGISTERED",
        }
    ]
    assert fake.get("/_fake/messages").json() == []


def test_quota_has_retry_after_and_times_counts_down(fake):
    fake.post("/_fake/behaviours", json={"tok-1": {"error": "QUOTA", "retry_after": 5, "times": 2}})
    for _ in range(2):
        response = _send(fake)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "5"
        error = response.json()["error"]
        assert error["status"] == "RESOURCE_EXHAUSTED"
        assert error["details"][0]["errorCode"] == "QUOTA_EXCEEDED"
    assert _send(fake).status_code == 200


def test_unavailable_is_a_503_and_other_tokens_are_unaffected(fake):
    fake.post("/_fake/behaviours", json={"tok-1": {"error": "UNAVAILABLE"}})
    assert _send(fake).status_code == 503
    assert _send(fake).status_code == 503
    assert _send(fake, target="tok-2").status_code == 200


def test_latency(fake):
    fake.post("/_fake/behaviours", json={"latency_ms": 150})
    started = time.monotonic()
    _send(fake)
    assert time.monotonic() - started >= 0.15
    fake.delete("/_fake/behaviours")
    started = time.monotonic()
    _send(fake)
    assert time.monotonic() - started < 0.15


def test_bad_behaviour_is_refused(fake):
    assert fake.post("/_fake/behaviours", json={"tok-1": {"error": "NOPE"}}).status_code == 400


def test_keeps_http11_connections_alive(fake):
    # One client, several requests: each answer carries an exact Content-Length.
    for _ in range(3):
        response = _send(fake)
        assert response.http_version == "HTTP/1.1"
        assert response.headers["content-length"] == str(len(response.content))
    assert len(fake.get("/_fake/messages").json()) == 3


def test_context_manager_starts_and_stops_on_a_free_port():
    with FakeFCMServer() as server:
        assert httpx.get(f"{server.base_url}/_fake/messages").json() == []
        base_url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/_fake/messages", timeout=1)


def test_runs_as_a_module():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.fake_fcm", "--port", str(port), "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    try:
        assert "listening" in process.stdout.readline()
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/projects/demo/messages:send",
            json={"message": {"token": "tok-cli"}},
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_accepts_a_chunked_body(fake):
    def body():
        yield b'{"message": {"token": '
        yield b'"tok-chunked"}}'

    response = fake.post("/v1/projects/demo/messages:send", content=body())
    assert response.status_code == 200
    assert fake.get("/_fake/messages").json()[0]["message"]["token"] == "tok-chunked"
