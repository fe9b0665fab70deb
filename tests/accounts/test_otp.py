"""One-time codes by SMS: asking, limits, registering with one, recovering a forgotten
password, changing password or phone, and the dossier a squatter must never see."""

import re
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts import otp
from accounts.models import OneTimeCode, User
from notifications import sms
from notifications.models import Notification, SmsMessage
from services.models import ServiceRequest
from tests.accounts.helpers import age_codes, assert_error, code_from_sms, register_code
from tests.conftest import client_for
from tests.factories import PASSWORD
from tests.services.test_assisted import file_for

pytestmark = pytest.mark.django_db

OTP = "/api/v1/auth/otp/"
REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
RESET = "/api/v1/auth/password/reset/"
CHANGE_PASSWORD = "/api/v1/auth/password/change/"
CHANGE_PHONE = "/api/v1/auth/phone/change/"
VERIFY_PHONE = "/api/v1/auth/phone/verify/"
NEW_PHONE = "0912 345 678"
NEW_E164 = "+84912345678"
NEW_PASSWORD = "Suoi-Nuoc-Trong#2027"


@pytest.fixture(autouse=True)
def _fresh_sms():
    sms.reset_memory_backend()


def ask(api, phone, purpose, captured, **extra):
    with captured(execute=True):
        return api.post(OTP, {"phone": phone, "purpose": purpose}, format="json", **extra)


def login(api, phone, password):
    return api.post(TOKEN, {"phone": phone, "password": password}, format="json")


# -- asking for a code -------------------------------------------------------------------------


def test_a_code_is_sent_in_one_sms_and_stored_only_as_a_hash(
    api, django_capture_on_commit_callbacks
):
    response = ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    assert response.json() == {"expires_in": 300, "resend_after": 60}
    sent = sms.memory_outbox()
    assert [m.phone for m in sent] == [NEW_E164]
    assert sent[0].segments == 1
    assert "Mã xác nhận" in sent[0].text and "5 phút" in sent[0].text
    code = code_from_sms()
    row = OneTimeCode.objects.get()
    assert (row.phone, row.purpose, row.sent) == (NEW_E164, "register", True)
    assert code not in row.code_hash
    # The outbox row keeps no readable code once it has been sent.
    assert code not in SmsMessage.objects.get().text


def test_the_sms_speaks_english_when_asked_and_the_accounts_language_when_known(
    api, citizen_a, django_capture_on_commit_callbacks
):
    ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks, HTTP_ACCEPT_LANGUAGE="en")
    english = sms.memory_outbox()[-1]
    assert english.text.startswith("Your code: ") and english.segments == 1

    User.objects.filter(pk=citizen_a.pk).update(preferred_language="en")
    ask(api, citizen_a.phone, "reset_password", django_capture_on_commit_callbacks)
    assert sms.memory_outbox()[-1].text.startswith("Your code: ")


@pytest.mark.parametrize(
    ("purpose", "has_account", "sent"),
    [
        ("register", False, True),
        ("register", True, False),
        ("reset_password", True, True),
        ("reset_password", False, False),
        ("delete_account", True, True),
        ("change_phone", False, True),
        ("change_phone", True, False),
        ("claim", True, False),
        ("verify_phone", True, True),
    ],
)
def test_the_answer_is_the_same_whether_or_not_a_code_goes_out(
    api, citizen_a, django_capture_on_commit_callbacks, purpose, has_account, sent
):
    phone = citizen_a.phone if has_account else NEW_PHONE

    response = ask(api, phone, purpose, django_capture_on_commit_callbacks)

    assert (response.status_code, response.json()) == (202, {"expires_in": 300, "resend_after": 60})
    assert bool(sms.memory_outbox()) is sent
    # Asked is asked: the limits count this request either way.
    assert OneTimeCode.objects.get().sent is sent


def test_another_code_only_after_a_minute_with_retry_after(api, django_capture_on_commit_callbacks):
    ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks)

    again = ask(api, NEW_PHONE, "reset_password", django_capture_on_commit_callbacks)

    assert_error(again, 429, "too_many_codes")
    assert 55 <= int(again["Retry-After"]) <= 60
    assert len(sms.memory_outbox()) == 1
    age_codes()
    assert ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks).status_code == 202


