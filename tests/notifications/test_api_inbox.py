import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.outbox import notify
from tests.conftest import client_for

URL = "/api/v1/notifications/"


def _notify(user, tracking_code):
    with transaction.atomic():
        return notify(
            user,
            "service_request.received",
            {"tracking_code": tracking_code, "agency_name": "UBND xã Lâm Bình"},
            data={"type": "service_request", "id": tracking_code, "status": "received"},
            collapse_key=f"service_request-{tracking_code}",
        )


@pytest.fixture
def inbox(citizen_a, citizen_b):
    now = timezone.now()
    mine = []
    for i in range(3):
        notification = _notify(citizen_a, f"DV-{i}")
        # Distinct times, so "newest first" is observable.
        Notification.objects.filter(pk=notification.pk).update(
            created_at=now - timedelta(minutes=10 - i)
        )
        mine.append(notification)
    theirs = _notify(citizen_b, "DV-B")
    return {"mine": mine, "theirs": theirs}


@pytest.mark.django_db
def test_list_is_my_inbox_newest_first(citizen_a, inbox, django_assert_num_queries):
    client = client_for(citizen_a)
    with django_assert_num_queries(2):  # the user of the token, the page
        response = client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"next", "previous", "results"}
    titles = [item["title"] for item in body["results"]]
    assert titles == [
        "Hồ sơ DV-2 đã được tiếp nhận",
        "Hồ sơ DV-1 đã được tiếp nhận",
        "Hồ sơ DV-0 đã được tiếp nhận",
    ]
    item = body["results"][0]
    assert set(item) == {"id", "kind", "title", "body", "data", "read_at", "created_at"}
    assert item["kind"] == "service_request.received"
    assert item["data"] == {"type": "service_request", "id": "DV-2", "status": "received"}
    assert item["read_at"] is None


@pytest.mark.django_db
def test_list_is_cursor_paginated(citizen_a, inbox):
    client = client_for(citizen_a)
    first = client.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [i["id"] for i in second["results"]] == [str(inbox["mine"][0].id)]
    assert second["next"] is None


@pytest.mark.django_db
def test_unread_count(citizen_a, citizen_b, inbox):
    response = client_for(citizen_a).get(f"{URL}unread-count/")
    assert response.status_code == 200
    assert response.json() == {"count": 3}
    assert client_for(citizen_b).get(f"{URL}unread-count/").json() == {"count": 1}


@pytest.mark.django_db
def test_mark_one_read(citizen_a, inbox):
    target = inbox["mine"][1]
    client = client_for(citizen_a)

    response = client.post(f"{URL}{target.id}/read/")

    assert response.status_code == 204
    target.refresh_from_db()
    first_read_at = target.read_at
    assert first_read_at is not None
    assert client.get(f"{URL}unread-count/").json() == {"count": 2}
    # Reading it again keeps the first time.
    assert client.post(f"{URL}{target.id}/read/").status_code == 204
    target.refresh_from_db()
    assert target.read_at == first_read_at


@pytest.mark.django_db
def test_mark_someone_elses_notification_is_404(citizen_a, inbox):
    theirs = inbox["theirs"]
    response = client_for(citizen_a).post(f"{URL}{theirs.id}/read/")
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db
def test_unknown_or_malformed_ids_are_404(citizen_a, inbox):
    client = client_for(citizen_a)
    assert client.post(f"{URL}{uuid.uuid4()}/read/").status_code == 404
    assert client.post(f"{URL}not-a-uuid/read/").status_code == 404


@pytest.mark.django_db
def test_read_all_touches_only_my_unread(citizen_a, citizen_b, inbox):
    before = timezone.now()

    response = client_for(citizen_a).post(f"{URL}read-all/")

    assert response.status_code == 204
    for notification in inbox["mine"]:
        notification.refresh_from_db()
        assert notification.read_at is not None
        assert notification.updated_at >= before  # phones syncing by updated_at see it
    inbox["theirs"].refresh_from_db()
    assert inbox["theirs"].read_at is None
    assert client_for(citizen_a).get(f"{URL}unread-count/").json() == {"count": 0}
    assert client_for(citizen_b).get(f"{URL}unread-count/").json() == {"count": 1}


@pytest.mark.django_db
def test_unauthenticated_is_401(api, inbox):
    target = inbox["mine"][0]
    responses = [
        api.get(URL),
        api.get(f"{URL}unread-count/"),
        api.post(f"{URL}{target.id}/read/"),
        api.post(f"{URL}read-all/"),
    ]
    assert [r.status_code for r in responses] == [401] * 4
    target.refresh_from_db()
    assert target.read_at is None
