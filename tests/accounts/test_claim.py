"""Claiming an account an officer opened at the counter (assisted submission)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts import otp
from accounts.models import OneTimeCode, User
from notifications import sms
from tests.accounts.helpers import age_codes, assert_error, code_from_sms
from tests.services.test_assisted import E164, PHONE, file_for

pytestmark = pytest.mark.django_db

CLAIM = "/api/v1/auth/claim/"
CONFIRM = "/api/v1/auth/claim/confirm/"
TOKEN = "/api/v1/auth/token/"
PASSWORD = "Rừng-Xanh#2026"


@pytest.fixture
def unclaimed(world, officer_commune):
    assert file_for(officer_commune).status_code == 201
    sms.reset_memory_backend()  # only the claim SMS from here on
    return User.objects.get(phone=E164)


def ask_code(api, captured, phone=PHONE):
    with captured(execute=True):
        response = api.post(CLAIM, {"phone": phone}, format="json")
    assert response.status_code == 202, response.content
    return response


def confirm(api, code, phone=PHONE, password=PASSWORD, **extra):
    body = {"phone": phone, "code": code, "password": password, **extra}
    return api.post(CONFIRM, body, format="json")


def claim_codes():
    return OneTimeCode.objects.filter(purpose="claim")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_full_flow_claim_login_and_see_the_dossier(
    api, unclaimed, django_capture_on_commit_callbacks
):
    ask_code(api, django_capture_on_commit_callbacks)
    sent = sms.memory_outbox()
    assert [m.phone for m in sent] == [E164]
    # Vietnamese by default; the code itself is never stored.
    assert "Mã xác nhận" in sent[0].text
    code = code_from_sms()
    assert not claim_codes().filter(code_hash__contains=code).exists()

    response = confirm(api, code, full_name="  Lường   Thị Xuân ")

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    unclaimed.refresh_from_db()
    assert unclaimed.is_claimed and unclaimed.check_password(PASSWORD)
    assert unclaimed.full_name == "Lường Thị Xuân"
    assert claim_codes().get().used_at is not None
    # The tokens work, and so does logging in with the new password.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api.get("/api/v1/me/").json()["phone"] == E164
    api.credentials()
    login = api.post(TOKEN, {"phone": PHONE, "password": PASSWORD}, format="json")
    assert login.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    listed = api.get("/api/v1/requests/").json()["results"]
    assert len(listed) == 1 and listed[0]["id"] == str(unclaimed.service_requests.get().pk)


def test_sms_is_in_the_users_language(api, unclaimed, django_capture_on_commit_callbacks):
    User.objects.filter(pk=unclaimed.pk).update(preferred_language="en")
    ask_code(api, django_capture_on_commit_callbacks)
    text = sms.memory_outbox()[0].text
    assert "Your code" in text
    assert "5 minutes" in text


def test_unclaimed_account_cannot_log_in(api, unclaimed):
    for password in ("", "!", "anything-at-all"):
        response = api.post(TOKEN, {"phone": PHONE, "password": password}, format="json")
        assert response.status_code in (400, 401)
    assert_error(
        api.post(TOKEN, {"phone": PHONE, "password": "anything-at-all"}, format="json"),
        401,
        "no_active_account",
    )


def test_wrong_code_is_refused_and_counted(api, unclaimed, django_capture_on_commit_callbacks):
    ask_code(api, django_capture_on_commit_callbacks)
    code = code_from_sms()

    assert_error(confirm(api, wrong(code)), 400, "invalid_code", "code")

    assert claim_codes().get().attempts == 1
    unclaimed.refresh_from_db()
    assert not unclaimed.is_claimed and not unclaimed.has_usable_password()
    # The right code still works afterwards.
    assert confirm(api, code).status_code == 200


def test_expired_code_is_refused(api, unclaimed, django_capture_on_commit_callbacks):
    ask_code(api, django_capture_on_commit_callbacks)
    code = code_from_sms()
    claim_codes().update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(confirm(api, code), 400, "invalid_code", "code")
    unclaimed.refresh_from_db()
    assert not unclaimed.is_claimed


def test_code_dies_after_five_wrong_attempts(api, unclaimed, django_capture_on_commit_callbacks):
    ask_code(api, django_capture_on_commit_callbacks)
    code = code_from_sms()
    for _ in range(otp.MAX_ATTEMPTS):
        assert_error(confirm(api, wrong(code)), 400, "invalid_code", "code")
    # Within the minute the per-phone login throttle stops a 6th try on its own.
    assert_error(confirm(api, code), 429, "throttled")
    cache.clear()

    # The 6th try, even with the right code and after the throttle window, is refused.
    assert_error(confirm(api, code), 400, "invalid_code", "code")
    assert claim_codes().get().attempts == otp.MAX_ATTEMPTS
    unclaimed.refresh_from_db()
    assert not unclaimed.is_claimed


def test_a_code_serves_once(api, unclaimed, django_capture_on_commit_callbacks):
    ask_code(api, django_capture_on_commit_callbacks)
    code = code_from_sms()
    assert confirm(api, code).status_code == 200

    assert_error(confirm(api, code, password="Another#Pass2026"), 400, "invalid_code", "code")
    unclaimed.refresh_from_db()
    assert unclaimed.check_password(PASSWORD)


def test_only_the_latest_code_counts(api, unclaimed, django_capture_on_commit_callbacks):
    ask_code(api, django_capture_on_commit_callbacks)
    first = code_from_sms()
    age_codes()
    ask_code(api, django_capture_on_commit_callbacks)
    latest = code_from_sms()
    if first != latest:
        assert_error(confirm(api, first), 400, "invalid_code", "code")
    assert confirm(api, latest).status_code == 200


def test_claimed_account_gets_no_code_and_no_claim(
    api, citizen_a, django_capture_on_commit_callbacks
):
    ask_code(api, django_capture_on_commit_callbacks, phone=citizen_a.phone)

    assert sms.memory_outbox() == []
    # A row is written all the same (the limits must not tell), but no code went out.
    assert not claim_codes().filter(sent=True).exists()
    assert_error(confirm(api, "123456", phone=citizen_a.phone), 400, "invalid_code", "code")
    citizen_a.refresh_from_db()
    assert not citizen_a.check_password(PASSWORD)


def test_no_oracle_for_unknown_phones(api, unclaimed, django_capture_on_commit_callbacks):
    unknown = ask_code(api, django_capture_on_commit_callbacks, phone="0987 654 321")
    assert sms.memory_outbox() == []
    known = ask_code(api, django_capture_on_commit_callbacks)
    assert len(sms.memory_outbox()) == 1
    assert (unknown.status_code, unknown.content) == (known.status_code, known.content)
    # Confirming for an unknown phone looks like a wrong code.
    assert_error(confirm(api, "123456", phone="0987 654 321"), 400, "invalid_code", "code")


def test_claim_codes_are_throttled_per_phone(api, unclaimed, django_capture_on_commit_callbacks):
    for typed in (PHONE, E164, "84912345678"):
        ask_code(api, django_capture_on_commit_callbacks, phone=typed)
        age_codes()

    response = api.post(CLAIM, {"phone": PHONE}, format="json")

    assert_error(response, 429, "throttled")
    assert len(sms.memory_outbox()) == 3
    # Another phone is not affected.
    ask_code(api, django_capture_on_commit_callbacks, phone="0987 654 321")


def test_weak_password_is_400_and_keeps_the_code(
    api, unclaimed, django_capture_on_commit_callbacks
):
    ask_code(api, django_capture_on_commit_callbacks)
    code = code_from_sms()

    body = assert_error(confirm(api, code, password="123"), 400, "password_too_short", "password")

    assert {e["attr"] for e in body["errors"]} == {"password"}
    claim = claim_codes().get()
    assert (claim.attempts, claim.used_at) == (0, None)
    unclaimed.refresh_from_db()
    assert not unclaimed.is_claimed
    assert confirm(api, code).status_code == 200


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"phone": "12", "code": "123456", "password": PASSWORD}, "phone"),
        ({"phone": PHONE, "code": "12345", "password": PASSWORD}, "code"),
        ({"phone": PHONE, "code": 123456, "password": PASSWORD}, "code"),
        ({"phone": PHONE, "code": "123456"}, "password"),
    ],
)
def test_confirm_validates_its_input(api, unclaimed, body, attr):
    response = api.post(CONFIRM, body, format="json")
    assert response.status_code == 400
    assert attr in {e["attr"] for e in response.json()["errors"]}


def test_registering_after_the_claim_is_phone_taken(
    api, unclaimed, django_capture_on_commit_callbacks
):
    ask_code(api, django_capture_on_commit_callbacks)
    assert confirm(api, code_from_sms()).status_code == 200
    sms.reset_memory_backend()
    age_codes()
    asked = api.post("/api/v1/auth/otp/", {"phone": PHONE, "purpose": "register"}, format="json")
    assert asked.status_code == 202
    # No register code goes to a phone that has an account: nothing to register with.
    assert sms.memory_outbox() == []
    response = api.post(
        "/api/v1/auth/register/",
        {"phone": PHONE, "password": "An0ther#Pass2026", "full_name": "X", "otp": "123456"},
        format="json",
    )
    assert_error(response, 400, "invalid_code", "otp")
    assert User.objects.get(phone=E164).check_password(PASSWORD)
