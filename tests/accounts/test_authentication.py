"""A bearer token is accepted only when signed by us, for us, unexpired, for an active user."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.accounts.helpers import assert_error
from tests.conftest import client_for

ME = "/api/v1/me/"


def get_me(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    # In English: the assertions below compare simplejwt's own texts (Vietnamese by default).
    return client.get(ME, HTTP_ACCEPT_LANGUAGE="en")


def claims_for(user) -> dict:
    return dict(AccessToken.for_user(user).payload)


def sign(payload: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key or settings.JWT_SIGNING_KEY, algorithm=algorithm)


def ours(payload: dict) -> dict:
    jwt_settings = settings.SIMPLE_JWT
    return {**payload, "aud": jwt_settings["AUDIENCE"], "iss": jwt_settings["ISSUER"]}


def test_a_valid_access_token_is_accepted(citizen_a):
    assert get_me(sign(ours(claims_for(citizen_a)))).status_code == 200


def test_an_inactive_user_with_a_still_valid_access_token_is_refused(citizen_a):
    client = client_for(citizen_a)
    citizen_a.is_active = False
    citizen_a.save()

    response = client.get(ME)

    assert_error(response, 401, "user_inactive")


def test_a_deleted_user_is_refused(citizen_a):
    client = client_for(citizen_a)
    citizen_a.delete()

    assert_error(client.get(ME), 401, "user_not_found")


def test_a_tampered_token_is_refused(citizen_a, citizen_b):
    header, payload, signature = str(AccessToken.for_user(citizen_a)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(citizen_b.id)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    response = get_me(f"{header}.{forged}.{signature}")

    body = assert_error(response, 401, "token_not_valid")
    assert body["errors"][0]["detail"] == "Token is invalid"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(citizen_a):
    token = AccessToken.for_user(citizen_a)
    token.set_exp(lifetime=-timedelta(minutes=1))

    body = assert_error(get_me(str(token)), 401, "token_not_valid")
    assert body["errors"][0]["detail"] == "Token is expired"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "some-other-app"},
        {"iss": "someone-else"},
        {"aud": None},
        {"iss": None},
    ],
)
def test_a_token_for_another_audience_or_issuer_is_refused(citizen_a, claims):
    payload = ours(claims_for(citizen_a))
    for name, value in claims.items():
        if value is None:
            del payload[name]
        else:
            payload[name] = value

    assert_error(get_me(sign(payload)), 401, "token_not_valid")


def test_a_token_signed_with_another_key_is_refused(citizen_a):
    payload = ours(claims_for(citizen_a))

    assert_error(get_me(sign(payload, key="x" * 64)), 401, "token_not_valid")


def test_an_unsigned_token_is_refused(citizen_a):
    unsigned = jwt.encode(ours(claims_for(citizen_a)), None, algorithm="none")

    assert_error(get_me(unsigned), 401, "token_not_valid")


def test_a_refresh_token_is_not_an_access_token(citizen_a):
    body = assert_error(get_me(str(RefreshToken.for_user(citizen_a))), 401, "token_not_valid")
    assert body["errors"][0]["detail"] == "Token has wrong type"


@pytest.mark.django_db
def test_no_token_is_401_not_authenticated(api):
    assert_error(api.get(ME), 401, "not_authenticated")


@pytest.mark.django_db
def test_a_malformed_authorization_header_is_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer a b")

    assert_error(api.get(ME), 401, "bad_authorization_header")
