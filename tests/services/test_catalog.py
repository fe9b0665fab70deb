import pytest
from django.core.management import call_command

from onestop.demo.dossiers import CATEGORIES, SERVICES
from services.models import PublicService, ServiceCategory

pytestmark = pytest.mark.django_db

SERVICES_URL = "/api/v1/services/"


@pytest.fixture
def demo(world):
    # `world` holds the provinces and communes the demo agencies point at.
    call_command("seed_demo", verbosity=0)


def codes(response):
    assert response.status_code == 200, response.json()
    return [item["code"] for item in response.json()["results"]]


def search(api, text, **params):
    return codes(api.get(SERVICES_URL, {"search": text, "page_size": 100, **params}))


def test_demo_catalog_has_a_dozen_services_in_vietnamese_and_english(demo):
    services = PublicService.objects.filter(is_active=True)
    assert services.count() >= 12
    for service in services:
        assert service.name["vi"] and service.name["en"], service.code
        assert service.description["vi"] and service.description["en"], service.code
        assert service.form_schema["type"] == "object", service.code
        for document in service.required_documents:
            assert document["name"]["vi"] and document["name"]["en"], service.code
    for category in ServiceCategory.objects.all():
        assert category.name["vi"] and category.name["en"]
    expected = {
        "birth-registration",
        "death-registration",
        "residence-confirmation",
        "marital-status-confirmation",
        "ethnic-minority-pupil-support",
        "monthly-social-allowance",
        "health-insurance-card",
        "land-use-certificate",
        "household-business-registration",
        "copy-certification",
        "poor-household-certification",
        "housing-support",
    }
    assert expected <= set(services.values_list("code", flat=True))
    assert PublicService.objects.get(code="land-use-certificate").level == "province"


def test_every_form_schema_title_is_vietnamese_and_every_field_has_one(demo):
    def walk(schema, path):
        for name, field in schema.get("properties", {}).items():
            assert field.get("title"), f"{path}.{name} has no title"
            walk(field, f"{path}.{name}")

    for row in SERVICES:
        walk(row["form_schema"], row["code"])


