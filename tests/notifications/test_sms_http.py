"""The `http` SMS backend against the fake gateway, and the SMS outbox around it."""

import json
import runpy
import socket
from datetime import timedelta

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from config.settings import check_sms_backend
from notifications import sms
from notifications.delivery import SMS_MAX_ATTEMPTS, deliver_sms, mask_codes
from notifications.fake_sms import FakeSmsServer
from notifications.models import SmsMessage
from notifications.outbox import queue_sms
from notifications.sms import SmsOutcome, send_sms
from notifications.tasks import sweep_outbox

PHONE = "+84912345678"
TOKEN = "test-sms-token"
SETTINGS_FILE = str(django_settings.BASE_DIR / "config" / "settings.py")
OTP_TEXT = "Ma xac thuc cua ban: 482913. Het han sau 10 phut."


@pytest.fixture(scope="module")
def fake_sms_server():
    with FakeSmsServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def waits(monkeypatch):
    """The waits between tries, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(sms, "_sleep", slept.append)
    return slept


@pytest.fixture
def gateway(fake_sms_server, settings, waits):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"{fake_sms_server.base_url}/send"
    settings.SMS_HTTP_TOKEN = TOKEN
    settings.SMS_SENDER = "DichVuCong"
    settings.SMS_HTTP_TIMEOUT = 2.0
    settings.SMS_HTTP_RETRIES = 2
    fake_sms_server.clear()
    yield fake_sms_server
    fake_sms_server.clear()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the backend -----------------------------------------------------------------------------


def test_sent_with_the_gateways_id_a_bearer_token_and_the_json_body(gateway, monkeypatch, waits):
    requests: list[httpx.Request] = []
    original_send = httpx.Client.send

    def spy(self, request, **kwargs):
        requests.append(request)
        return original_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spy)

    result = send_sms(PHONE, "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận")

    assert result.outcome == SmsOutcome.SENT and result.error == ""
    [received] = gateway.messages()
    assert result.message_id == received["id"] != ""
    assert (received["to"], received["text"], received["sender"]) == (
        PHONE,
        "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận",
        "DichVuCong",
    )
    [request] = requests
    assert request.method == "POST"
    assert str(request.url) == f"{gateway.base_url}/send"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "to": PHONE,
        "text": "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận",
        "sender": "DichVuCong",
    }
    assert waits == []


def test_the_sender_is_a_setting(gateway, settings):
    settings.SMS_SENDER = "UBND-LamBinh"
    assert send_sms(PHONE, "Xin chao").is_sent
    assert gateway.messages()[0]["sender"] == "UBND-LamBinh"


def test_a_wrong_token_is_a_refusal_not_retried(gateway, settings, waits):
    settings.SMS_HTTP_TOKEN = "not-the-token"

    result = send_sms(PHONE, "Xin chao")

    assert result.outcome == SmsOutcome.FAILED
    assert result.error.startswith("HTTP 401: ")
    assert "bearer token" in result.error
    assert gateway.messages() == []
    assert waits == []


def test_another_4xx_is_a_refusal_with_the_start_of_the_body(gateway, waits):
    gateway.configure({"status": 400, "times": 1})

    result = send_sms(PHONE, "Xin chao")

    assert (result.outcome, result.error) == (
        SmsOutcome.FAILED,
        'HTTP 400: {"error": "injected failure"}',
    )
    assert waits == []
    assert send_sms(PHONE, "Xin chao").is_sent  # it was tried once only


def test_503_twice_then_sent_after_backing_off(gateway, waits):
    gateway.configure({"status": 503, "times": 2})

    result = send_sms(PHONE, "Xin chao")

    assert result.outcome == SmsOutcome.SENT
    assert waits == [0.5, 1.0]
    assert len(gateway.messages()) == 1


@pytest.mark.parametrize(("retry_after", "wait"), [(3, 3.0), (60, 5.0)])
def test_a_429_waits_as_long_as_retry_after_says_up_to_five_seconds(
    gateway, waits, retry_after, wait
):
    gateway.configure({"status": 429, "retry_after": retry_after, "times": 1})

    assert send_sms(PHONE, "Xin chao").is_sent
    assert waits == [wait]


def test_a_persistent_503_is_a_retry_result_after_every_try(gateway, settings, waits):
    settings.SMS_HTTP_RETRIES = 3
    gateway.configure({"status": 503, "times": 4})

    result = send_sms(PHONE, "Xin chao")

    assert result.outcome == SmsOutcome.RETRY and not result.is_sent
    assert result.error == 'HTTP 503: {"error": "injected failure"}'
    assert waits == [0.5, 1.0, 2.0]
    assert gateway.messages() == []
    # Exactly 1 + SMS_HTTP_RETRIES tries: the four failures are used up.
    assert send_sms(PHONE, "Xin chao").is_sent


def test_an_unreachable_gateway_is_a_retry_result(gateway, settings, waits):
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{_closed_port()}/send"

    result = send_sms(PHONE, "Xin chao")

    assert result.outcome == SmsOutcome.RETRY
    assert result.error.startswith("ConnectError")
    assert waits == [0.5, 1.0]


def test_a_timeout_is_a_retry_result(gateway, settings, waits):
    settings.SMS_HTTP_TIMEOUT = 0.05
    settings.SMS_HTTP_RETRIES = 0
    gateway.configure({"latency_ms": 300})

    result = send_sms(PHONE, "Xin chao")

    assert result.outcome == SmsOutcome.RETRY
    assert result.error.startswith("ReadTimeout")
    assert waits == []


def test_the_backend_refuses_to_run_without_url_or_token(gateway, settings):
    settings.SMS_HTTP_TOKEN = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_TOKEN"):
        send_sms(PHONE, "Xin chao")
    assert gateway.messages() == []


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "token"), [("", "tok"), ("http://gw/send", ""), ("", "")])
def test_settings_refuse_http_without_url_or_token(url, token):
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_URL and SMS_HTTP_TOKEN"):
        check_sms_backend("http", url, token)


def test_settings_accept_http_with_both_and_other_backends_without():
    check_sms_backend("http", "http://gw/send", "tok")
    check_sms_backend("log", "", "")
    check_sms_backend("memory", "", "")


def test_the_settings_module_checks_at_load_and_reads_the_token_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DJANGO_ENV", "test")
    monkeypatch.setenv("SMS_BACKEND", "http")
    monkeypatch.setenv("SMS_HTTP_URL", "http://gw.example/send")
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_TOKEN"):
        runpy.run_path(SETTINGS_FILE)

    token_file = tmp_path / "sms_token"
    token_file.write_text("from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("SMS_HTTP_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("SMS_HTTP_TIMEOUT", "2.5")
    loaded = runpy.run_path(SETTINGS_FILE)
    assert loaded["SMS_HTTP_TOKEN"] == "from-a-file"
    assert (loaded["SMS_HTTP_TIMEOUT"], loaded["SMS_HTTP_RETRIES"]) == (2.5, 2)
    assert loaded["SMS_SENDER"] == "DichVuCong"


# -- the outbox ------------------------------------------------------------------------------


def _pending(kind="security.password_changed", text="Mat khau cua ban vua duoc doi."):
    return SmsMessage.objects.create(phone=PHONE, kind=kind, text=text)


@pytest.mark.django_db
def test_a_retry_result_puts_the_row_back_until_the_last_attempt(gateway):
    gateway.configure({"status": 503})
    row = _pending()

    for attempt in range(1, SMS_MAX_ATTEMPTS):
        assert deliver_sms() == 0
        row.refresh_from_db()
        assert (row.status, row.attempts, row.lease_until) == ("pending", attempt, None)
        assert row.last_error.startswith("HTTP 503")

    assert deliver_sms() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", SMS_MAX_ATTEMPTS)
    assert row.last_error.startswith("HTTP 503")
    assert row.sent_at is None
    assert deliver_sms() == 0  # failed for good: never claimed again
    row.refresh_from_db()
    assert row.attempts == SMS_MAX_ATTEMPTS


@pytest.mark.django_db
def test_the_sweep_sends_a_row_put_back_once_the_gateway_recovers(gateway):
    gateway.configure({"status": 503, "times": 3})  # one delivery: 1 + SMS_HTTP_RETRIES tries
    row = _pending()
    deliver_sms()
    assert SmsMessage.objects.get(pk=row.pk).status == "pending"

    assert sweep_outbox() == 1

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.sent_at is not None
    assert len(gateway.messages()) == 1


@pytest.mark.django_db
def test_rows_whose_lease_ran_out_during_slow_sends_are_left_to_the_sweep(
    gateway, settings, monkeypatch
):
    from django.utils import timezone as django_timezone

    from notifications import delivery

    first, second = _pending(text="Tin 1"), _pending(text="Tin 2")
    later = first.created_at + timedelta(seconds=1)
    SmsMessage.objects.filter(pk=second.pk).update(created_at=later)
    late = timedelta(0)

    class Clock:
        @staticmethod
        def now():
            return django_timezone.now() + late

    def slow_send(phone, text):
        nonlocal late
        late = timedelta(seconds=settings.PUSH_LEASE_SECONDS + 1)  # this send took that long
        return real_send(phone, text)

    real_send = sms.send_sms
    monkeypatch.setattr(delivery, "timezone", Clock)
    monkeypatch.setattr(sms, "send_sms", slow_send)

    assert deliver_sms() == 1

    assert [m["text"] for m in gateway.messages()] == ["Tin 1"]
    second.refresh_from_db()
    assert second.status == "sending"  # its lease is over: the sweep claims it again
    assert sweep_outbox() == 1
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("sent", 2)


@pytest.mark.django_db
def test_queue_sms_sends_after_commit_through_the_gateway(
    gateway, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        row = queue_sms(
            PHONE, "Tai khoan cua ban vua dang nhap tren may moi.", kind="security.login"
        )
    row.refresh_from_db()
    assert (row.status, row.kind, row.user) == ("pending", "security.login", None)
    assert gateway.messages() == []  # nothing leaves before commit

    for callback in callbacks:
        callback()  # publish_sms → the eager Celery task → deliver_sms → the gateway

    [received] = gateway.messages()
    assert received["to"] == PHONE
    assert received["text"] == "Tai khoan cua ban vua dang nhap tren may moi."
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.text == "Tai khoan cua ban vua dang nhap tren may moi."  # not a code: kept


@pytest.mark.django_db
def test_queue_sms_is_not_rate_limited_per_phone(gateway, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            with transaction.atomic():
                queue_sms(PHONE, f"Thong bao {n}", kind="security.notice")
    assert len(gateway.messages()) == 5
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_queue_sms_refuses_to_run_outside_a_transaction():
    from django.db import connection

    connection.in_atomic_block, saved = False, connection.in_atomic_block
    try:
        with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
            queue_sms(PHONE, "x", kind="security.notice")
    finally:
        connection.in_atomic_block = saved
    assert not SmsMessage.objects.exists()


# -- one-time codes --------------------------------------------------------------------------


def test_mask_codes_hides_runs_of_four_or_more_digits():
    assert mask_codes("Ma 482913, het han sau 10 phut (ref 1234)") == (
        "Ma ••••••, het han sau 10 phut (ref ••••)"
    )
    assert mask_codes("no code 123") == "no code 123"


@pytest.mark.django_db
def test_a_one_time_code_is_masked_once_sent(gateway, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        otp = queue_sms(PHONE, OTP_TEXT, kind="otp.register")
        other = queue_sms(PHONE, "Ho so 2024-0001 da duoc tiep nhan.", kind="security.notice")

    assert [m["text"] for m in gateway.messages()] == [
        OTP_TEXT,
        "Ho so 2024-0001 da duoc tiep nhan.",
    ]
    otp.refresh_from_db()
    other.refresh_from_db()
    assert (otp.status, otp.text) == ("sent", "Ma xac thuc cua ban: ••••••. Het han sau 10 phut.")
    assert (other.status, other.text) == ("sent", "Ho so 2024-0001 da duoc tiep nhan.")


@pytest.mark.django_db
def test_a_refused_one_time_code_is_masked(gateway):
    gateway.configure({"status": 400})
    row = _pending(kind="otp.reset_password", text=OTP_TEXT)

    deliver_sms()

    row.refresh_from_db()
    assert row.status == "failed"
    assert "482913" not in row.text and "••••••" in row.text


@pytest.mark.django_db
def test_a_one_time_code_is_kept_for_its_retries_and_masked_when_given_up(gateway):
    gateway.configure({"status": 503})
    row = _pending(kind="otp.register", text=OTP_TEXT)

    for _ in range(SMS_MAX_ATTEMPTS - 1):
        deliver_sms()
        row.refresh_from_db()
        assert (row.status, row.text) == ("pending", OTP_TEXT)  # the next attempt needs it

    deliver_sms()
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.text == "Ma xac thuc cua ban: ••••••. Het han sau 10 phut."
