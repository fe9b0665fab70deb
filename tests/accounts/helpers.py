"""Assertions on the project's one error shape."""

ERROR_TYPES = {"validation_error", "client_error", "server_error"}


def assert_error_shape(body: dict) -> None:
    assert set(body) == {"type", "errors"}, body
    assert body["type"] in ERROR_TYPES, body
    assert isinstance(body["errors"], list) and body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["detail"], str) and error["detail"], error
        assert error["attr"] is None or isinstance(error["attr"], str), error
    if body["type"] != "validation_error":
        # Only validation errors may list several problems or point at a field.
        assert len(body["errors"]) == 1, body
        assert body["errors"][0]["attr"] is None, body


def assert_error(response, status: int, code: str, attr: str | None = None) -> dict:
    """The response is an error of this status carrying `code` on `attr`; returns the body."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert_error_shape(body)
    if status >= 500:
        expected_type = "server_error"
    elif status == 400 and attr is not None:
        expected_type = "validation_error"
    else:
        expected_type = "client_error"
    assert body["type"] == expected_type, body
    pairs = {(e["code"], e["attr"]) for e in body["errors"]}
    assert (code, attr) in pairs, body
    return body


def register_code(phone: str, purpose: str = "register") -> str:
    """A fresh one-time code for `phone`, as its SMS would carry it."""
    from accounts import otp
    from common.phones import normalize_phone

    return otp.issue_code(normalize_phone(phone) or phone, purpose, language="vi").code


def code_from_sms() -> str:
    """The 6-digit code of the last SMS the memory backend sent."""
    import re

    from notifications import sms

    sent = sms.memory_outbox()
    assert sent, "no SMS was sent"
    match = re.search(r"\b(\d{6})\b", sent[-1].text)
    assert match, sent[-1].text
    return match.group(1)


def age_codes(seconds: int = 61) -> None:
    """Move every one-time code into the past, as if `seconds` had gone by (past the minute
    before a resend, by default)."""
    from datetime import timedelta

    from django.db.models import F

    from accounts.models import OneTimeCode

    delta = timedelta(seconds=seconds)
    OneTimeCode.objects.update(
        created_at=F("created_at") - delta, expires_at=F("expires_at") - delta
    )
