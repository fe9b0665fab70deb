"""Input that used to break a record or answer 500: lone surrogates and control characters,
a body too large, JSON nested too deep, a signed token whose user id is no id."""

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from services.models import ServiceRequest
from tests.accounts.helpers import assert_error
from tests.conftest import client_for
from tests.services.workflow import FORM, make_dossier

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/requests/"


def raw_post(client, url, body: str):
    return client.post(url, body, content_type="application/json")


def dossier_body(full_name: str) -> str:
    # Written by hand: `json.dumps` would escape a lone surrogate the same way a phone does.
    form = json.dumps({**FORM, "child": {**FORM["child"], "full_name": "NAME"}})
    form = form.replace('"NAME"', json.dumps(full_name))
    return f'{{"service": "birth-registration", "administrative_unit": 2266, "form_data": {form}}}'


@pytest.mark.parametrize(
    "text", ["\ud800", "Lò\x00Văn", "A\x07", "\x9b", "Lò \udfff Pánh"], ids=repr
)
def test_forbidden_characters_anywhere_in_a_body_are_a_400_and_nothing_is_stored(
    world, citizen_a, text
):
    response = raw_post(client_for(citizen_a), REQUESTS, dossier_body(text))

    body = assert_error(response, 400, "invalid_characters", "form_data.child.full_name")
    assert body["type"] == "validation_error"
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize("text", ["Khmer ក្រុង\u200b", "Tày\u200d", "tab\tnewline\ncr\r"], ids=repr)
def test_joiners_and_ordinary_whitespace_stay(world, citizen_a, text):
    response = raw_post(client_for(citizen_a), REQUESTS, dossier_body(text))

    assert response.status_code == 201, response.content
    assert ServiceRequest.objects.get().form_data["child"]["full_name"] == text


def test_forbidden_characters_in_a_query_parameter_are_a_400(world, citizen_a):
    response = client_for(citizen_a).get(REQUESTS, {"service": "x\x00"})
    assert_error(response, 400, "invalid_characters", "service")
    # UTF-8 like every other answer, not \u-escaped.
    assert "Văn bản" in response.content.decode()


def test_a_dossier_that_already_holds_a_lone_surrogate_still_renders_everywhere(
    world, citizen_a, officer_commune, client
):
    dossier = make_dossier(world, citizen_a)
    # What an older version let in. SQLite's JSON keeps an escaped lone surrogate (which no
    # page could encode); PostgreSQL refuses one outright, but keeps a C1 control.
    bad = "Lò \x9b An" if connection.vendor == "postgresql" else "Lò \ud800 An"
    form = {**FORM, "child": {**FORM["child"], "full_name": bad}}
    ServiceRequest.objects.filter(pk=dossier.pk).update(form_data=form)
    assert ServiceRequest.objects.get(pk=dossier.pk).form_data["child"]["full_name"] == bad

    detail = client_for(citizen_a).get(f"{REQUESTS}{dossier.pk}/")
    assert detail.status_code == 200
    if connection.vendor != "postgresql":
        assert "\ufffd" in detail.content.decode()
    officer = client_for(officer_commune)
    received = officer.post(
        f"{REQUESTS}{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )
    assert received.status_code == 200, received.content
    client.force_login(officer_commune)
    page = client.get(f"/admin/services/servicerequest/{dossier.pk}/change/")
    assert page.status_code == 200


def test_a_body_over_the_size_limit_is_a_413(world, citizen_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    big = dossier_body("x" * (2 * 1024 * 1024))

    response = raw_post(client_for(citizen_a), REQUESTS, big)

    assert_error(response, 413, "request_too_large")
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("opener", "closer", "depth"), [("[", "]", 100_000), ('{"a":', "}", 5_000)]
)
def test_json_nested_too_deep_is_a_400(world, citizen_a, opener, closer, depth):
    body = opener * depth + "1" + closer * depth

    response = raw_post(client_for(citizen_a), REQUESTS, body)

    assert response.status_code == 400, response.content[:200]
    assert response.json()["errors"][0]["code"] in {"parse_error", "too_deep"}


def test_json_a_little_deeper_than_the_documented_depth_is_a_400(world, citizen_a):
    nested: object = "leaf"
    for _ in range(40):
        nested = {"n": nested}
    body = json.dumps(
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": nested}
    )

    response = raw_post(client_for(citizen_a), REQUESTS, body)

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["too_deep"]


@pytest.mark.parametrize("user_id", ["not-a-uuid", 12345, "", None, "9" * 400])
def test_a_signed_token_whose_user_id_is_no_id_is_a_401(user_id):
    token = AccessToken()
    token["user_id"] = user_id
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api.get("/api/v1/me/")

    assert response.status_code == 401, response.content


def test_bidi_controls_are_stripped_from_names_and_titles(world, citizen_a):
    from feedback.models import Feedback
    from tests.accounts.helpers import register_code
    from tests.feedback.helpers import category

    spoof = "Lò \u202eVăn\u202c Pánh"
    registered = APIClient().post(
        "/api/v1/auth/register/",
        {
            "phone": "0912 345 678",
            "password": "Suoi-Trong#2027",
            "full_name": spoof,
            "otp": register_code("0912 345 678"),
        },
        format="json",
    )
    assert registered.status_code == 201, registered.content
    assert registered.json()["full_name"] == "Lò Văn Pánh"
    sent = client_for(citizen_a).post(
        "/api/v1/feedback/",
        {
            "category": category().code,
            "administrative_unit": 2266,
            "title": "Đường \u2066hỏng\u2069",
            "content": "Sạt lở",
        },
        format="json",
    )
    assert sent.status_code == 201, sent.content
    assert Feedback.objects.get().title == "Đường hỏng"
