from unittest import mock

import pytest
from django.db import IntegrityError

from accounts import actions
from accounts.models import OneTimeCode, User
from tests.accounts.helpers import age_codes, assert_error, register_code
from tests.factories import PASSWORD

URL = "/api/v1/auth/register/"
STRONG = "Nuong-Rau-2026!"


def body(**overrides):
    data = {"phone": "0912 345 678", "password": STRONG, "full_name": "Lò Thị Xuân"}
    data.update(overrides)
    return data


def signup(**overrides):
    """A body with a valid `register` code for its phone, as the SMS would carry it."""
    data = body(**overrides)
    return {**data, "otp": register_code(data["phone"])}


@pytest.mark.django_db
def test_register_creates_a_citizen_and_returns_it_without_password(api):
    response = api.post(URL, signup(full_name="  Lò   Thị Xuân "), format="json")

    assert response.status_code == 201, response.content
    user = User.objects.get()
    assert user.phone_verified_at is not None
    assert response.json() == {
        "id": str(user.id),
        "phone": "+84912345678",
        "full_name": "Lò Thị Xuân",
        "preferred_language": "vi",
        "administrative_unit": None,
        "is_staff": False,
        "phone_verified_at": user.phone_verified_at.astimezone().isoformat(),
        "ethnic_group": None,
    }
    assert user.phone == "+84912345678"
    assert user.full_name == "Lò Thị Xuân"
    assert user.check_password(STRONG)
    assert not user.is_staff and not user.is_superuser and user.is_active


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed",
    ["0912 345 678", "+84 912 345 678", "84912345678", "0912-345-678", "(+84) 912.345.678"],
)
def test_register_normalises_the_phone_to_e164(api, typed):
    response = api.post(URL, signup(phone=typed), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+84912345678"
    assert list(User.objects.values_list("phone", flat=True)) == ["+84912345678"]


@pytest.mark.django_db
def test_register_keeps_a_chosen_language(api):
    response = api.post(URL, signup(preferred_language="hmn"), format="json")

    assert response.status_code == 201
    assert response.json()["preferred_language"] == "hmn"
    assert User.objects.get().preferred_language == "hmn"


@pytest.mark.django_db
def test_register_stores_names_in_composed_unicode(api):
    decomposed = "Lo\u0300 Thi\u0323 Xua\u0302n"

    response = api.post(URL, signup(full_name=decomposed), format="json")

    assert response.status_code == 201
    assert User.objects.get().full_name == "Lò Thị Xuân"


@pytest.mark.django_db
def test_register_malformed_json_is_a_parse_error(api):
    response = api.post(URL, '{"phone": "0912345678",', content_type="application/json")

    assert_error(response, 400, "parse_error")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_needs_phone_password_and_name(api):
    response = api.post(URL, {}, format="json")

    body_ = assert_error(response, 400, "required", "phone")
    assert {(e["code"], e["attr"]) for e in body_["errors"]} == {
        ("required", "phone"),
        ("required", "password"),
        ("required", "full_name"),
        ("required", "otp"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("phone", 912345678, "invalid"),
        ("phone", ["0912345678"], "invalid"),
        ("phone", None, "null"),
        ("password", 12345678901, "invalid"),
        ("password", {"x": 1}, "invalid"),
        ("full_name", ["Lò Thị Xuân"], "invalid"),
        ("full_name", True, "invalid"),
        ("full_name", "   ", "blank"),
        ("full_name", "x" * 151, "max_length"),
        ("preferred_language", "xx", "invalid_choice"),
        # A number is not a string (common.api.strings), before it is not a language.
        ("preferred_language", 1, "invalid"),
        ("password", "x" * 129, "max_length"),
    ],
)
def test_register_rejects_wrong_types_and_values(api, field, value, code):
    response = api.post(URL, body(**{field: value}), format="json")

    assert_error(response, 400, code, field)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_rejects_a_body_that_is_not_an_object(api):
    response = api.post(URL, [body()], format="json")

    assert_error(response, 400, "invalid", "non_field_errors")


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["0912", "not a phone", "0000000000", "+84 123", "1" * 40])
def test_register_rejects_an_invalid_phone(api, phone):
    response = api.post(URL, body(phone=phone), format="json")

    assert_error(response, 400, "invalid_phone", "phone")
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!", "password_too_short"),
        ("12345678901", "password_entirely_numeric"),
        ("password123", "password_too_common"),
    ],
)
def test_register_rejects_a_weak_password(api, password, code):
    response = api.post(URL, body(password=password, otp="123456"), format="json")

    assert_error(response, 400, code, "password")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_an_already_registered_phone_gets_no_code_and_changes_nothing(api):
    assert api.post(URL, signup(phone="0912345678"), format="json").status_code == 201
    age_codes()

    # Asking works as for any phone, but no code goes to a phone that has an account.
    guessed = {**signup(phone="+84 912 345 678", full_name="Kẻ Mạo Danh"), "otp": "123456"}
    response = api.post(URL, guessed, format="json")

    assert_error(response, 400, "invalid_code", "otp")
    assert User.objects.filter(phone="+84912345678").count() == 1
    assert User.objects.get().full_name == "Lò Thị Xuân"


def test_register_a_persona_phone_in_local_format_is_refused(api, citizen_a):
    response = api.post(URL, signup(phone="0900 000 001"), format="json")

    assert_error(response, 400, "invalid_code", "otp")
    assert User.objects.filter(phone="+84900000001").count() == 1
    citizen_a.refresh_from_db()
    assert citizen_a.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_phone_registered_after_its_code_was_sent_is_a_conflict_that_keeps_the_code(api):
    data = signup(phone="0912345678")
    User.objects.create_user(phone="0912345678", password=STRONG, full_name="Nhanh Tay")

    assert_error(api.post(URL, data, format="json"), 409, "phone_taken")

    assert OneTimeCode.objects.get().used_at is None


def test_register_bad_body_answers_400_before_the_conflict(api, citizen_a):
    response = api.post(URL, body(phone="0900000001", password="123", otp="123456"), format="json")

    assert_error(response, 400, "password_too_short", "password")


@pytest.mark.django_db
def test_register_citizen_turns_a_lost_race_on_the_phone_into_a_conflict():
    code = register_code("0912345678")
    User.objects.create_user(phone="0912345678", password=STRONG, full_name="A")

    # The unique index, not a pre-check, decides; the outer transaction stays usable.
    with pytest.raises(actions.PhoneTaken):
        actions.register_citizen(
            phone="+84912345678", password=STRONG, full_name="B", otp_code=code
        )
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_register_citizen_does_not_hide_other_integrity_errors():
    with (
        mock.patch.object(User.objects, "create_user", side_effect=IntegrityError("other")),
        pytest.raises(IntegrityError),
    ):
        actions.register_citizen(
            phone="0912345678", password=STRONG, full_name="A", otp_code=register_code("0912345678")
        )


@pytest.mark.django_db
def test_register_is_throttled_per_phone(api):
    # 10/hour per phone (settings); conflicts count as attempts too.
    for _ in range(10):
        api.post(URL, body(phone="0912345678"), format="json")

    response = api.post(URL, body(phone="+84912345678"), format="json")

    assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0
    other = api.post(URL, signup(phone="0912345679"), format="json")
    assert other.status_code == 201, other.content


@pytest.mark.django_db
def test_register_ignores_a_stale_authorization_header(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    assert api.post(URL, signup(), format="json").status_code == 201
