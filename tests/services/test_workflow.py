"""The dossier workflow end to end: the happy path, assign/forward/comment, every route with a
foreign user, query counts and the row lock under concurrency."""

import contextlib
import threading

import pytest
from django.db import connection
from django.urls import NoReverseMatch, reverse

from notifications import messages
from notifications.models import Notification, NotificationTemplate
from services.actions import NOTIFY_KINDS
from services.models import ServiceRequest, ServiceRequestEvent, ServiceRequestRating
from tests import file_samples as samples
from tests.conftest import client_for
from tests.services.workflow import FORM, Status, act, error_codes, make_dossier


def kinds(user):
    return list(
        Notification.objects.filter(user=user)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )


@pytest.mark.django_db
def test_happy_path_from_submission_to_rating(world, citizen_a, officer_commune):
    citizen = client_for(citizen_a)
    response = citizen.post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM},
        format="json",
    )
    assert response.status_code == 201
    dossier = ServiceRequest.objects.get(pk=response.json()["id"])
    expected = ["service_request.submitted"]
    assert kinds(citizen_a) == expected

    def step(user, action, kind, status, **body):
        response = act(user, dossier, action, **body)
        assert response.status_code == 200, (action, response.json())
        assert response.json()["status"] == status
        expected.append(kind)
        assert kinds(citizen_a) == expected, action
        return response.json()

    step(officer_commune, "receive", "service_request.received", "received")
    body = step(
        officer_commune,
        "request_supplement",
        "service_request.supplement_requested",
        "supplement_requested",
        reason="Thiếu giấy chứng sinh",
        items=[{"kind": "document", "label": "Giấy chứng sinh"}],
    )
    item = body["supplement_items"][0]["id"]
    attachment = citizen.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {
            "file": samples.upload(samples.pdf_bytes(), "cs.pdf", "application/pdf"),
            "kind": "document",
        },
        format="multipart",
    )
    assert attachment.status_code == 201
    step(
        citizen_a,
        "supplement",
        "service_request.status_changed",
        "received",
        responses=[{"item_id": item, "attachment_ids": [attachment.json()["id"]]}],
    )
    step(officer_commune, "start", "service_request.in_progress", "in_progress")
    result = client_for(officer_commune).post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {
            "file": samples.upload(samples.pdf_bytes("Ket qua"), "kq.pdf", "application/pdf"),
            "kind": "result",
        },
        format="multipart",
    )
    assert result.status_code == 201, result.json()
    step(
        officer_commune, "approve", "service_request.result_ready", "result_ready", result="Đã cấp"
    )
    body = step(officer_commune, "return_result", "service_request.completed", "completed")
    assert {a["kind"] for a in body["attachments"]} == {"document", "result"}
    rating = citizen.post(f"/api/v1/requests/{dossier.pk}/rating/", {"score": 5}, format="json")
    assert rating.status_code == 201
    assert ServiceRequestRating.objects.get().score == 5
    assert list(
        ServiceRequestEvent.objects.filter(request=dossier)
        .order_by("created_at")
        .values_list("action", flat=True)
    ) == [
        "submit",
        "receive",
        "request_supplement",
        "supplement",
        "start",
        "approve",
        "return_result",
    ]


