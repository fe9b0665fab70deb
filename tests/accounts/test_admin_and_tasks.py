from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tasks import flush_expired_tokens
from tests.factories import PASSWORD


@pytest.fixture
def superuser_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def test_admin_adds_a_user_with_the_phone_normalised(superuser_client):
    response = superuser_client.post(
        "/admin/accounts/user/add/",
        {
            "phone": "0912 345 678",
            "full_name": "Vàng A Dính",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(phone="+84912345678")
    assert user.full_name == "Vàng A Dính"
    assert user.check_password(PASSWORD)


def test_admin_refuses_a_phone_already_registered_in_another_format(superuser_client, citizen_a):
    response = superuser_client.post(
        "/admin/accounts/user/add/",
        {
            "phone": "0900 000 001",
            "full_name": "Trùng Số",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"]
    assert User.objects.filter(phone="+84900000001").count() == 1


def test_admin_change_form_saves(superuser_client, citizen_a):
    response = superuser_client.post(
        f"/admin/accounts/user/{citizen_a.pk}/change/",
        {
            "phone": "+84 900 000 001",
            "full_name": "Hoàng Thị Mai",
            "preferred_language": "en",
            "administrative_unit": citizen_a.administrative_unit_id,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    citizen_a.refresh_from_db()
    assert citizen_a.phone == "+84900000001"
    assert citizen_a.preferred_language == "en"
    assert citizen_a.check_password(PASSWORD)


@pytest.mark.parametrize("term", ["0900 000 001", "+84900000001", "Hoàng Thị"])
def test_admin_finds_users_by_phone_as_typed_or_by_name(
    superuser_client, citizen_a, citizen_b, term
):
    response = superuser_client.get("/admin/accounts/user/", {"q": term})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [citizen_a]


def test_admin_filters_by_staff_flag(superuser_client, citizen_a, officer_commune, superuser):
    response = superuser_client.get("/admin/accounts/user/", {"is_staff__exact": "0"})

    assert list(response.context["cl"].result_list) == [citizen_a]


def test_flush_expired_tokens_removes_only_expired_ones(citizen_a):
    live = RefreshToken.for_user(citizen_a)
    dead = RefreshToken.for_user(citizen_a)
    dead.blacklist()
    OutstandingToken.objects.filter(jti=dead["jti"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    flush_expired_tokens.apply()

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert not BlacklistedToken.objects.exists()


def test_flush_expired_tokens_is_registered_under_the_beat_schedule_name(settings):
    scheduled = settings.CELERY_BEAT_SCHEDULE["flush-expired-tokens"]["task"]

    assert flush_expired_tokens.name == scheduled == "accounts.tasks.flush_expired_tokens"


def test_the_schema_documents_the_auth_and_me_endpoints():
    from django.urls import include, path

    generator = SchemaGenerator(patterns=[path("api/v1/", include("accounts.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    paths = schema["paths"]

    register = paths["/api/v1/auth/register/"]["post"]
    assert register["tags"] == ["auth"]
    assert {"201", "400", "409", "429"} <= set(register["responses"])
    token = paths["/api/v1/auth/token/"]["post"]
    assert {"200", "400", "401", "429"} <= set(token["responses"])
    assert {"200", "401"} <= set(paths["/api/v1/auth/token/refresh/"]["post"]["responses"])
    assert "204" in paths["/api/v1/auth/logout/"]["post"]["responses"]
    me = paths["/api/v1/me/"]
    assert set(me) == {"get", "patch", "delete"}
    assert me["get"]["tags"] == ["me"]
    assert {"jwtAuth": []} in me["get"]["security"]
    components = schema["components"]["schemas"]
    assert {"Account", "TokenPair", "HomeCommune", "ErrorResponse409"} <= set(components)
    assert "password" not in components["Account"]["properties"]
