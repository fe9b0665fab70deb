"""Structured supplement requests, the applicant's answers and the paused clock."""

from datetime import date, datetime, timedelta
from unittest import mock

import pytest

from agencies import calendar
from notifications.models import Notification
from services.models import ServiceRequest, ServiceRequestAttachment, ServiceRequestEvent
from tests import file_samples as samples
from tests.conftest import client_for
from tests.services.workflow import Status, act, error_codes, make_dossier

pytestmark = pytest.mark.django_db

ITEMS = [
    {"kind": "document", "label": "Giấy chứng sinh bản chính"},
    {"kind": "field", "label": "Ngày sinh chưa đúng", "field": "child.birth_date"},
]


def at(moment):
    """Freeze `django.utils.timezone.now` (actions, auto_now fields) at `moment`."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def upload(user, dossier, kind="document"):
    return client_for(user).post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"file": samples.upload(samples.pdf_bytes(), "a.pdf", "application/pdf"), "kind": kind},
        format="multipart",
    )


def test_request_supplement_stores_items_and_remembers_the_state(world, citizen_a, officer_commune):
    dossier = make_dossier(world, citizen_a, Status.IN_PROGRESS)
    response = act(officer_commune, dossier, "request_supplement", reason="Thiếu", items=ITEMS)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "supplement_requested"
    assert [(i["kind"], i["field"], i["answer"]) for i in body["supplement_items"]] == [
        ("document", "", None),
        ("field", "child.birth_date", None),
    ]
    assert body["allowed_actions"] == ["assign", "forward", "comment"]
    dossier.refresh_from_db()
    assert dossier.status_before_supplement == "in_progress"
    assert dossier.supplement_requested_at is not None
    event = ServiceRequestEvent.objects.get(request=dossier, action="request_supplement")
    assert event.note == "Thiếu" and len(event.details["items"]) == 2
    assert Notification.objects.filter(
        user=citizen_a, kind="service_request.supplement_requested"
    ).exists()
    assert client_for(citizen_a).get(f"/api/v1/requests/{dossier.pk}/").json()[
        "allowed_actions"
    ] == ["cancel", "supplement"]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], [("min_length", "items")]),
        ([{"kind": "document", "label": "x"}] * 21, [("max_length", "items")]),
        ([{"kind": "photo", "label": "x"}], [("invalid_choice", "items.0.kind")]),
        ([{"kind": "field", "label": "x"}], [("required", "items.0.field")]),
        (
            [{"kind": "document", "label": "x"}, {"kind": "field", "label": "y", "field": "z"}],
            [("invalid", "items.1.field")],
        ),
        (
            [{"kind": "field", "label": "y", "field": "child.nickname"}],
            [("invalid", "items.0.field")],
        ),
        ([{"kind": "field", "label": "y", "field": "child..x"}], [("invalid", "items.0.field")]),
    ],
)
def test_bad_items_are_400_with_their_path(world, citizen_a, officer_commune, items, expected):
    dossier = make_dossier(world, citizen_a, Status.RECEIVED)
    response = act(officer_commune, dossier, "request_supplement", reason="r", items=items)
    assert response.status_code == 400
    assert error_codes(response) == expected
    dossier.refresh_from_db()
    assert dossier.status == "received"


def test_reason_and_items_are_required(world, citizen_a, officer_commune):
    dossier = make_dossier(world, citizen_a, Status.RECEIVED)
    response = act(officer_commune, dossier, "request_supplement")
    assert response.status_code == 400
    assert {attr for _c, attr in error_codes(response)} == {"reason", "items"}


def _requested(world, citizen_a, officer_commune):
    dossier = make_dossier(world, citizen_a, Status.RECEIVED)
    assert (
        act(officer_commune, dossier, "request_supplement", reason="r", items=ITEMS).status_code
        == 200
    )
    dossier.refresh_from_db()
    return dossier, [item["id"] for item in dossier.supplement_items]


def test_every_item_must_be_answered(world, citizen_a, officer_commune):
    dossier, ids = _requested(world, citizen_a, officer_commune)
    response = act(citizen_a, dossier, "supplement", responses=[{"item_id": ids[0]}])
    assert response.status_code == 400
    assert error_codes(response) == [("incomplete", "responses")]
    unknown = act(
        citizen_a,
        dossier,
        "supplement",
        responses=[{"item_id": ids[0]}, {"item_id": "6f1c0e84-0000-4000-8000-000000000000"}],
    )
    assert unknown.status_code == 400
    assert ("invalid", "responses.1.item_id") in error_codes(unknown)


def test_attachments_must_be_this_dossiers_and_new(world, citizen_a, officer_commune):
    old_dossier = make_dossier(world, citizen_a, Status.SUBMITTED)
    before = upload(citizen_a, old_dossier).json()["id"]
    dossier, ids = _requested(world, citizen_a, officer_commune)
    older = ServiceRequestAttachment.objects.get(pk=before)
    older.request = dossier  # uploaded before the request
    older.save()
    other = make_dossier(world, citizen_a, Status.SUBMITTED)
    foreign = upload(citizen_a, other).json()["id"]
    for stale in (before, foreign):
        response = act(
            citizen_a,
            dossier,
            "supplement",
            responses=[{"item_id": ids[0], "attachment_ids": [stale]}, {"item_id": ids[1]}],
        )
        assert response.status_code == 400
        assert error_codes(response) == [("invalid", "responses.0.attachment_ids")]


def test_corrected_form_is_validated_with_dotted_paths(world, citizen_a, officer_commune):
    dossier, ids = _requested(world, citizen_a, officer_commune)
    response = act(
        citizen_a,
        dossier,
        "supplement",
        responses=[{"item_id": i} for i in ids],
        form_data={"child": {"full_name": "An", "birth_date": "hôm qua"}},
    )
    assert response.status_code == 400
    assert [attr for _c, attr in error_codes(response)] == ["form_data.child.birth_date"]


def test_round_trip_moves_the_due_date_by_the_paused_working_days(
    world, citizen_a, officer_commune
):
    # Received Monday 2 Nov 2026, 3 working days: due Thursday 5 Nov at 17:00.
    with at(datetime(2026, 11, 2, 9, 0, tzinfo=calendar.LOCAL_TZ)):
        dossier = make_dossier(world, citizen_a, Status.SUBMITTED)
        assert act(officer_commune, dossier, "receive").status_code == 200
        dossier.refresh_from_db()
        assert timezone_date(dossier.due_at) == date(2026, 11, 5)
    # Supplement asked Tuesday, answered the next Monday: Wed, Thu, Fri, Mon = 4 days.
    with at(datetime(2026, 11, 3, 10, 0, tzinfo=calendar.LOCAL_TZ)):
        response = act(officer_commune, dossier, "request_supplement", reason="r", items=ITEMS)
        assert response.status_code == 200
        ids = [i["id"] for i in response.json()["supplement_items"]]
    with at(datetime(2026, 11, 9, 8, 0, tzinfo=calendar.LOCAL_TZ)):
        attachment = upload(citizen_a, dossier).json()["id"]
        response = act(
            citizen_a,
            dossier,
            "supplement",
            note="Đã bổ sung",
            responses=[
                {"item_id": ids[0], "attachment_ids": [attachment], "note": "Bản chính"},
                {"item_id": ids[1]},
            ],
            form_data={"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-10-30"}},
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "received"
    assert body["form_data"]["child"]["birth_date"] == "2026-10-30"
    answers = [i["answer"] for i in body["supplement_items"]]
    assert answers[0]["attachment_ids"] == [attachment] and answers[0]["note"] == "Bản chính"
    assert answers[1]["note"] == ""
    dossier.refresh_from_db()
    local_due = dossier.due_at.astimezone(calendar.LOCAL_TZ)
    assert (local_due.date(), local_due.hour) == (date(2026, 11, 11), 17)
    assert dossier.status_before_supplement == "" and dossier.supplement_requested_at is None
    event = ServiceRequestEvent.objects.get(request=dossier, action="supplement")
    assert event.details["paused_working_days"] == 4
    assert (event.from_status, event.to_status) == ("supplement_requested", "received")


def test_supplement_without_due_date_returns_to_submitted(world, citizen_a, officer_commune):
    dossier = make_dossier(world, citizen_a, Status.SUBMITTED)
    response = act(officer_commune, dossier, "request_supplement", reason="r", items=ITEMS[:1])
    item = response.json()["supplement_items"][0]["id"]
    response = act(citizen_a, dossier, "supplement", responses=[{"item_id": item}])
    assert response.status_code == 200
    dossier = ServiceRequest.objects.get(pk=dossier.pk)
    assert (dossier.status, dossier.due_at) == ("submitted", None)


def timezone_date(value):
    return value.astimezone(calendar.LOCAL_TZ).date() if value else None


def test_paused_days_do_not_count_weekends(world):
    assert calendar.working_days_between(date(2026, 11, 6), date(2026, 11, 9)) == 1
    assert calendar.add_working_days(date(2026, 11, 5), 1) == date(2026, 11, 6)
    assert date(2026, 11, 5) + timedelta(days=6) == date(2026, 11, 11)
