"""Public lookup of a dossier by tracking code and the last 4 digits of the applicant's phone."""

import pytest

from common.tracking import check_character
from services.models import ServiceRequest
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/requests/lookup/"
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
BODY = "0K1M9QX2"  # a 0 and a 1, to be typed as O and I/L
CODE = f"DV-{BODY[:4]}-{BODY[4:]}-{check_character(BODY)}"
LAST4 = "0001"  # citizen_a is +84900000001


@pytest.fixture
def dossier(world, citizen_a):
    response = client_for(citizen_a).post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM},
        format="json",
    )
    assert response.status_code == 201
    ServiceRequest.objects.filter(pk=response.json()["id"]).update(tracking_code=CODE)
    return ServiceRequest.objects.get(pk=response.json()["id"])


def lookup(client, code, last4=LAST4, **extra):
    return client.get(URL, {"tracking_code": code, "phone_last4": last4, **extra})


def test_lookup_shows_status_and_service_only(api, dossier):
    response = lookup(api, CODE)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"tracking_code", "status", "service", "updated_at", "due_at"}
    assert body["tracking_code"] == CODE
    assert body["status"] == "submitted"
    assert body["service"] == {"code": "birth-registration", "name": "Đăng ký khai sinh"}
    assert body["due_at"] is None
    assert body["updated_at"]


def test_the_service_name_follows_the_asked_language(api, dossier):
    response = lookup(api, CODE, lang="en")
    assert response.json()["service"]["name"] == "Birth registration"
    assert response["Content-Language"] == "en"


@pytest.mark.parametrize(
    "typed",
    [
        CODE.lower(),
        CODE.replace("-", ""),
        f" {CODE.replace('-', ' ')} ",
        CODE.replace("0", "O").replace("1", "I"),
        CODE.replace("0", "o").replace("1", "l").lower(),
        CODE[3:],  # without the prefix
    ],
)
def test_the_code_is_read_forgivingly(api, dossier, typed):
    response = lookup(api, typed)
    assert response.status_code == 200, (typed, response.json())
    assert response.json()["tracking_code"] == CODE


def test_a_received_dossier_shows_its_due_date(api, dossier, officer_commune):
    client_for(officer_commune).post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )
    body = lookup(api, CODE).json()
    assert body["status"] == "received"
    assert body["due_at"] is not None


def _wrong_check(code):
    last = code[-1]
    return code[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize(
    ("code", "last4"),
    [
        (CODE, "0002"),  # wrong phone digits
        (CODE, "1000"),
        ("WRONG-CHECK", LAST4),  # replaced below: wrong check character
        ("DV-ZZZZ-ZZZZ-" + check_character("ZZZZZZZZ"), LAST4),  # valid but unknown
        ("DV-0K1M", LAST4),  # too short
        ("PA-" + CODE[3:], LAST4),  # another kind's prefix
    ],
    ids=["wrong-last4", "reversed-last4", "wrong-check", "unknown", "truncated", "prefix"],
)
def test_every_miss_is_the_same_404(api, dossier, code, last4):
    if code == "WRONG-CHECK":
        code = _wrong_check(CODE)
    unknown = lookup(api, "DV-ZZZZ-ZZZZ-" + check_character("ZZZZZZZZ"), "9999")
    response = lookup(api, code, last4)

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert response.json() == unknown.json()
    assert response.headers.keys() == unknown.headers.keys()


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"tracking_code": CODE}, "phone_last4"),
        ({"tracking_code": CODE, "phone_last4": "12a4"}, "phone_last4"),
        ({"tracking_code": CODE, "phone_last4": "12345"}, "phone_last4"),
        ({"phone_last4": LAST4}, "tracking_code"),
    ],
)
def test_malformed_queries_are_400(api, world, params, attr):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert {e["attr"] for e in response.json()["errors"]} == {attr}


def test_anyone_may_look_up_even_with_a_stale_token(api, dossier):
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert lookup(api, CODE).status_code == 200


def test_lookups_are_throttled_per_tracking_code(api, dossier, citizen_b, world):
    spellings = [CODE, CODE.lower(), CODE.replace("-", "")]
    statuses = [lookup(api, spellings[i % 3], "9999").status_code for i in range(10)]
    assert statuses == [404] * 10

    throttled = lookup(api, CODE)  # even the right digits wait now
    assert throttled.status_code == 429
    assert throttled.json()["errors"][0]["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60

    other = lookup(api, "DV-ZZZZ-ZZZZ-" + check_character("ZZZZZZZZ"))
    assert other.status_code == 404  # another code has its own budget


def test_the_lookup_route_is_not_taken_for_a_dossier_id(api, dossier):
    # `lookup` would never match `<uuid:pk>`, but the detail view must not see it either.
    from django.urls import resolve

    assert resolve(URL).url_name == "request-lookup"


def test_the_lookup_runs_one_query(api, dossier, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert lookup(api, CODE).status_code == 200
