"""Logs an operator can follow: one JSON object per line, one request id from the request
through the Celery task it caused and the HTTP calls made for it, and no phone numbers or
tokens in the clear."""

import io
import json
import logging
import re

import httpx
import pytest

from common import logs, request_id
from notifications import sms
from notifications.models import PushMessage
from tests.conftest import client_for
from tests.live import RedisServer, Worker, amqp_broker_url, needs_postgres, publishing_to, wait_for

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


@pytest.fixture
def json_lines():
    """What the `request` logger and the project's loggers write, as the JSON formatter
    writes it in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("request", "notifications")]
    for logger in loggers:
        logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_logs_one_json_line_with_its_id_route_status_user_and_duration(
    citizen_a, json_lines
):
    response = client_for(citizen_a).get(
        "/api/v1/notifications/", headers={"X-Request-ID": "phone-4f1c-0001"}
    )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "phone-4f1c-0001"
    lines = [line for line in json_lines() if line["logger"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "phone-4f1c-0001"
    assert (line["route"], line["method"], line["status"]) == ("notification-list", "GET", 200)
    assert line["user_id"] == str(citizen_a.pk)
    assert line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")


@pytest.mark.django_db
@pytest.mark.parametrize("sent", [None, "", "has spaces in it", "x" * 200, "ünicode"])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_fresh_one(api, json_lines, sent):
    headers = {"X-Request-ID": sent} if sent is not None else {}

    response = api.get("/health/live", headers=headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert json_lines()[-1]["request_id"] == response["X-Request-ID"]
    assert api.get("/health/live")["X-Request-ID"] != response["X-Request-ID"]


def test_phone_numbers_and_tokens_never_reach_a_log_line():
    record = logging.LogRecord(
        "notifications.sms",
        logging.INFO,
        __file__,
        1,
        "sms to %s (%s) with Authorization: Bearer %s, jwt %s, device %s",
        (
            "+84912345678",
            "0912 345 678",
            "sk-live-abcdef0123456789",
            "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl",
            "dGVzdC1kZXZpY2UtdG9rZW4:" + "A" * 140,
        ),
        None,
    )
    record.phone = "+84900000001"

    line = json.loads(logs.JsonFormatter().format(record))

    text = json.dumps(line)
    for secret in ("912345678", "912 345", "sk-live", "eyJ1c2Vy", "AAAAAAAAAA", "900000001"):
        assert secret not in text
    assert "678" in line["message"] and line["phone"].endswith("001")
    # Dates and ids stay readable.
    assert logs.mask("at 2026-12-07 07:46:46 id 7b0e1b9e-8a52-4a0e") == (
        "at 2026-12-07 07:46:46 id 7b0e1b9e-8a52-4a0e"
    )


def test_sentry_events_are_scrubbed():
    event = {
        "message": "sms to +84912345678 failed",
        "request": {
            "headers": {"Authorization": "Bearer abc.def.ghi", "User-Agent": "app/1.0"},
            "data": {"password": "Suoi-Trong#2027"},
            "cookies": {"sessionid": "x"},
        },
        "exception": {"values": [{"value": "no device for 0912345678"}]},
    }

    with request_id.bound("req-77"):
        scrubbed = logs.scrub_sentry_event(event, {})

    assert "912345678" not in json.dumps(scrubbed)
    assert scrubbed["request"]["headers"]["Authorization"] == "[Filtered]"
    assert "data" not in scrubbed["request"] and "cookies" not in scrubbed["request"]
    assert scrubbed["tags"]["request_id"] == "req-77"


def test_the_sms_gateway_is_told_the_request_id(settings, monkeypatch):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = "http://sms-gateway.invalid/send"
    settings.SMS_HTTP_TOKEN = "gateway-token"
    seen = []

    def answer(request):
        seen.append(request.headers.get("X-Request-ID"))
        return httpx.Response(200, json={"id": "m-1"})

    real_client = httpx.Client
    monkeypatch.setattr(
        httpx, "Client", lambda **kwargs: real_client(transport=httpx.MockTransport(answer))
    )

    with request_id.bound("req-sms-42"):
        assert sms.send_sms("+84912345678", "Mã xác nhận: 123456").is_sent
    assert sms.send_sms("+84912345678", "Xin chào").is_sent

    assert seen == ["req-sms-42", None]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_celery_task_a_request_caused_logs_the_same_request_id(
    citizen_a, settings, tmp_path, json_lines
):
    needs_postgres()
    redis = None
    broker = amqp_broker_url()
    if not broker:
        redis = RedisServer(tmp_path)
        redis.start()
        broker = redis.url
    worker = Worker(
        broker,
        "http://127.0.0.1:9",
        tmp_path / "worker.log",
        PUSH_BACKEND="log",
        LOG_FORMAT="json",
    )
    worker.start()
    try:
        with publishing_to(broker, settings):
            client = client_for(citizen_a)
            client.post("/api/v1/devices/", {"token": "log-test-token-1", "platform": "android"})
            body = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
            response = client.post(
                "/api/v1/requests/",
                body,
                format="json",
                headers={"X-Request-ID": "req-dossier-0042"},
            )
            assert response.status_code == 201, response.content
            wait_for(lambda: PushMessage.objects.filter(status="sent").exists(), 30, "the push")
    finally:
        worker.stop()
        if redis is not None:
            redis.stop()

    request_lines = [line for line in json_lines() if line["logger"] == "request"]
    assert [line["request_id"] for line in request_lines if line["route"] == "requests"] == [
        "req-dossier-0042"
    ]
    worker_lines = [
        json.loads(line)
        for line in (tmp_path / "worker.log").read_text().splitlines()
        if line.startswith("{")
    ]
    pushes = [line for line in worker_lines if line["logger"] == "notifications.push"]
    assert pushes, "the worker logged no push"
    assert {line["request_id"] for line in pushes} == {"req-dossier-0042"}
