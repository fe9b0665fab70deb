"""Languages as data, language negotiation, translated messages and `GET languages/`."""

import pytest
from django.utils import translation

from accounts.models import User
from common import i18n
from common.i18n import (
    UnsupportedLanguage,
    enabled_languages,
    invalidate_languages,
    negotiate_language,
    parse_accept_language,
)
from common.models import Language
from services.models import PublicService, ServiceCategory
from tests.accounts.helpers import assert_error, register_code
from tests.conftest import client_for

LANGUAGES = "/api/v1/languages/"
CATEGORIES = "/api/v1/service-categories/"
REGISTER = "/api/v1/auth/register/"
ME = "/api/v1/me/"

SEEDED = ("vi", "en", "tyz", "blt", "mtq", "hmn", "km", "nut", "ium", "jra", "rad", "bdq")


def _disable(code):
    Language.objects.filter(code=code).update(enabled=False)
    invalidate_languages()


# -- the table -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_seeds_twelve_languages_with_their_own_names():
    languages = {lang.code: lang for lang in Language.objects.all()}
    assert set(languages) == set(SEEDED)
    assert all(lang.enabled for lang in languages.values())
    assert languages["vi"].native_name == "Tiếng Việt"
    assert languages["km"].native_name == "ខ្មែរ"
    assert languages["hmn"].native_name == "Hmoob"
    assert languages["rad"].native_name == "Êđê"
    assert languages["blt"].english_name == "Tai Dam"
    assert enabled_languages() == SEEDED


@pytest.mark.django_db
def test_enabled_languages_are_cached_until_invalidated(django_assert_num_queries):
    enabled_languages()
    with django_assert_num_queries(0):
        assert "hmn" in enabled_languages()

    Language.objects.filter(code="hmn").update(enabled=False)
    assert "hmn" in enabled_languages()  # still the cached list
    invalidate_languages()
    assert "hmn" not in enabled_languages()


@pytest.mark.django_db
def test_an_empty_table_falls_back_to_vietnamese_and_english():
    Language.objects.all().delete()
    invalidate_languages()
    assert enabled_languages() == ("vi", "en")


@pytest.mark.django_db
def test_vietnamese_stays_enabled_whatever_the_table_says():
    _disable("vi")
    assert enabled_languages()[0] == "vi"


# -- negotiation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("fr;q=0.9, en;q=0.5", ["fr", "en"]),
        ("en;q=0.5, fr", ["fr", "en"]),
        ("en;q=0, tyz", ["tyz"]),
        ("en; q=0.8, vi-VN; q=0.8", ["en", "vi-vn"]),
        ("en;q=abc, tyz;q=0.2", ["tyz"]),
        ("en;q=1.5, km", ["km"]),
        ("", []),
        (" , ;q=1", []),
    ],
)
def test_accept_language_is_ordered_by_q_value(header, tags):
    assert parse_accept_language(header) == tags


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "header", "preferred", "expected"),
    [
        (None, "fr;q=0.9, en;q=0.5", None, "en"),
        (None, "en;q=0, tyz", None, "tyz"),
        (None, "en-US,en;q=0.9", None, "en"),
        (None, "EN_gb", None, "en"),
        (None, "vi-VN, en;q=0.5", None, "vi"),
        (None, "fr, de", "hmn", "hmn"),
        (None, "*", "km", "km"),
        (None, "", "tyz", "tyz"),
        (None, "", "xx", "vi"),
        (None, "", None, "vi"),
        ("tyz", "en", "hmn", "tyz"),
        ("en-GB", "", None, "en"),
        ("", "en", None, "en"),
    ],
)
def test_negotiation_order(query, header, preferred, expected):
    assert negotiate_language(query=query, accept_language=header, preferred=preferred) == expected


@pytest.mark.django_db
def test_an_unknown_or_disabled_query_is_refused_only_when_strict():
    _disable("km")
    for code in ("xx", "km"):
        with pytest.raises(UnsupportedLanguage):
            negotiate_language(query=code)
        assert negotiate_language(query=code, accept_language="en", strict=False) == "en"
    # A disabled language in the header is simply skipped.
    assert negotiate_language(accept_language="km, tyz;q=0.5") == "tyz"


@pytest.mark.django_db
def test_the_common_case_reads_no_language_list(django_assert_num_queries):
    invalidate_languages()
    with django_assert_num_queries(0):
        assert negotiate_language() == "vi"
        assert negotiate_language(accept_language="vi-VN,vi;q=0.9") == "vi"
        assert negotiate_language(preferred="vi") == "vi"


