"""ETag on details and catalog lists; `If-None-Match` answers 304 with no body."""

import pytest
from rest_framework.test import APIClient

from services.actions import submit_request, transition_request
from services.models import PublicService
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


def vary(response):
    return {part.strip() for part in response.get("Vary", "").split(",") if part.strip()}


@pytest.fixture
def dossier(world, citizen_a):
    request, _ = submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    return request


@pytest.fixture
def urls(world, dossier):
    return {
        "request": f"/api/v1/requests/{dossier.pk}/",
        "service": "/api/v1/services/birth-registration/",
        "agency": f"/api/v1/agencies/{world['lam_binh_office'].pk}/",
        "services": "/api/v1/services/",
        "categories": "/api/v1/service-categories/",
    }


@pytest.mark.parametrize("name", ["request", "service", "agency", "services", "categories"])
def test_a_current_tag_is_answered_304_without_a_body(citizen_a, urls, name):
    client = client_for(citizen_a)
    first = client.get(urls[name])
    assert first.status_code == 200
    tag = first["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")

    again = client.get(urls[name], HTTP_IF_NONE_MATCH=tag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == tag
    assert vary(again) == vary(first)


def test_vary_names_what_the_body_depends_on(citizen_a, urls):
    client = client_for(citizen_a)
    assert vary(client.get(urls["request"])) >= {"Accept-Language", "Authorization"}
    # Without Accept-Language, the user's preferred language is the answer's language.
    assert vary(client.get(urls["services"])) >= {"Accept-Language", "Authorization"}
    assert vary(client.get(urls["agency"])) >= {"Accept-Language", "Authorization"}


def test_a_list_of_tags_a_weak_tag_and_star_all_match(citizen_a, urls):
    client = client_for(citizen_a)
    tag = client.get(urls["service"])["ETag"]
    for header in (f'"stale", {tag}', f"W/{tag}", "*", f' {tag} ,"other"'):
        assert client.get(urls["service"], HTTP_IF_NONE_MATCH=header).status_code == 304, header


@pytest.mark.parametrize("header", ['"stale"', "garbage", "", 'W/"stale", "other"'])
def test_other_tags_get_the_full_answer(citizen_a, urls, header):
    client = client_for(citizen_a)
    response = client.get(urls["service"], HTTP_IF_NONE_MATCH=header)
    assert response.status_code == 200
    assert response.json()["code"] == "birth-registration"


def test_a_changed_dossier_gets_a_new_tag(citizen_a, officer_commune, dossier, urls):
    client = client_for(citizen_a)
    old = client.get(urls["request"])["ETag"]

    transition_request(officer_commune, dossier, "receive")

    response = client.get(urls["request"], HTTP_IF_NONE_MATCH=old)
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert response["ETag"] != old
    assert client.get(urls["request"], HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_a_changed_service_changes_the_tag_of_the_catalog_and_the_detail(world, urls):
    api = APIClient()
    list_tag = api.get(urls["services"])["ETag"]
    detail_tag = api.get(urls["service"])["ETag"]

    service = PublicService.objects.get(code="birth-registration")
    service.fee = 8000
    service.save()

    assert api.get(urls["services"], HTTP_IF_NONE_MATCH=list_tag).status_code == 200
    fresh = api.get(urls["service"], HTTP_IF_NONE_MATCH=detail_tag)
    assert fresh.status_code == 200
    assert fresh.json()["fee"] == 8000


def test_the_tag_depends_on_the_language_and_the_fields(world, urls):
    api = APIClient()
    vi = api.get(urls["service"])
    en = api.get(urls["service"], HTTP_ACCEPT_LANGUAGE="en")
    trimmed = api.get(urls["service"], {"fields": "code"})
    assert (vi["Content-Language"], en["Content-Language"]) == ("vi", "en")
    assert len({vi["ETag"], en["ETag"], trimmed["ETag"]}) == 3
    # The Vietnamese tag does not validate the English answer.
    stale = api.get(urls["service"], HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=vi["ETag"])
    assert stale.status_code == 200


def test_same_bytes_in_another_language_get_another_tag():
    from common.api.mixins import entity_tag

    body = b'{"code": "birth-registration"}'
    assert entity_tag(body, "vi") != entity_tag(body, "en")
    assert entity_tag(body, "vi") == entity_tag(body, "vi")


def test_someone_elses_tag_does_not_reveal_a_dossier(citizen_a, citizen_b, urls):
    tag = client_for(citizen_a).get(urls["request"])["ETag"]
    response = client_for(citizen_b).get(urls["request"], HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 404
    assert "ETag" not in response
    assert response.json()["errors"][0]["code"] == "not_found"


def test_errors_and_writes_carry_no_tag(world, citizen_a, urls):
    api = APIClient()
    assert "ETag" not in api.get("/api/v1/services/no-such-service/")
    assert "ETag" not in api.get(urls["services"], {"page_size": 0})
    created = client_for(citizen_a).post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM},
        format="json",
    )
    assert created.status_code == 201
    assert "ETag" not in created


def test_head_answers_like_get(world, urls):
    api = APIClient()
    tag = api.get(urls["service"])["ETag"]
    head = api.head(urls["service"])
    assert head.status_code == 200
    assert head["ETag"] == tag
    assert api.head(urls["service"], HTTP_IF_NONE_MATCH=tag).status_code == 304
