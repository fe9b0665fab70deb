import pytest

from notifications.models import Notification
from services.models import ServiceRequest, ServiceRequestEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


def submit(client, **overrides):
    body = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
    body.update(overrides)
    return client.post("/api/v1/requests/", body, format="json")


def error_attrs(response):
    assert set(response.json()) == {"type", "errors"}
    return {e["attr"] for e in response.json()["errors"]}


def test_citizen_submits_a_dossier_routed_to_the_commune_office(world, citizen_a):
    response = submit(client_for(citizen_a), note="Nhờ cán bộ hướng dẫn thêm")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "submitted"
    assert body["tracking_code"].startswith("DV-")
    assert body["agency"]["code"] == "lam-binh"
    assert body["service"] == {"code": "birth-registration", "name": "Đăng ký khai sinh"}
    assert body["administrative_unit"] == {"code": 2266, "name": "Xã Lâm Bình", "level": "commune"}
    assert body["allowed_actions"] == ["cancel"]
    assert [e["action"] for e in body["events"]] == ["submit"]
    dossier = ServiceRequest.objects.get(pk=body["id"])
    assert dossier.applicant == citizen_a
    assert (
        Notification.objects.filter(user=citizen_a, kind="service_request.submitted").count() == 1
    )


def test_english_is_served_when_asked(world, citizen_a):
    response = client_for(citizen_a).get("/api/v1/services/birth-registration/?lang=en")
    assert response.status_code == 200
    assert response.json()["name"] == "Birth registration"
    assert response["Content-Language"] == "en"


def test_commune_without_office_goes_to_the_provincial_board(world, citizen_a):
    response = submit(client_for(citizen_a), administrative_unit=2269)
    assert response.status_code == 201
    assert response.json()["agency"]["code"] == "tq-board"


def test_form_data_errors_name_the_field_path(world, citizen_a):
    response = submit(
        client_for(citizen_a), form_data={"child": {"full_name": "", "birth_date": "hôm qua"}}
    )
    assert response.status_code == 400
    assert error_attrs(response) == {"form_data.child.full_name", "form_data.child.birth_date"}
    assert not ServiceRequest.objects.exists()


def test_missing_required_form_field_is_reported_by_its_path(world, citizen_a):
    response = submit(client_for(citizen_a), form_data={"child": {"full_name": "An"}})
    assert response.status_code == 400
    assert error_attrs(response) == {"form_data.child.birth_date"}


def test_each_missing_form_field_is_listed_once_with_code_required(world, citizen_a):
    response = submit(client_for(citizen_a), form_data={"child": {}})

    assert response.status_code == 400
    errors = sorted((e["attr"], e["code"]) for e in response.json()["errors"])
    assert errors == [
        ("form_data.child.birth_date", "required"),
        ("form_data.child.full_name", "required"),
    ]


def test_a_form_value_of_the_wrong_type_is_named_once_with_its_code(world, citizen_a):
    response = submit(client_for(citizen_a), form_data={"child": {"full_name": 7}})

    assert response.status_code == 400
    errors = sorted((e["attr"], e["code"]) for e in response.json()["errors"])
    assert errors == [
        ("form_data.child.birth_date", "required"),
        ("form_data.child.full_name", "invalid"),
    ]


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"service": "no-such-service"}, "service"),
        ({"administrative_unit": 999999}, "administrative_unit"),
        ({"administrative_unit": 8}, "administrative_unit"),  # a province code, not a commune
        ({"administrative_unit": "abc"}, "administrative_unit"),
        ({"form_data": "text"}, "form_data"),
        ({"service": None}, "service"),
    ],
)
def test_bad_submissions_are_400_and_store_nothing(world, citizen_a, overrides, attr):
    response = submit(client_for(citizen_a), **overrides)
    assert response.status_code == 400
    assert attr in error_attrs(response)
    assert not ServiceRequest.objects.exists()
    assert not Notification.objects.exists()


def test_service_not_offered_where_no_agency_serves(world, citizen_a):
    world["tq_board"].is_active = False
    world["tq_board"].save()
    response = submit(client_for(citizen_a), administrative_unit=2269)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "administrative_unit"