@pytest.mark.django_db
def test_query_over_header_over_the_users_preference(world, citizen_a):
    citizen_a.preferred_language = "tyz"
    citizen_a.save()
    client = client_for(citizen_a)

    assert client.get(ME)["Content-Language"] == "tyz"
    assert client.get(ME, HTTP_ACCEPT_LANGUAGE="hmn, en;q=0.5")["Content-Language"] == "hmn"
    assert client.get(f"{ME}?lang=en", HTTP_ACCEPT_LANGUAGE="hmn")["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["xx", "english", "km"])
def test_an_unknown_or_disabled_lang_is_a_400_on_lang(api, lang):
    _disable("km")

    response = api.get(f"{CATEGORIES}?lang={lang}", HTTP_ACCEPT_LANGUAGE="en")

    body = assert_error(response, 400, "invalid_choice", "lang")
    assert "/api/v1/languages/" in body["errors"][0]["detail"]
    # The error itself is in the language the request would have had without `?lang=`.
    assert response["Content-Language"] == "en"
    assert body["errors"][0]["detail"].startswith(f"“{lang}” is not an available language")


@pytest.mark.django_db
def test_authentication_comes_before_the_lang_check(api):
    response = api.get(f"{ME}?lang=xx", HTTP_ACCEPT_LANGUAGE="en")

    body = assert_error(response, 401, "not_authenticated")
    assert body["errors"][0]["detail"] == "Authentication credentials were not provided."
    assert response["Content-Language"] == "en"


# -- Content-Language on every app's responses -----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "as_user"),
    [
        ("get", ME, True),
        ("post", REGISTER, False),
        ("post", "/api/v1/auth/token/", False),
        ("get", "/api/v1/administrative-units/", False),
        ("get", "/api/v1/agencies/", False),
        ("get", CATEGORIES, False),
        ("get", "/api/v1/services/", False),
        ("get", "/api/v1/services/birth-registration/", False),
        ("get", "/api/v1/requests/", True),
        ("get", "/api/v1/notifications/", True),
        ("get", "/api/v1/notifications/unread-count/", True),
        ("post", "/api/v1/devices/", True),
        ("get", LANGUAGES, False),
    ],
)
def test_every_app_answers_with_content_language(api, citizen_a, method, path, as_user):
    client = client_for(citizen_a) if as_user else api

    response = getattr(client, method)(path, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code < 500, response.content
    assert response["Content-Language"] == "en"
    assert "Accept-Language" in response["Vary"]
    default = getattr(client, method)(path, {}, format="json")
    assert default["Content-Language"] == "vi"


# -- Django's and the project's messages follow the language ---------------------------------


@pytest.mark.django_db
def test_validation_messages_are_vietnamese_by_default_and_english_on_request(api):
    vietnamese = assert_error(api.post(REGISTER, {}, format="json"), 400, "required", "phone")
    english = assert_error(
        api.post(REGISTER, {}, format="json", HTTP_ACCEPT_LANGUAGE="en"), 400, "required", "phone"
    )

    details_vi = {e["attr"]: e["detail"] for e in vietnamese["errors"]}
    details_en = {e["attr"]: e["detail"] for e in english["errors"]}
    assert set(details_vi) == set(details_en) == {"phone", "password", "full_name", "otp"}
    assert set(details_vi.values()) == {"Trường này là bắt buộc."}
    assert set(details_en.values()) == {"This field is required."}


@pytest.mark.django_db
def test_a_language_without_a_django_catalog_gets_vietnamese_messages(api):
    body = assert_error(
        api.post(f"{REGISTER}?lang=tyz", {}, format="json"), 400, "required", "phone"
    )
    assert body["errors"][0]["detail"] == "Trường này là bắt buộc."


@pytest.mark.django_db
def test_project_and_password_messages_are_translated(api):
    weak = {
        "phone": "0912345678",
        "password": "12345678",
        "full_name": "Lò Văn Pánh",
        "otp": "123456",
    }
    vi = assert_error(
        api.post(REGISTER, weak, format="json"), 400, "password_entirely_numeric", "password"
    )
    assert "Mật khẩu này hoàn toàn là số." in {e["detail"] for e in vi["errors"]}

    bad_phone = {**weak, "phone": "0912", "password": "DemoPass#2026"}
    vi = assert_error(api.post(REGISTER, bad_phone, format="json"), 400, "invalid_phone", "phone")
    assert vi["errors"][0]["detail"] == "Nhập một số điện thoại hợp lệ."
    en = assert_error(
        api.post(REGISTER, bad_phone, format="json", HTTP_ACCEPT_LANGUAGE="en"),
        400,
        "invalid_phone",
        "phone",
    )
    assert en["errors"][0]["detail"] == "Enter a valid phone number."


@pytest.mark.django_db
def test_the_negotiated_language_does_not_outlive_the_request(api):
    before = translation.get_language()
    api.post(REGISTER, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert translation.get_language() == before


# -- preferred_language is one of the enabled languages ---------------------------------------


@pytest.mark.django_db
def test_register_accepts_an_enabled_language_and_refuses_a_disabled_one(api):
    body = {"phone": "0912345678", "password": "DemoPass#2026", "full_name": "Lò Văn Pánh"}
    _disable("km")

    refused = api.post(REGISTER, {**body, "preferred_language": "km"}, format="json")
    assert_error(refused, 400, "invalid_choice", "preferred_language")
    assert refused.json()["errors"][0]["detail"] == "“km” không phải là một lựa chọn hợp lệ."

    body["otp"] = register_code(body["phone"])
    accepted = api.post(REGISTER, {**body, "preferred_language": "blt"}, format="json")
    assert accepted.status_code == 201, accepted.content
    assert User.objects.get().preferred_language == "blt"


@pytest.mark.django_db
def test_me_refuses_a_disabled_language(citizen_a):
    _disable("hmn")
    response = client_for(citizen_a).patch(ME, {"preferred_language": "hmn"}, format="json")
    assert_error(response, 400, "invalid_choice", "preferred_language")


# -- GET languages/ --------------------------------------------------------------------------


def _catalog():
    category = ServiceCategory.objects.create(
        code="civil-status", name={"vi": "Hộ tịch", "en": "Civil status", "tyz": "Hộ tịch (Tày)"}
    )
    PublicService.objects.create(
        code="birth-registration",
        name={"vi": "Đăng ký khai sinh", "en": "Birth registration"},
        description={"vi": "Đăng ký khai sinh cho trẻ em.", "en": "Register a birth."},
        category=category,
        level=PublicService.Level.COMMUNE,
        processing_days=3,
        online_level=PublicService.OnlineLevel.FULL,
        required_documents=[
            {"name": {"vi": "Giấy chứng sinh", "en": "Birth certificate", "tyz": " "}},
            {"name": {"vi": "Tờ khai", "en": "Declaration form"}},
        ],
    )
    # Withdrawn services are not shown, so they do not count.
    PublicService.objects.create(
        code="old",
        name={"vi": "Thủ tục cũ"},
        category=category,
        level=PublicService.Level.COMMUNE,
        processing_days=3,
        online_level=PublicService.OnlineLevel.FULL,
        is_active=False,
    )


@pytest.mark.django_db
def test_languages_lists_enabled_languages_with_completeness(api, django_assert_num_queries):
    _catalog()
    _disable("bdq")

    # Languages, categories, services, templates; then only the languages (cached counts).
    with django_assert_num_queries(4):
        response = api.get(LANGUAGES)
    with django_assert_num_queries(1):
        assert api.get(LANGUAGES).json() == response.json()

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()}
    assert [row["code"] for row in response.json()] == [c for c in SEEDED if c != "bdq"]
    assert rows["km"] == {
        "code": "km",
        "native_name": "ខ្មែរ",
        "english_name": "Khmer",
        "completeness": 0,
    }
    # 5 catalog texts (category, name, description, 2 documents) + one per notification
    # kind; Tày has the category name only (a blank text does not count), rounded down.
    from notifications.messages import PLACEHOLDERS

    assert rows["vi"]["completeness"] == 100
    assert rows["en"]["completeness"] == 100
    assert rows["tyz"]["completeness"] == 100 // (5 + len(PLACEHOLDERS))


@pytest.mark.django_db
def test_languages_completeness_with_nothing_to_translate(api):
    from notifications.models import NotificationTemplate

    NotificationTemplate.objects.all().delete()
    assert {row["completeness"] for row in api.get(LANGUAGES).json()} == {100}


@pytest.mark.django_db
def test_a_new_language_from_the_admin_is_spoken_at_once(superuser):
    from django.test import Client

    enabled_languages()  # cached before the change
    admin = Client()
    admin.force_login(superuser)
    response = admin.post(
        "/admin/common/language/add/",
        {
            "code": "lo",
            "native_name": "ລາວ",
            "english_name": "Lao",
            "enabled": "on",
            "position": "50",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    assert "lo" in enabled_languages()
    assert i18n.negotiate_language(query="lo") == "lo"


@pytest.mark.django_db
def test_the_admin_refuses_to_disable_vietnamese_and_bad_codes(superuser):
    from django.test import Client

    admin = Client()
    admin.force_login(superuser)
    vi = {"native_name": "Tiếng Việt", "english_name": "Vietnamese", "position": "1"}
    response = admin.post("/admin/common/language/vi/change/", vi)  # `enabled` unticked
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["enabled"]
    assert Language.objects.get(code="vi").enabled

    bad = {"code": "Not A Code", "native_name": "x", "english_name": "x", "position": "1"}
    response = admin.post("/admin/common/language/add/", bad)
    assert list(response.context["adminform"].form.errors) == ["code"]
    assert not Language.objects.filter(native_name="x").exists()