def test_at_most_five_codes_an_hour_per_phone(api, django_capture_on_commit_callbacks):
    captured = django_capture_on_commit_callbacks
    for _ in range(otp.PER_PHONE_PER_HOUR):
        assert ask(api, NEW_PHONE, "register", captured).status_code == 202
        age_codes(seconds=5 * 60)

    sixth = ask(api, NEW_PHONE, "register", captured)

    assert_error(sixth, 429, "too_many_codes")
    # The oldest of the five leaves the hour in 60 - 25 = 35 minutes.
    assert 34 * 60 <= int(sixth["Retry-After"]) <= 35 * 60
    assert len(sms.memory_outbox()) == otp.PER_PHONE_PER_HOUR
    # Another phone is not affected.
    assert (
        ask(api, "0912 345 679", "register", django_capture_on_commit_callbacks).status_code == 202
    )


def test_codes_asked_from_one_address_are_capped(
    api, django_capture_on_commit_callbacks, monkeypatch
):
    from common.api.throttling import OtpAddressThrottle

    monkeypatch.setattr(OtpAddressThrottle, "THROTTLE_RATES", {"otp": "3/hour"})
    for last_digit in "123":
        phone = f"0912 345 67{last_digit}"
        assert ask(api, phone, "register", django_capture_on_commit_callbacks).status_code == 202

    response = ask(api, "0912 345 674", "register", django_capture_on_commit_callbacks)

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"phone": "12", "purpose": "register"}, "phone", "invalid_phone"),
        ({"phone": NEW_PHONE, "purpose": "anything"}, "purpose", "invalid_choice"),
        ({"phone": NEW_PHONE}, "purpose", "required"),
        ({"phone": 912345678, "purpose": "register"}, "phone", "invalid"),
    ],
)
def test_a_bad_request_for_a_code_is_400(api, body, attr, code):
    assert_error(api.post(OTP, body, format="json"), 400, code, attr)
    assert not OneTimeCode.objects.exists()


# -- using a code ------------------------------------------------------------------------------


def signup(api, code, phone=NEW_PHONE, password=NEW_PASSWORD):
    body = {"phone": phone, "password": password, "full_name": "Lò Thị Xuân", "otp": code}
    return api.post(REGISTER, body, format="json")


def test_registering_needs_the_code_sent_to_the_phone(api, django_capture_on_commit_callbacks):
    assert_error(signup(api, "000000"), 400, "invalid_code", "otp")
    ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks)
    code = code_from_sms()

    # A code is bound to its phone.
    assert_error(signup(api, code, phone="0912 345 679"), 400, "invalid_code", "otp")
    response = signup(api, code)

    assert response.status_code == 201, response.content
    user = User.objects.get(phone=NEW_E164)
    assert user.phone_verified_at is not None
    assert response.json()["phone_verified_at"] is not None
    assert login(api, NEW_PHONE, NEW_PASSWORD).status_code == 200


def test_five_wrong_guesses_burn_the_code(api, django_capture_on_commit_callbacks):
    ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks)
    code = code_from_sms()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(otp.MAX_ATTEMPTS):
        assert_error(signup(api, wrong), 400, "invalid_code", "otp")

    assert_error(signup(api, code), 400, "invalid_code", "otp")
    assert OneTimeCode.objects.get().attempts == otp.MAX_ATTEMPTS
    assert not User.objects.filter(phone=NEW_E164).exists()


def test_a_code_expires_after_five_minutes(api, django_capture_on_commit_callbacks):
    ask(api, NEW_PHONE, "register", django_capture_on_commit_callbacks)
    code = code_from_sms()
    age_codes(seconds=5 * 60)

    assert_error(signup(api, code), 400, "invalid_code", "otp")


def test_a_code_serves_one_purpose_once(api, citizen_a, django_capture_on_commit_callbacks):
    ask(api, citizen_a.phone, "delete_account", django_capture_on_commit_callbacks)
    code = code_from_sms()
    body = {"phone": citizen_a.phone, "otp": code, "new_password": NEW_PASSWORD}

    # A code for deleting the account does not reset its password.
    assert_error(api.post(RESET, body, format="json"), 400, "invalid_code", "otp")
    age_codes()
    ask(api, citizen_a.phone, "reset_password", django_capture_on_commit_callbacks)
    body["otp"] = code_from_sms()
    assert api.post(RESET, body, format="json").status_code == 204
    assert_error(api.post(RESET, body, format="json"), 400, "invalid_code", "otp")


# -- a forgotten password ----------------------------------------------------------------------