def test_malformed_json_is_a_parse_error(world, citizen_a):
    response = client_for(citizen_a).post(
        "/api/v1/requests/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["type"] == "client_error"
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_anonymous_cannot_submit(world, api):
    response = submit(api)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_client_id_makes_a_resend_return_the_same_dossier(world, citizen_a, citizen_b):
    client = client_for(citizen_a)
    first = submit(client, id="7b0f7d4e-6c41-4d0e-9a55-0c1e0c7d0a11")
    again = submit(client, id="7b0f7d4e-6c41-4d0e-9a55-0c1e0c7d0a11")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["tracking_code"] == first.json()["tracking_code"]
    assert ServiceRequest.objects.count() == 1
    stolen = submit(client_for(citizen_b), id="7b0f7d4e-6c41-4d0e-9a55-0c1e0c7d0a11")
    assert stolen.status_code == 409


def test_officer_receives_and_due_date_is_set(world, citizen_a, officer_commune):
    dossier_id = submit(client_for(citizen_a)).json()["id"]
    response = client_for(officer_commune).post(
        f"/api/v1/requests/{dossier_id}/transitions/", {"action": "receive"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "received"
    assert body["due_at"] is not None
    assert body["is_overdue"] is False
    assert "start" in body["allowed_actions"]
    event = ServiceRequestEvent.objects.get(request_id=dossier_id, action="receive")
    assert (event.from_status, event.to_status, event.actor) == (
        "submitted",
        "received",
        officer_commune,
    )
    assert Notification.objects.filter(user=citizen_a, kind="service_request.received").exists()


def test_transition_checks_scope_then_body_then_right_then_state(
    world, citizen_a, citizen_b, officer_commune, officer_other_province, manager_province
):
    dossier_id = submit(client_for(citizen_a)).json()["id"]
    url = f"/api/v1/requests/{dossier_id}/transitions/"

    # outside scope: 404, even with a bad body
    assert client_for(citizen_b).post(url, {"action": "x"}, format="json").status_code == 404
    assert (
        client_for(officer_other_province)
        .post(url, {"action": "receive"}, format="json")
        .status_code
        == 404
    )
    # bad body: 400
    assert (
        client_for(officer_commune).post(url, {"action": "fly"}, format="json").status_code == 400
    )
    # the applicant may not receive: 403
    assert client_for(citizen_a).post(url, {"action": "receive"}, format="json").status_code == 403
    # the province manager sees the commune's dossiers and may act
    assert (
        client_for(manager_province).post(url, {"action": "receive"}, format="json").status_code
        == 200
    )
    # wrong state: 409
    again = client_for(officer_commune).post(url, {"action": "receive"}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "invalid_transition"
    assert ServiceRequestEvent.objects.filter(request_id=dossier_id, action="receive").count() == 1


def test_foreign_users_get_404_on_every_dossier_route(
    world, citizen_a, citizen_b, officer_other_province
):
    dossier_id = submit(client_for(citizen_a)).json()["id"]
    for user in (citizen_b, officer_other_province):
        client = client_for(user)
        assert client.get(f"/api/v1/requests/{dossier_id}/").status_code == 404
        assert client.get("/api/v1/requests/").json()["results"] == []


def test_internal_comments_are_hidden_from_the_applicant(world, citizen_a, officer_commune):
    dossier_id = submit(client_for(citizen_a)).json()["id"]
    client_for(officer_commune).post(
        f"/api/v1/requests/{dossier_id}/transitions/",
        {"action": "comment", "note": "Kiểm tra lại giấy chứng sinh", "internal": True},
        format="json",
    )
    staff_view = client_for(officer_commune).get(f"/api/v1/requests/{dossier_id}/").json()
    citizen_view = client_for(citizen_a).get(f"/api/v1/requests/{dossier_id}/").json()
    assert "comment" in [e["action"] for e in staff_view["events"]]
    assert "comment" not in [e["action"] for e in citizen_view["events"]]


def test_list_query_count_does_not_grow_with_page_size(world, citizen_a, django_assert_num_queries):
    client = client_for(citizen_a)
    for _ in range(10):
        submit(client)
    for size in (1, 10):
        # the user behind the token, then one query for the page
        with django_assert_num_queries(2):
            response = client.get(f"/api/v1/requests/?page_size={size}")
        assert len(response.json()["results"]) == size


def test_detail_query_count_does_not_grow_with_events(
    world, citizen_a, officer_commune, django_assert_num_queries
):
    dossier_id = submit(client_for(citizen_a)).json()["id"]
    client = client_for(citizen_a)
    # the user behind the token, the dossier with its joins, its events, its attachments
    with django_assert_num_queries(4):
        client.get(f"/api/v1/requests/{dossier_id}/")
    for note in ("một", "hai", "ba"):
        client_for(officer_commune).post(
            f"/api/v1/requests/{dossier_id}/transitions/",
            {"action": "comment", "note": note},
            format="json",
        )
    with django_assert_num_queries(4):
        body = client.get(f"/api/v1/requests/{dossier_id}/").json()
    assert len(body["events"]) == 4


def test_create_answers_from_the_objects_in_hand(world, citizen_a, django_assert_num_queries):
    client = client_for(citizen_a)
    # The service, the commune, its agency, the template and the agency's webhook
    # subscriptions (none) are now cached.
    submit(client)
    # The user behind the token; the inserts of the dossier, its audit entry, its event and
    # the applicant's notification; the devices to push to: 6 statements. Then the
    # savepoints of the request's and the create's transactions (4). No read-back.
    with django_assert_num_queries(10):
        response = submit(client)
    assert response.status_code == 201
    detail = client.get(f"/api/v1/requests/{response.json()['id']}/")
    assert response.json() == detail.json()


def test_a_service_switched_off_in_the_admin_is_refused_at_once(world, citizen_a):
    from services.models import PublicService

    client = client_for(citizen_a)
    assert submit(client).status_code == 201
    service = PublicService.objects.get(code="birth-registration")
    service.is_active = False
    service.save()
    response = submit(client)
    assert response.status_code == 400
    assert error_attrs(response) == {"service"}