@pytest.mark.django_db
def test_assign_needs_staff_of_the_agency_or_above(
    world, citizen_a, citizen_b, officer_commune, manager_province, officer_other_province
):
    dossier = make_dossier(world, citizen_a, Status.RECEIVED)
    for stranger in (citizen_b, officer_other_province):
        response = act(manager_province, dossier, "assign", assignee=str(stranger.pk))
        assert response.status_code == 400
        assert error_codes(response) == [("invalid_assignee", "assignee")]
    response = act(manager_province, dossier, "assign", assignee=str(officer_commune.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert response.json()["assignee"] == {
        "id": str(officer_commune.pk),
        "full_name": officer_commune.full_name,
    }
    dossier.refresh_from_db()
    assert dossier.assignee == officer_commune
    event = ServiceRequestEvent.objects.get(request=dossier, action="assign")
    assert event.details == {"assignee": str(officer_commune.pk)}
    assert kinds(citizen_a) == []  # the state did not change
    # A manager above the agency may be assigned too.
    assert (
        act(officer_commune, dossier, "assign", assignee=str(manager_province.pk)).status_code
        == 200
    )
    assert act(officer_commune, dossier, "assign").status_code == 400


@pytest.mark.django_db
def test_forward_within_the_province_or_up(world, citizen_a, officer_commune, manager_province):
    from tests import factories as f

    other_commune = f.AgencyFactory(
        code="thuong-lam",
        level="commune",
        parent=world["tq_board"],
        administrative_unit=world["thuong_lam"],
    )
    dossier = make_dossier(world, citizen_a, Status.RECEIVED, assignee=officer_commune)
    # Another province, an inactive agency, the same agency: 400.
    for target in (world["muong_phang_office"], world["db_board"], world["lam_binh_office"]):
        response = act(officer_commune, dossier, "forward", agency=str(target.pk), reason="r")
        assert response.status_code == 400
        assert error_codes(response)[0][1] == "agency"
    assert act(officer_commune, dossier, "forward", agency=str(other_commune.pk)).status_code == 400
    # Sideways in the province: the officer loses the dossier, but sees the outcome once.
    response = act(
        officer_commune, dossier, "forward", agency=str(other_commune.pk), reason="Sai địa bàn"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["agency"]["code"] == "thuong-lam"
    assert response.json()["allowed_actions"] == []
    dossier.refresh_from_db()
    assert (dossier.agency, dossier.assignee, dossier.status) == (other_commune, None, "received")
    assert client_for(officer_commune).get(f"/api/v1/requests/{dossier.pk}/").status_code == 404
    # Up to the ministry, by the province manager.
    response = act(
        manager_province,
        dossier,
        "forward",
        agency=str(world["ministry"].pk),
        reason="Vượt thẩm quyền",
    )
    assert response.status_code == 200
    event = ServiceRequestEvent.objects.filter(request=dossier, action="forward").last()
    assert event.details == {
        "from_agency": str(other_commune.pk),
        "to_agency": str(world["ministry"].pk),
    }
    # The applicant still sees it.
    assert (
        client_for(citizen_a).get(f"/api/v1/requests/{dossier.pk}/").json()["agency"]["code"]
        == "ministry"
    )


@pytest.mark.django_db
def test_forward_to_an_inactive_agency_is_400(world, citizen_a, officer_commune):
    world["tq_board"].is_active = False
    world["tq_board"].save()
    dossier = make_dossier(world, citizen_a, Status.RECEIVED)
    response = act(
        officer_commune, dossier, "forward", agency=str(world["tq_board"].pk), reason="r"
    )
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "missing"),
    [
        ("reject", {"reason"}),
        ("approve", {"result"}),
        ("comment", {"note"}),
        ("request_supplement", {"reason", "items"}),
        ("supplement", {"responses"}),
        ("assign", {"assignee"}),
        ("forward", {"agency", "reason"}),
    ],
)
def test_each_action_names_what_its_body_lacks(world, citizen_a, officer_commune, action, missing):
    dossier = make_dossier(world, citizen_a, Status.IN_PROGRESS)
    response = act(officer_commune, dossier, action)
    assert response.status_code == 400
    assert {attr for _code, attr in error_codes(response)} == missing


def _routes(dossier):
    routes = [
        ("get", f"/api/v1/requests/{dossier.pk}/", None),
        ("post", f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "comment", "note": "x"}),
        ("post", f"/api/v1/requests/{dossier.pk}/rating/", {"score": 5}),
        (
            "post",
            f"/api/v1/requests/{dossier.pk}/attachments/",
            {
                "file": samples.upload(samples.pdf_bytes(), "a.pdf", "application/pdf"),
                "kind": "document",
            },
        ),
    ]
    with contextlib.suppress(NoReverseMatch):  # the printable receipt, where it exists
        routes.append(("get", reverse("request-receipt", kwargs={"pk": dossier.pk}), None))
    return routes


@pytest.mark.django_db
def test_every_dossier_route_is_404_for_foreign_users(
    world, citizen_a, citizen_b, officer_other_province
):
    dossier = make_dossier(world, citizen_a, Status.COMPLETED)
    for user in (citizen_b, officer_other_province):
        for method, url, body in _routes(dossier):
            client = client_for(user)
            if method == "get":
                response = client.get(url)
            elif "attachments" in url:
                response = client.post(url, body, format="multipart")
            else:
                response = client.post(url, body, format="json")
            assert response.status_code == 404, (user, url)
    assert ServiceRequestEvent.objects.filter(request=dossier).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_list_query_count_is_fixed(
    world, citizen_a, officer_commune, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        make_dossier(world, citizen_a, Status.RECEIVED)
    for user in (citizen_a, officer_commune):
        client = client_for(user)
        with django_assert_max_num_queries(6):
            response = client.get("/api/v1/requests/?page_size=100&overdue=false")
        assert len(response.json()["results"]) == rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_detail_query_count_is_fixed(
    world, citizen_a, officer_commune, django_assert_max_num_queries, rows
):
    dossier = make_dossier(world, citizen_a, Status.RECEIVED)
    ServiceRequestEvent.objects.bulk_create(
        ServiceRequestEvent(request=dossier, action="comment", note=str(i)) for i in range(rows)
    )
    for user in (citizen_a, officer_commune):
        client = client_for(user)
        # user, dossier (scope as a subquery), events, attachments, the staff's agencies
        # (allowed actions) and the audit entry of a staff read
        with django_assert_max_num_queries(6):
            response = client.get(f"/api/v1/requests/{dossier.pk}/")
        assert response.status_code == 200
        assert len(response.json()["events"]) == rows + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_receiving_at_once_make_one_transition(
    world, citizen_a, officer_commune, manager_province
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    dossier = make_dossier(world, citizen_a, Status.SUBMITTED)
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def receive(user):
        try:
            client = client_for(user)
            barrier.wait()
            response = client.post(
                f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
            )
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=receive, args=(u,)) for u in (officer_commune, manager_province)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    assert ServiceRequestEvent.objects.filter(request=dossier, action="receive").count() == 1
    assert Notification.objects.filter(user=citizen_a, kind="service_request.received").count() == 1


WORKFLOW_KINDS = [
    *{kind for kind in NOTIFY_KINDS.values()},
    "service_request.submitted",
    "service_request.assisted_submitted",
    "service_request.due_soon",
    "service_request.overdue",
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(WORKFLOW_KINDS))
def test_every_workflow_kind_has_vi_and_en_texts_using_its_placeholders(kind):
    rows = NotificationTemplate.objects.filter(kind=kind)
    assert {row.language for row in rows} >= {"vi", "en"}
    for row in rows:
        used = set().union(*(messages.template_fields(t) for t in (row.title, row.body, row.sms)))
        assert used <= messages.placeholders(kind), (kind, row.language)
