"""The fake SMS gateway's own HTTP contract (what the `http` backend and developers see)."""

import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from django.conf import settings as django_settings

from notifications.fake_sms import DEFAULT_TOKEN, FakeSmsServer

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
SMS = {"to": "+84912345678", "text": "Xin chào", "sender": "DichVuCong"}


@pytest.fixture(scope="module")
def fake_sms_server():
    with FakeSmsServer() as server:
        yield server


@pytest.fixture
def fake(fake_sms_server):
    fake_sms_server.clear()
    with httpx.Client(base_url=fake_sms_server.base_url, timeout=5) as client:
        yield client
    fake_sms_server.clear()


def _send(client, body=None, headers=None):
    return client.post("/send", json=SMS if body is None else body, headers=headers or AUTH)


def test_send_records_and_lists_messages(fake, fake_sms_server):
    response = _send(fake)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "accepted"
    uuid.UUID(answer["id"])

    [listed] = fake.get("/_fake/messages").json()
    assert listed["id"] == answer["id"]
    assert (listed["to"], listed["text"], listed["sender"]) == (
        "+84912345678",
        "Xin chào",
        "DichVuCong",
    )
    assert listed["received_at"]
    assert fake_sms_server.messages() == [listed]

    assert fake.delete("/_fake/messages").status_code == 204
    assert fake.get("/_fake/messages").json() == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Other": "1"}])
def test_a_wrong_or_missing_token_is_a_401(fake, headers):
    response = fake.post("/send", json=SMS, headers=headers)
    assert response.status_code == 401
    assert "token" in response.json()["error"]
    assert fake.get("/_fake/messages").json() == []


@pytest.mark.parametrize(
    "body", [{"text": "x"}, {"to": "+84912345678"}, {"to": "", "text": "x"}, ["to", "text"]]
)
def test_a_send_without_to_or_text_is_a_400(fake, body):
    response = _send(fake, body)
    assert response.status_code == 400
    assert fake.get("/_fake/messages").json() == []


def test_invalid_json_is_a_400(fake):
    response = fake.post("/send", content=b"{not json", headers=AUTH)
    assert response.status_code == 400


def test_failures_on_demand_count_down(fake):
    assert fake.post("/_fake/behaviours", json={"status": 503, "times": 2}).status_code == 204
    assert [_send(fake).status_code for _ in range(3)] == [503, 503, 200]
    assert len(fake.get("/_fake/messages").json()) == 1


def test_a_429_carries_retry_after(fake):
    fake.post("/_fake/behaviours", json={"status": 429, "retry_after": 1, "times": 1})
    response = _send(fake)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert _send(fake).status_code == 200


def test_without_times_a_failure_repeats_until_reset(fake):
    fake.post("/_fake/behaviours", json={"status": 500})
    assert [_send(fake).status_code for _ in range(3)] == [500, 500, 500]
    assert fake.delete("/_fake/behaviours").status_code == 204
    assert _send(fake).status_code == 200
    fake.post("/_fake/behaviours", json={"status": 502})
    fake.post("/_fake/behaviours", json={"status": None})
    assert _send(fake).status_code == 200


def test_the_token_is_checked_before_an_injected_failure(fake):
    fake.post("/_fake/behaviours", json={"status": 503, "times": 1})
    assert _send(fake, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert _send(fake).status_code == 503


def test_latency(fake):
    fake.post("/_fake/behaviours", json={"latency_ms": 150})
    started = time.monotonic()
    _send(fake)
    assert time.monotonic() - started >= 0.15
    fake.delete("/_fake/behaviours")
    started = time.monotonic()
    _send(fake)
    assert time.monotonic() - started < 0.15


@pytest.mark.parametrize("spec", [{"status": 200}, {"status": "soon"}, {"latency_ms": "x"}, [1]])
def test_a_bad_behaviour_is_refused_and_changes_nothing(fake, spec):
    assert fake.post("/_fake/behaviours", json=spec).status_code == 400
    assert _send(fake).status_code == 200


def test_an_unknown_path_is_a_404(fake):
    assert fake.get("/nope").status_code == 404
    assert fake.post("/nope", json={}).status_code == 404
    assert fake.delete("/nope").status_code == 404


def test_keeps_http11_connections_alive(fake):
    for _ in range(3):
        response = _send(fake)
        assert response.http_version == "HTTP/1.1"
        assert response.headers["content-length"] == str(len(response.content))
    assert len(fake.get("/_fake/messages").json()) == 3


def test_context_manager_starts_and_stops_on_a_free_port():
    with FakeSmsServer(token="other") as server:
        response = httpx.post(
            f"{server.base_url}/send", json=SMS, headers={"Authorization": "Bearer other"}
        )
        assert response.status_code == 200
        base_url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/_fake/messages", timeout=1)


def test_runs_as_a_module_with_its_own_token():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.fake_sms", "--port", str(port), "--token", "cli"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    try:
        assert f"listening on http://127.0.0.1:{port}/send" in process.stdout.readline()
        url = f"http://127.0.0.1:{port}/send"
        assert httpx.post(url, json=SMS, headers=AUTH).status_code == 401
        assert httpx.post(url, json=SMS, headers={"Authorization": "Bearer cli"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=5)
