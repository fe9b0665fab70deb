"""push.py without a network: backends, error classification, helpers."""

import email.utils
import logging
import time

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from firebase_admin import exceptions, messaging

from notifications import push
from notifications.push import OutgoingPush, PushOutcome

MESSAGE = OutgoingPush(token="tok-1", title="Tiêu đề", body="Nội dung", data={"id": "1"})


def test_memory_backend_records_and_can_be_reset():
    assert [r.outcome for r in push.send([MESSAGE, MESSAGE])] == [PushOutcome.SENT] * 2
    assert push.memory_messages() == [MESSAGE, MESSAGE]
    push.reset_memory_backend()
    assert push.memory_messages() == []


def test_memory_backend_answers_as_told_for_a_number_of_times():
    push.memory_answer("tok-1", "retry", retry_after=12, times=2)
    push.memory_answer("tok-2", PushOutcome.INVALID_TOKEN)
    other = OutgoingPush(token="tok-2", title="t", body="b")

    first = push.send([MESSAGE, other])
    assert [(r.outcome, r.retry_after) for r in first] == [
        (PushOutcome.RETRY, 12),
        (PushOutcome.INVALID_TOKEN, None),
    ]
    assert push.send([MESSAGE])[0].outcome == PushOutcome.RETRY
    assert push.send([MESSAGE])[0].outcome == PushOutcome.SENT
    assert push.send([other])[0].outcome == PushOutcome.INVALID_TOKEN
    push.memory_answer("tok-2", "sent")
    assert push.send([other])[0].outcome == PushOutcome.SENT
    assert push.memory_messages() == [MESSAGE, other]


def test_log_backend_logs_and_reports_sent(settings, caplog):
    settings.PUSH_BACKEND = "log"
    with caplog.at_level(logging.INFO, logger="notifications.push"):
        [result] = push.send([MESSAGE])
    assert result.outcome == PushOutcome.SENT
    assert "Tiêu đề" in caplog.text
    assert push.memory_messages() == []


def test_unknown_backend_is_a_configuration_error(settings):
    settings.PUSH_BACKEND = "pigeon"
    with pytest.raises(ImproperlyConfigured):
        push.send([MESSAGE])


def test_nothing_to_send_is_fine(settings):
    settings.PUSH_BACKEND = "pigeon"  # not even looked at
    assert push.send([]) == []


def test_string_data():
    assert push.string_data({"a": 1, "b": None, "c": False, "d": {"x": "ý"}, "e": "e"}) == {
        "a": "1",
        "c": "false",
        "d": '{"x": "ý"}',
        "e": "e",
    }
    assert push.string_data(None) == {}


def _response(status, body=b"{}", headers=None):
    request = httpx.Request("POST", "http://fcm.test/v1/projects/p/messages:send")
    response = httpx.Response(status, content=body, headers=headers or {}, request=request)
    return response


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (messaging.UnregisteredError("gone"), PushOutcome.INVALID_TOKEN),
        (messaging.SenderIdMismatchError("other sender"), PushOutcome.INVALID_TOKEN),
        (
            exceptions.InvalidArgumentError(
                "The registration token is not a valid FCM registration token"
            ),
            PushOutcome.INVALID_TOKEN,
        ),
        (
            exceptions.InvalidArgumentError("Request contains an invalid argument."),
            PushOutcome.FAILED,
        ),
        (messaging.QuotaExceededError("slow down"), PushOutcome.RETRY),
        (exceptions.UnavailableError("down"), PushOutcome.RETRY),
        (exceptions.InternalError("oops"), PushOutcome.RETRY),
        (exceptions.DeadlineExceededError("timed out"), PushOutcome.RETRY),
        (exceptions.UnknownError("transport"), PushOutcome.RETRY),
        (messaging.ThirdPartyAuthError("APNs certificate"), PushOutcome.RETRY),
    ],
)
def test_classify_error(error, outcome):
    result = push.classify_error(error)
    assert result.outcome == outcome
    assert type(error).__name__ in result.error


def test_invalid_argument_naming_the_token_field_is_an_invalid_token():
    body = (
        b'{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid value",'
        b' "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",'
        b' "fieldViolations": [{"field": "message.token", "description": "bad"}]}]}}'
    )
    error = exceptions.InvalidArgumentError("Invalid value", http_response=_response(400, body))
    assert push.classify_error(error).outcome == PushOutcome.INVALID_TOKEN


def test_retry_after_is_read_from_the_response():
    error = messaging.QuotaExceededError(
        "quota", http_response=_response(429, headers={"Retry-After": "120"})
    )
    assert push.classify_error(error).retry_after == 120


def test_parse_retry_after():
    assert push.parse_retry_after("30") == 30
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= push.parse_retry_after(in_a_minute) <= 61
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert push.parse_retry_after(past) == 0
    assert push.parse_retry_after("soon") is None
