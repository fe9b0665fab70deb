"""`?fields=a,b` trims every list item and every object to the named top-level fields."""

import pytest

from notifications.models import Notification
from services.actions import submit_request
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


@pytest.fixture
def dossier(world, citizen_a):
    request, _ = submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    return request


def test_list_items_keep_only_the_named_fields_in_serializer_order(world, api):
    body = api.get("/api/v1/services/", {"fields": "name,code"}).json()
    assert body["results"] == [{"code": "birth-registration", "name": "Đăng ký khai sinh"}]
    assert list(body["results"][0]) == ["code", "name"]
    assert set(body) == {"next", "previous", "results"}


def test_object_keeps_only_the_named_fields(world, api):
    response = api.get("/api/v1/services/birth-registration/", {"fields": "code,fee"})
    assert response.status_code == 200
    assert response.json() == {"code": "birth-registration", "fee": 0}


@pytest.mark.parametrize("fields", ["code, fee", "code,,fee", ",", "code,"])
def test_names_are_the_spec_s_enum_spelled_exactly(world, api, fields):
    # The spec types `fields` as an array of the names: a client built from it never sends
    # blanks or empty names, and the server accepts nothing the spec would refuse.
    response = api.get("/api/v1/services/birth-registration/", {"fields": fields})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "fields"


def test_my_dossiers_and_a_dossier(world, citizen_a, dossier):
    client = client_for(citizen_a)
    listing = client.get("/api/v1/requests/", {"fields": "id,status"}).json()
    assert listing["results"] == [{"id": str(dossier.pk), "status": "submitted"}]
    detail = client.get(f"/api/v1/requests/{dossier.pk}/", {"fields": "tracking_code,events"})
    # `id` stays whatever is asked: the spec requires it of every trimmed object.
    assert set(detail.json()) == {"id", "tracking_code", "events"}
    assert detail.json()["events"][0]["action"] == "submit"  # nested fields stay whole


def test_inbox_agencies_units_and_categories(world, citizen_a, api):
    Notification.objects.create(user=citizen_a, kind="k", title="Xin chào", body="b")
    inbox = client_for(citizen_a).get("/api/v1/notifications/", {"fields": "title"}).json()
    notification = Notification.objects.get(user=citizen_a)
    assert inbox["results"] == [{"id": str(notification.pk), "title": "Xin chào"}]
    agency = world["lam_binh_office"]
    assert api.get(f"/api/v1/agencies/{agency.pk}/", {"fields": "phone"}).json() == {
        "id": str(agency.pk),
        "phone": "0207 3851 001",
    }
    agencies = api.get("/api/v1/agencies/", {"fields": "code"}).json()["results"]
    assert {"id": str(agency.pk), "code": "lam-binh"} in agencies
    units = api.get("/api/v1/administrative-units/", {"fields": "name"}).json()["results"]
    assert {"name": "Xã Lâm Bình"} in units
    categories = api.get("/api/v1/service-categories/", {"fields": "code"}).json()["results"]
    assert categories == [{"code": "civil-status"}]


def test_the_sync_envelope_is_never_trimmed(world, api):
    body = api.get(
        "/api/v1/services/", {"fields": "code", "updated_since": "1970-01-01T00:00:00Z"}
    ).json()
    assert body["results"] == [{"code": "birth-registration"}]
    assert set(body) == {"next", "previous", "results", "removed", "server_time"}


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/api/v1/services/", "code,colour"),
        ("/api/v1/services/birth-registration/", "form_schema,secret"),
        ("/api/v1/service-categories/", "position"),
        ("/api/v1/agencies/", "path"),
        ("/api/v1/administrative-units/", "search_name"),
    ],
)
def test_an_unknown_field_is_a_400_on_fields(world, api, url, fields):
    response = api.get(url, {"fields": fields})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [(e["attr"], e["code"]) for e in body["errors"]] == [("fields", "invalid")]
    unknown = fields.split(",")[-1]
    assert unknown in body["errors"][0]["detail"]


def test_an_unknown_field_is_refused_even_when_the_list_is_empty(world, citizen_a):
    response = client_for(citizen_a).get("/api/v1/requests/", {"fields": "applicant"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "fields"


def test_the_detail_only_fields_are_not_offered_on_the_list(world, citizen_a, dossier):
    client = client_for(citizen_a)
    assert client.get("/api/v1/requests/", {"fields": "events"}).status_code == 400
    assert client.get(f"/api/v1/requests/{dossier.pk}/", {"fields": "events"}).status_code == 200


def test_authentication_is_checked_before_fields(world, api):
    assert api.get("/api/v1/requests/", {"fields": "nope"}).status_code == 401


def test_blank_fields_means_every_field(world, api):
    body = api.get("/api/v1/services/birth-registration/?fields=").json()
    assert {"code", "name", "form_schema", "required_documents"} <= set(body)


def test_fields_do_not_apply_to_writes(world, citizen_a):
    response = client_for(citizen_a).post(
        "/api/v1/requests/?fields=id",
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM},
        format="json",
    )
    assert response.status_code == 201
    assert "tracking_code" in response.json()
