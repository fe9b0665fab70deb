import pytest

from accounts import actions
from tests.accounts.helpers import assert_error
from tests.conftest import client_for

ME = "/api/v1/me/"


def test_me_shows_my_profile(citizen_a, django_assert_num_queries):
    client = client_for(citizen_a)

    # The user (authentication), then the home commune.
    with django_assert_num_queries(2):
        response = client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": str(citizen_a.id),
        "phone": "+84900000001",
        "full_name": "Hoàng Thị Mai",
        "preferred_language": "vi",
        "administrative_unit": {"code": 2266, "name": "Xã Lâm Bình", "level": "commune"},
        "is_staff": False,
        "phone_verified_at": None,
        "ethnic_group": None,
    }


def test_me_without_home_commune(citizen_b):
    response = client_for(citizen_b).get(ME)

    assert response.status_code == 200
    assert response.json()["administrative_unit"] is None


def test_me_of_a_staff_member_says_so(officer_commune):
    assert client_for(officer_commune).get(ME).json()["is_staff"] is True


def test_patch_me_changes_name_language_and_commune(citizen_a, world):
    response = client_for(citizen_a).patch(
        ME,
        {
            "full_name": " Hoàng  Thị Mai Anh ",
            "preferred_language": "tyz",
            "administrative_unit": 2269,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": str(citizen_a.id),
        "phone": "+84900000001",
        "full_name": "Hoàng Thị Mai Anh",
        "preferred_language": "tyz",
        "administrative_unit": {"code": 2269, "name": "Xã Thượng Lâm", "level": "commune"},
        "is_staff": False,
        "phone_verified_at": None,
        "ethnic_group": None,
    }
    citizen_a.refresh_from_db()
    assert citizen_a.full_name == "Hoàng Thị Mai Anh"
    assert citizen_a.preferred_language == "tyz"
    assert citizen_a.administrative_unit == world["thuong_lam"]


def test_patch_me_changes_only_what_is_sent(citizen_a, world):
    response = client_for(citizen_a).patch(ME, {"preferred_language": "en"}, format="json")

    assert response.status_code == 200
    citizen_a.refresh_from_db()
    assert citizen_a.preferred_language == "en"
    assert citizen_a.full_name == "Hoàng Thị Mai"
    assert citizen_a.administrative_unit == world["lam_binh"]


def test_patch_me_null_clears_the_home_commune(citizen_a):
    response = client_for(citizen_a).patch(ME, {"administrative_unit": None}, format="json")

    assert response.status_code == 200
    assert response.json()["administrative_unit"] is None
    citizen_a.refresh_from_db()
    assert citizen_a.administrative_unit is None


def test_patch_me_cannot_change_phone_or_staff_flag(citizen_a):
    response = client_for(citizen_a).patch(
        ME, {"phone": "0912345678", "is_staff": True, "is_superuser": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "+84900000001"
    assert response.json()["is_staff"] is False
    citizen_a.refresh_from_db()
    assert citizen_a.phone == "+84900000001"
    assert not citizen_a.is_staff and not citizen_a.is_superuser


@pytest.mark.parametrize(
    "code",
    [
        99999,  # no such unit
        8,  # a province (Tuyên Quang), not a commune
    ],
)
def test_patch_me_unknown_commune_is_400_and_changes_nothing(citizen_a, world, code):
    response = client_for(citizen_a).patch(
        ME, {"full_name": "Tên Mới", "administrative_unit": code}, format="json"
    )

    assert_error(response, 400, "does_not_exist", "administrative_unit")
    citizen_a.refresh_from_db()
    assert citizen_a.full_name == "Hoàng Thị Mai"
    assert citizen_a.administrative_unit == world["lam_binh"]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("full_name", "", "blank"),
        ("full_name", "x" * 151, "max_length"),
        ("full_name", 42, "invalid"),
        ("full_name", None, "null"),
        ("preferred_language", "xx", "invalid_choice"),
        ("administrative_unit", "Lâm Bình", "invalid"),
        ("administrative_unit", 0, "min_value"),
        ("administrative_unit", 2**40, "max_value"),
    ],
)
def test_patch_me_rejects_bad_values(citizen_a, field, value, code):
    response = client_for(citizen_a).patch(ME, {field: value}, format="json")

    assert_error(response, 400, code, field)
    citizen_a.refresh_from_db()
    assert citizen_a.full_name == "Hoàng Thị Mai"
    assert citizen_a.preferred_language == "vi"


def test_patch_me_malformed_json_is_a_parse_error(citizen_a):
    response = client_for(citizen_a).patch(ME, '{"full_name": ', content_type="application/json")

    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("method", ["put", "post"])
def test_me_allows_only_get_patch_and_delete(citizen_a, method):
    response = getattr(client_for(citizen_a), method)(ME, {}, format="json")

    assert_error(response, 405, "method_not_allowed")


@pytest.mark.django_db
def test_me_needs_authentication(api):
    assert_error(api.get(ME), 401, "not_authenticated")
    assert_error(api.patch(ME, {"full_name": "X"}, format="json"), 401, "not_authenticated")


def test_update_profile_refuses_fields_it_does_not_own(citizen_a):
    with pytest.raises(TypeError):
        actions.update_profile(citizen_a, is_staff=True)
    citizen_a.refresh_from_db()
    assert not citizen_a.is_staff