def test_seed_demo_is_idempotent(demo):
    before = (PublicService.objects.count(), ServiceCategory.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (PublicService.objects.count(), ServiceCategory.objects.count()) == before
    assert before == (len(SERVICES), len(CATEGORIES))


@pytest.mark.parametrize(
    "text",
    ["khai sinh", "Khai Sinh", "KHAI SINH", "khái sinh", "đăng ký khai sinh", "dang ky khai sinh"],
)
def test_search_ignores_case_and_diacritics(demo, api, text):
    found = search(api, text)
    assert "birth-registration" in found
    assert "death-registration" not in found


def test_search_matches_every_word_anywhere_in_the_name(demo, api):
    assert search(api, "hộ nghèo xác nhận") == ["poor-household-certification"]
    assert search(api, "bao hiem y te") == ["health-insurance-card"]
    assert search(api, "dan toc thieu so") == [
        "ethnic-minority-pupil-support",
        "health-insurance-card",
    ]


def test_search_in_english_follows_the_negotiated_language(demo, api):
    # "copies" is in the English name only, not in the code.
    assert search(api, "copies") == []
    assert search(api, "copies", lang="en") == ["copy-certification"]
    response = api.get(SERVICES_URL, {"search": "Copies"}, HTTP_ACCEPT_LANGUAGE="en")
    assert codes(response) == ["copy-certification"]
    # Vietnamese names are searched whatever the language of the answer.
    assert search(api, "chung thuc", lang="en") == ["copy-certification"]


def test_search_by_code_and_national_code(demo, api):
    assert search(api, "birth") == ["birth-registration"]
    assert search(api, "1.001193") == ["birth-registration"]


def test_search_without_match_and_blank_search(demo, api):
    assert search(api, "xyz không có") == []
    assert len(search(api, "   ")) == PublicService.objects.count()


def test_overlong_search_is_400(demo, api):
    response = api.get(SERVICES_URL, {"search": "a" * 101})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "search"


def test_filters_by_category_and_level_and_combine_with_search(demo, api):
    civil = codes(api.get(SERVICES_URL, {"category": "civil-status", "page_size": 100}))
    assert set(civil) == {
        "birth-registration",
        "death-registration",
        "marriage-registration",
        "marital-status-confirmation",
    }
    province = codes(api.get(SERVICES_URL, {"level": "province"}))
    assert province == ["land-use-certificate"]
    assert search(api, "khai", category="civil-status") == [
        "birth-registration",
        "death-registration",
    ]
    assert search(api, "khai sinh", level="province") == []


def test_bad_level_is_400(demo, api):
    response = api.get(SERVICES_URL, {"level": "district"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "level"


def test_list_item_shape(demo, api):
    item = api.get(SERVICES_URL, {"search": "khai sinh", "lang": "en"}).json()["results"][0]
    assert item == {
        "code": "birth-registration",
        "name": "Birth registration",
        "category": {"code": "civil-status", "name": "Civil status"},
        "level": "commune",
        "processing_days": 1,
        "fee": 0,
        "online_level": "full",
    }


def test_detail_shape_with_documents_and_form(demo, api):
    response = api.get(f"{SERVICES_URL}birth-registration/")
    assert response.status_code == 200
    body = response.json()
    assert body["national_code"] == "1.001193"
    assert body["name"] == "Đăng ký khai sinh"
    assert body["description"].startswith("Đăng ký khai sinh")
    assert body["required_documents"][0] == {
        "name": "Giấy chứng sinh",
        "required": True,
        "kinds": ["pdf", "image"],
    }
    schema = body["form_schema"]
    assert schema["required"] == ["child", "mother"]
    assert schema["properties"]["child"]["properties"]["birth_date"]["title"] == (
        "Ngày, tháng, năm sinh"
    )
    english = api.get(f"{SERVICES_URL}birth-registration/", {"lang": "en"}).json()
    assert english["required_documents"][0]["name"] == "Medical birth certificate"


def test_unknown_national_codes_are_left_blank(demo):
    # Only codes known for certain are filled in; the rest stay blank, never invented.
    assert PublicService.objects.get(code="housing-support").national_code == ""


@pytest.mark.parametrize("size", [1, 50])
def test_list_query_count_is_fixed(demo, api, django_assert_num_queries, size):
    # the page, services joined to their categories (language: `vi` needs no lookup)
    with django_assert_num_queries(1):
        response = api.get(SERVICES_URL, {"page_size": size})
    assert len(response.json()["results"]) == min(size, PublicService.objects.count())
    # search adds one read of the (filtered) catalog
    with django_assert_num_queries(2):
        response = api.get(SERVICES_URL, {"page_size": size, "search": "xa"})
    assert response.status_code == 200


def test_a_first_catalog_page_is_kept_until_a_service_changes(demo, api, django_assert_num_queries):
    first = api.get("/api/v1/services/", {"page_size": 5, "lang": "en"})
    # The same page again: no SQL at all, the same bytes and tag.
    with django_assert_num_queries(0):
        again = api.get("/api/v1/services/", {"page_size": 5, "lang": "en"})
    assert again.content == first.content and again["ETag"] == first["ETag"]
    with django_assert_num_queries(0):
        unchanged = api.get(
            "/api/v1/services/",
            {"page_size": 5, "lang": "en"},
            headers={"If-None-Match": first["ETag"]},
        )
    assert unchanged.status_code == 304
    # Another language is another page.
    vietnamese = api.get("/api/v1/services/", {"page_size": 5, "lang": "vi"})
    assert vietnamese["Content-Language"] == "vi" and vietnamese.content != first.content
    # A change in the admin (a save) shows at once.
    service = PublicService.objects.get(code=first.json()["results"][0]["code"])
    service.name = {**service.name, "en": "Birth registration (renamed)"}
    service.save()
    renamed = api.get("/api/v1/services/", {"page_size": 5, "lang": "en"})
    assert renamed.json()["results"][0]["name"] == "Birth registration (renamed)"
    assert renamed["ETag"] != first["ETag"]


def test_searches_and_later_pages_are_not_kept(demo, api):
    from common import refcache
    from services.api.views import CATALOG_PAGES

    api.get("/api/v1/services/", {"search": "khai sinh"})
    page = api.get("/api/v1/services/", {"page_size": 2})
    api.get(page.json()["next"])
    kept = [key for key in refcache._entries if key[0] == CATALOG_PAGES]
    assert len(kept) == 1 and "page_size=2" in kept[0][1][0]


def test_catalog_pages_kept_are_bounded(demo, api, monkeypatch):
    from common import refcache
    from services.api import views

    monkeypatch.setattr(views, "CATALOG_PAGES_KEPT", 3)
    for size in range(1, 8):
        assert api.get("/api/v1/services/", {"page_size": size}).status_code == 200
    kept = [key for key in refcache._entries if key[0] == views.CATALOG_PAGES]
    assert len(kept) == 3
    # Beyond the bound, pages are built every time, and still right.
    assert len(api.get("/api/v1/services/", {"page_size": 7}).json()["results"]) == 7