def test_a_forgotten_password_is_reset_by_sms_and_old_sessions_die(
    api, citizen_a, django_capture_on_commit_callbacks
):
    old = login(api, citizen_a.phone, PASSWORD).json()
    other_phone = login(api, citizen_a.phone, PASSWORD).json()

    ask(api, "0900 000 001", "reset_password", django_capture_on_commit_callbacks)
    body = {"phone": "0900 000 001", "otp": code_from_sms(), "new_password": NEW_PASSWORD}
    response = api.post(RESET, body, format="json")

    assert response.status_code == 204, response.content
    citizen_a.refresh_from_db()
    assert citizen_a.check_password(NEW_PASSWORD)
    assert citizen_a.phone_verified_at is not None
    for session in (old, other_phone):
        assert_error(
            api.post(REFRESH, {"refresh": session["refresh"]}, format="json"),
            401,
            "token_not_valid",
        )
    assert login(api, citizen_a.phone, PASSWORD).status_code == 401
    assert login(api, citizen_a.phone, NEW_PASSWORD).status_code == 200


def test_a_weak_new_password_keeps_the_code(api, citizen_a, django_capture_on_commit_callbacks):
    ask(api, citizen_a.phone, "reset_password", django_capture_on_commit_callbacks)
    code = code_from_sms()
    body = {"phone": citizen_a.phone, "otp": code, "new_password": "123"}

    assert_error(api.post(RESET, body, format="json"), 400, "password_too_short", "new_password")

    row = OneTimeCode.objects.get()
    assert (row.attempts, row.used_at) == (0, None)
    body["new_password"] = NEW_PASSWORD
    assert api.post(RESET, body, format="json").status_code == 204


def test_resetting_the_password_of_an_unknown_phone_looks_like_a_wrong_code(api):
    body = {"phone": NEW_PHONE, "otp": "123456", "new_password": NEW_PASSWORD}
    assert_error(api.post(RESET, body, format="json"), 400, "invalid_code", "otp")


# -- changing the password or the phone ---------------------------------------------------------


def test_changing_the_password_keeps_this_session_and_ends_the_others(api, citizen_a):
    mine = login(api, citizen_a.phone, PASSWORD).json()
    elsewhere = login(api, citizen_a.phone, PASSWORD).json()
    client = client_for(citizen_a)

    assert_error(
        client.post(
            CHANGE_PASSWORD,
            {"old_password": "wrong", "new_password": NEW_PASSWORD},
            format="json",
        ),
        400,
        "wrong_password",
        "old_password",
    )
    response = client.post(
        CHANGE_PASSWORD,
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "refresh": mine["refresh"]},
        format="json",
    )

    assert response.status_code == 204, response.content
    assert api.post(REFRESH, {"refresh": mine["refresh"]}, format="json").status_code == 200
    assert_error(
        api.post(REFRESH, {"refresh": elsewhere["refresh"]}, format="json"),
        401,
        "token_not_valid",
    )
    assert login(api, citizen_a.phone, NEW_PASSWORD).status_code == 200


def test_changing_the_phone_needs_a_code_on_the_new_number_and_tells_the_old_one(
    api, citizen_a, citizen_b, django_capture_on_commit_callbacks
):
    client = client_for(citizen_a)
    old_phone = citizen_a.phone
    ask(api, NEW_PHONE, "change_phone", django_capture_on_commit_callbacks)
    code = code_from_sms()
    body = {"password": PASSWORD, "new_phone": NEW_PHONE, "otp": code}

    wrong_password = client.post(CHANGE_PHONE, {**body, "password": "x"}, format="json")
    assert_error(wrong_password, 400, "wrong_password", "password")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CHANGE_PHONE, body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == NEW_E164
    assert response.json()["phone_verified_at"] is not None
    notice = sms.memory_outbox()[-1]
    assert notice.phone == old_phone and notice.segments == 1
    assert "678" in notice.text
    assert login(api, NEW_PHONE, PASSWORD).status_code == 200
    assert login(api, old_phone, PASSWORD).status_code == 401
    # Somebody else's number cannot be taken, even with a code: none is sent to it.
    age_codes()
    ask(api, citizen_b.phone, "change_phone", django_capture_on_commit_callbacks)
    taken = {"password": PASSWORD, "new_phone": citizen_b.phone, "otp": "123456"}
    # (The access token from before the change stopped working with it: sign in again.)
    assert client.get("/api/v1/me/").status_code == 401
    client = client_for(User.objects.get(pk=citizen_a.pk))
    assert_error(client.post(CHANGE_PHONE, taken, format="json"), 400, "invalid_code", "otp")


def test_a_new_number_taken_after_its_code_was_sent_is_a_conflict(
    api, citizen_a, django_capture_on_commit_callbacks
):
    ask(api, NEW_PHONE, "change_phone", django_capture_on_commit_callbacks)
    code = code_from_sms()
    User.objects.create_user(phone=NEW_PHONE, password=PASSWORD, full_name="Nhanh Tay")

    response = client_for(citizen_a).post(
        CHANGE_PHONE, {"password": PASSWORD, "new_phone": NEW_PHONE, "otp": code}, format="json"
    )

    assert_error(response, 409, "phone_taken")
    assert OneTimeCode.objects.get().used_at is None


