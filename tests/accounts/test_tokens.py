from datetime import timedelta
from unittest import mock

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Session
from tests.accounts.helpers import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"


def login(api, phone="+84900000001", password=PASSWORD):
    return api.post(TOKEN, {"phone": phone, "password": password}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.mark.parametrize(
    "typed", ["+84900000001", "0900000001", "0900 000 001", "84900000001", "+84 90 000 0001"]
)
def test_login_accepts_the_phone_in_any_common_format(api, citizen_a, typed):
    response = login(api, typed)

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    me = bearer(response.json()["access"]).get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == str(citizen_a.id)


def test_login_records_the_last_login(api, citizen_a):
    assert citizen_a.last_login is None

    login(api)

    citizen_a.refresh_from_db()
    assert citizen_a.last_login is not None


@pytest.mark.parametrize(
    ("phone", "password"),
    [
        ("0900000001", "wrong-password"),
        ("0900000001", " " + PASSWORD),
        ("0999999999", PASSWORD),
        ("not a phone", PASSWORD),
    ],
)
def test_login_with_wrong_credentials_is_401(api, citizen_a, phone, password):
    response = login(api, phone, password)

    assert_error(response, 401, "no_active_account")
    assert "access" not in response.json()


def test_login_of_an_inactive_user_is_401(api, citizen_a):
    citizen_a.is_active = False
    citizen_a.save()

    assert_error(login(api), 401, "no_active_account")


@pytest.mark.django_db
def test_login_needs_phone_and_password(api):
    response = api.post(TOKEN, {"phone": 900000001}, format="json")

    body = assert_error(response, 400, "required", "password")
    assert ("invalid", "phone") in {(e["code"], e["attr"]) for e in body["errors"]}


@pytest.mark.django_db
def test_login_malformed_json_is_a_parse_error(api):
    response = api.post(TOKEN, "{phone: 1}", content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_wrong_passwords_slow_the_phone_down_from_that_address(api, citizen_a, monkeypatch):
    from common.api import failures

    now = [1_000_000.0]
    monkeypatch.setattr(failures, "clock", lambda: now[0])
    # Any format of the same number shares one counter; three failures are free.
    for typed in ["0900000001", "+84900000001", "84900000001"]:
        assert login(api, typed, "wrong-password").status_code == 401
    assert login(api, "0900 000 001", "wrong-password").status_code == 401

    response = login(api, "+84 90 000 0001")

    assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) == 1
    now[0] += 1
    assert login(api, "0900000001").status_code == 200
    # The same address, another phone: not affected.
    assert login(api, "0900000002", "wrong-password").status_code == 401


def test_the_waits_double_and_stop_at_a_minute(api, citizen_a, monkeypatch):
    from common.api import failures

    now = [1_000_000.0]
    monkeypatch.setattr(failures, "clock", lambda: now[0])
    waits = []
    for _ in range(12):
        response = login(api, "0900000001", "wrong-password")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            now[0] += waits[-1]
            response = login(api, "0900000001", "wrong-password")
        assert response.status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_successful_logins_are_not_counted(api, citizen_a):
    for _ in range(12):
        assert login(api).status_code == 200


def test_refresh_rotates_and_the_old_refresh_is_then_refused(api, citizen_a):
    first = login(api).json()

    response = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")

    assert response.status_code == 200, response.content
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert bearer(second["access"]).get(ME).status_code == 200
    assert api.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200
    # The first token, spent twice over by now, is refused (and ends the session).
    reused = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert_error(reused, 401, "token_not_valid")


def test_refresh_loses_a_race_when_the_token_was_just_blacklisted(api, citizen_a):
    refresh = RefreshToken.for_user(citizen_a)
    # Simulates a concurrent request that blacklisted the token after our blacklist check.
    with mock.patch.object(RefreshToken, "check_blacklist", lambda self: None):
        refresh.blacklist()
        response = api.post(REFRESH, {"refresh": str(refresh)}, format="json")

    assert_error(response, 401, "token_not_valid")
    assert OutstandingToken.objects.filter(user=citizen_a).count() == 1


def test_refresh_of_an_inactive_user_is_refused(api, citizen_a):
    refresh = login(api).json()["refresh"]
    citizen_a.is_active = False
    citizen_a.save()

    response = api.post(REFRESH, {"refresh": refresh}, format="json")

    assert_error(response, 401, "no_active_account")


def test_refresh_of_a_deleted_user_is_refused(api, citizen_a):
    refresh = str(RefreshToken.for_user(citizen_a))
    citizen_a.delete()

    assert_error(api.post(REFRESH, {"refresh": refresh}, format="json"), 401, "no_active_account")


def test_refresh_refuses_an_access_token_and_garbage(api, citizen_a):
    access = login(api).json()["access"]

    assert_error(api.post(REFRESH, {"refresh": access}, format="json"), 401, "token_not_valid")
    assert_error(api.post(REFRESH, {"refresh": "x.y.z"}, format="json"), 401, "token_not_valid")
    assert_error(api.post(REFRESH, {}, format="json"), 400, "required", "refresh")


def test_logout_blacklists_the_refresh_token(api, citizen_a):
    tokens = login(api).json()

    response = bearer(tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204, response.content
    assert response.content == b""
    assert Session.objects.get(user=citizen_a).revoke_reason == "logout"
    after = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert_error(after, 401, "token_not_valid")


def test_logout_twice_is_still_a_success(api, citizen_a):
    tokens = login(api).json()
    client = bearer(tokens["access"])

    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert Session.objects.filter(revoked_at__isnull=False).count() == 1


def test_logout_refuses_a_refresh_token_of_someone_else(api, citizen_a, citizen_b):
    theirs = str(RefreshToken.for_user(citizen_b))

    response = client_for(citizen_a).post(LOGOUT, {"refresh": theirs}, format="json")

    assert_error(response, 400, "token_not_valid", "refresh")
    assert not BlacklistedToken.objects.exists()
    assert api.post(REFRESH, {"refresh": theirs}, format="json").status_code == 200


@pytest.mark.parametrize("refresh", ["garbage", "", None])
def test_logout_refuses_an_invalid_refresh_token(citizen_a, refresh):
    response = client_for(citizen_a).post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "refresh"
    assert not BlacklistedToken.objects.exists()


def test_logout_refuses_an_access_token_as_refresh(citizen_a):
    access = str(RefreshToken.for_user(citizen_a).access_token)

    response = client_for(citizen_a).post(LOGOUT, {"refresh": access}, format="json")

    assert_error(response, 400, "token_not_valid", "refresh")


def test_logout_needs_authentication(api, citizen_a):
    refresh = str(RefreshToken.for_user(citizen_a))

    assert_error(api.post(LOGOUT, {"refresh": refresh}, format="json"), 401, "not_authenticated")
    assert not BlacklistedToken.objects.exists()


def test_logout_unregisters_the_given_device(citizen_a):
    refresh = str(RefreshToken.for_user(citizen_a))

    with mock.patch("accounts.actions.unregister_device") as unregister:
        response = client_for(citizen_a).post(
            LOGOUT, {"refresh": refresh, "device_token": "fcm-token-1"}, format="json"
        )

    assert response.status_code == 204, response.content
    unregister.assert_called_once_with(citizen_a, "fcm-token-1")
    assert BlacklistedToken.objects.count() == 1


def test_logout_without_device_token_leaves_devices_alone(citizen_a):
    refresh = str(RefreshToken.for_user(citizen_a))

    with mock.patch("accounts.actions.unregister_device") as unregister:
        response = client_for(citizen_a).post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 204
    unregister.assert_not_called()


def test_logout_deactivates_my_device_and_nobody_elses(citizen_a, citizen_b):
    from notifications.models import Device

    mine = Device.objects.create(user=citizen_a, token="fcm-mine", platform="android")
    theirs = Device.objects.create(user=citizen_b, token="fcm-theirs", platform="ios")
    client = client_for(citizen_a)

    for token in ("fcm-mine", "fcm-theirs"):
        refresh = str(RefreshToken.for_user(citizen_a))
        response = client.post(LOGOUT, {"refresh": refresh, "device_token": token}, format="json")
        assert response.status_code == 204, response.content

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert not mine.is_active
    assert theirs.is_active


def test_refresh_works_while_the_app_still_sends_its_expired_access_token(api, citizen_a):
    refresh = RefreshToken.for_user(citizen_a)
    stale = refresh.access_token
    stale.set_exp(lifetime=-timedelta(hours=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {stale}")

    response = api.post(REFRESH, {"refresh": str(refresh)}, format="json")

    assert response.status_code == 200, response.content


@pytest.mark.django_db  # every API write runs in a transaction (`common.api.atomic`)
def test_a_refused_refresh_says_how_to_authenticate(api):
    response = api.post(REFRESH, {"refresh": "x.y.z"}, format="json")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
