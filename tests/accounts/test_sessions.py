"""Sessions as refresh-token families: listing and ending them, reuse detection with a
grace for lost answers, and access tokens cut at once by the user's token version."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import sessions
from accounts.models import Session, User
from common.models import AuditLogEntry
from tests.accounts.helpers import assert_error
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
SESSIONS = "/api/v1/auth/sessions/"
LOGOUT_ALL = "/api/v1/auth/logout-all/"
ME = "/api/v1/me/"


def login(api, user, **extra):
    body = {"phone": user.phone, "password": PASSWORD, **extra}
    response = api.post(TOKEN, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refresh(api, token: str):
    return api.post(REFRESH, {"refresh": token}, format="json")


def rotated_long_ago(seconds: int = 61) -> None:
    for session in Session.objects.exclude(rotated_at=None):
        assert session.rotated_at is not None
        Session.objects.filter(pk=session.pk).update(
            rotated_at=session.rotated_at - timedelta(seconds=seconds)
        )


def test_each_login_is_a_session_and_the_list_marks_this_one(api, citizen_a):
    phone = login(api, citizen_a, platform="android", app_version="2.3.1")
    web = login(api, citizen_a, platform="web")

    listed = bearer(web["access"]).get(SESSIONS)

    assert listed.status_code == 200, listed.content
    rows = listed.json()
    assert [(r["platform"], r["app_version"], r["current"]) for r in rows] == [
        ("web", "", True),
        ("android", "2.3.1", False),
    ]
    assert set(rows[0]) == {
        "id",
        "platform",
        "app_version",
        "created_at",
        "last_used_at",
        "current",
    }
    # last_used_at is written when a refresh token is spent, not on every request.
    assert rows[1]["last_used_at"] is None
    bearer(phone["access"]).get(ME)
    assert Session.objects.get(platform="android").last_used_at is None
    assert refresh(api, phone["refresh"]).status_code == 200
    assert Session.objects.get(platform="android").last_used_at is not None


def test_ending_one_session_stops_its_refresh_token_only(api, citizen_a, citizen_b):
    phone = login(api, citizen_a, platform="android")
    web = login(api, citizen_a, platform="web")
    session_id = Session.objects.get(platform="android").pk

    assert bearer(web["access"]).delete(f"{SESSIONS}{session_id}/").status_code == 204

    assert_error(refresh(api, phone["refresh"]), 401, "token_not_valid")
    assert refresh(api, web["refresh"]).status_code == 200
    # Somebody else's session, or one already ended, is not found.
    theirs = login(api, citizen_b)
    other = Session.objects.get(user=citizen_b).pk
    assert bearer(web["access"]).delete(f"{SESSIONS}{other}/").status_code == 404
    assert bearer(web["access"]).delete(f"{SESSIONS}{session_id}/").status_code == 404
    assert refresh(api, theirs["refresh"]).status_code == 200


def test_a_lost_answer_is_answered_again_within_the_grace(api, citizen_a):
    first = login(api, citizen_a)

    answered = refresh(api, first["refresh"])
    again = refresh(api, first["refresh"])

    assert answered.status_code == again.status_code == 200
    assert again.json() == answered.json()
    # The session goes on from the successor.
    assert refresh(api, answered.json()["refresh"]).status_code == 200


def test_a_replayed_rotated_token_outside_the_grace_kills_its_family(api, citizen_a):
    stolen = login(api, citizen_a)
    successor = refresh(api, stolen["refresh"]).json()
    rotated_long_ago()

    replay = refresh(api, stolen["refresh"])

    assert_error(replay, 401, "token_not_valid")
    # The rightful holder's successor dies with the family: whoever has the copy is out too.
    assert_error(refresh(api, successor["refresh"]), 401, "token_not_valid")
    session = Session.objects.get()
    assert session.revoke_reason == "reuse"
    assert AuditLogEntry.objects.filter(action="refresh_token_reuse", actor=citizen_a).exists()
    # Another session of the same user is not touched.
    other = login(api, citizen_a)
    assert refresh(api, other["refresh"]).status_code == 200


def test_log_out_everywhere_cuts_a_live_access_token_at_once(api, citizen_a):
    phone = login(api, citizen_a)
    web = login(api, citizen_a)
    assert bearer(phone["access"]).get(ME).status_code == 200

    assert bearer(web["access"]).post(LOGOUT_ALL).status_code == 204

    for pair in (phone, web):
        assert_error(bearer(pair["access"]).get(ME), 401, "token_not_valid")
        assert_error(refresh(api, pair["refresh"]), 401, "token_not_valid")
    assert not sessions.live_sessions(citizen_a).exists()
    # Signing in again works.
    assert bearer(login(api, citizen_a)["access"]).get(ME).status_code == 200


def test_a_new_password_cuts_the_other_apps_at_once(api, citizen_a):
    mine = login(api, citizen_a)
    elsewhere = login(api, citizen_a)

    response = bearer(mine["access"]).post(
        "/api/v1/auth/password/change/",
        {"old_password": PASSWORD, "new_password": "Suoi-Nuoc#2027", "refresh": mine["refresh"]},
        format="json",
    )

    assert response.status_code == 204, response.content
    assert_error(bearer(elsewhere["access"]).get(ME), 401, "token_not_valid")
    assert_error(refresh(api, elsewhere["refresh"]), 401, "token_not_valid")
    # This app renews its pair with the refresh token it kept.
    renewed = refresh(api, mine["refresh"])
    assert renewed.status_code == 200
    assert bearer(renewed.json()["access"]).get(ME).status_code == 200


def test_a_deactivated_account_stays_out_after_reactivation(api, citizen_a):
    from accounts import actions

    tokens = login(api, citizen_a)
    actions.deactivate(citizen_a, actor=None)
    User.objects.filter(pk=citizen_a.pk).update(is_active=True)

    assert_error(refresh(api, tokens["refresh"]), 401, "token_not_valid")
    assert_error(bearer(tokens["access"]).get(ME), 401, "token_not_valid")


def test_a_refresh_token_from_before_sessions_works_once_and_opens_one(api, citizen_a):
    legacy = str(RefreshToken.for_user(citizen_a))

    renewed = refresh(api, legacy)

    assert renewed.status_code == 200, renewed.content
    assert Session.objects.filter(user=citizen_a).count() == 1
    assert_error(refresh(api, legacy), 401, "token_not_valid")
    assert refresh(api, renewed.json()["refresh"]).status_code == 200
    # An access token from before versions counts as version 0.
    assert bearer(str(RefreshToken.for_user(citizen_a).access_token)).get(ME).status_code == 200


@pytest.mark.parametrize("sid", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", 42])
def test_a_signed_token_naming_no_session_is_refused(api, citizen_a, sid):
    token = RefreshToken.for_user(citizen_a)
    token["sid"] = sid

    assert_error(refresh(api, str(token)), 401, "token_not_valid")


def test_an_access_token_is_no_refresh_token(api, citizen_a):
    tokens = login(api, citizen_a)

    assert_error(refresh(api, tokens["access"]), 401, "token_not_valid")