# -- the squatter ------------------------------------------------------------------------------


def test_a_dossier_filed_for_a_squatted_phone_waits_for_whoever_proves_it(
    api, world, officer_commune, django_capture_on_commit_callbacks
):
    """Someone registered a neighbour's number before codes existed (no proof). When an
    officer files a dossier for the neighbour at the counter, it must not reach the
    squatter: not in the list, not by id, not in the inbox, not cancellable. The neighbour
    proves the phone with a code, and the account and the dossier become theirs."""
    squatter = User.objects.create_user(phone=NEW_PHONE, password=PASSWORD, full_name="Kẻ Mạo Danh")
    squatter_session = login(api, NEW_PHONE, PASSWORD).json()
    squatter_client = client_for(squatter)

    with django_capture_on_commit_callbacks(execute=True):
        filed = file_for(officer_commune, applicant_phone=NEW_PHONE)
    assert filed.status_code == 201, filed.content
    dossier = ServiceRequest.objects.get(pk=filed.json()["id"])
    assert dossier.applicant == squatter

    assert squatter_client.get("/api/v1/requests/").json()["results"] == []
    assert squatter_client.get(f"/api/v1/requests/{dossier.pk}/").status_code == 404
    cancel = squatter_client.post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "cancel"}, format="json"
    )
    assert cancel.status_code == 404
    assert not Notification.objects.filter(user=squatter).exists()
    # The phone itself heard of it, with the tracking code.
    assert [m.phone for m in sms.memory_outbox()] == [NEW_E164]
    assert dossier.tracking_code in sms.memory_outbox()[0].text

    # The neighbour, holding the phone, resets the password with a code sent to it.
    age_codes()
    ask(api, NEW_PHONE, "reset_password", django_capture_on_commit_callbacks)
    body = {"phone": NEW_PHONE, "otp": code_from_sms(), "new_password": NEW_PASSWORD}
    assert api.post(RESET, body, format="json").status_code == 204

    assert_error(
        api.post(REFRESH, {"refresh": squatter_session["refresh"]}, format="json"),
        401,
        "token_not_valid",
    )
    assert login(api, NEW_PHONE, PASSWORD).status_code == 401
    neighbour = client_for(User.objects.get(phone=NEW_E164))
    listed = neighbour.get("/api/v1/requests/").json()["results"]
    assert [d["id"] for d in listed] == [str(dossier.pk)]


def test_an_old_account_verifies_its_phone_and_then_sees_what_was_filed_for_it(
    api, world, citizen_a, officer_commune, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert file_for(officer_commune, applicant_phone=citizen_a.phone).status_code == 201
    client = client_for(citizen_a)
    assert client.get("/api/v1/requests/").json()["results"] == []

    age_codes()
    ask(api, citizen_a.phone, "verify_phone", django_capture_on_commit_callbacks)
    response = client.post(VERIFY_PHONE, {"otp": code_from_sms()}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["phone_verified_at"] is not None
    assert len(client.get("/api/v1/requests/").json()["results"]) == 1
    # A verified phone gets no more verify codes.
    age_codes()
    sms.reset_memory_backend()
    ask(api, citizen_a.phone, "verify_phone", django_capture_on_commit_callbacks)
    assert sms.memory_outbox() == []


def test_an_account_still_logs_in_before_its_phone_is_verified(api, citizen_a):
    assert citizen_a.phone_verified_at is None
    assert login(api, citizen_a.phone, PASSWORD).status_code == 200


# -- concurrency -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_phone_send_one_code():
    """Eight real connections at once: the per-phone lock lets one code through."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    results: list[str] = []
    start = threading.Barrier(8)

    def request_one() -> None:
        try:
            start.wait(10)
            otp.issue_code(NEW_E164, "register", language="vi")
            results.append("sent")
        except otp.TooManyCodes:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=request_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(results) == ["refused"] * 7 + ["sent"]
    assert OneTimeCode.objects.filter(phone=NEW_E164).count() == 1


def test_register_code_helper_issues_a_usable_code():
    # The helper the other tests use goes through the real issuing path.
    code = register_code(NEW_PHONE)
    assert re.fullmatch(r"\d{6}", code)
    assert OneTimeCode.objects.get(phone=NEW_E164).expires_at > timezone.now()
