"""POST announcements/: who may send where, and the batched fan-out to inboxes and pushes."""

import pytest
from django.db import transaction

from notifications import announcements, push
from notifications.models import Announcement, Notification, PushMessage
from notifications.tasks import sweep_outbox
from tests import factories as f
from tests.conftest import _staff, client_for

URL = "/api/v1/announcements/"
BODY = {
    "title": "Lịch tiêm chủng",
    "body": "Tiêm chủng mở rộng tại trạm y tế xã sáng thứ Bảy.",
    "administrative_unit": 2266,
}


@pytest.fixture
def villagers(world, citizen_a, make_device):
    """Homes: citizen_a and two more in Lâm Bình, one in Thượng Lâm, one in Điện Biên."""
    lam_binh = [
        citizen_a,
        f.UserFactory(administrative_unit=world["lam_binh"], preferred_language="en"),
        f.UserFactory(administrative_unit=world["lam_binh"]),
    ]
    thuong_lam = f.UserFactory(administrative_unit=world["thuong_lam"])
    elsewhere = f.UserFactory(administrative_unit=world["muong_phang"])
    make_device(citizen_a)
    make_device(citizen_a, platform="ios")
    make_device(thuong_lam)
    make_device(elsewhere)
    return {"lam_binh": lam_binh, "thuong_lam": thuong_lam, "elsewhere": elsewhere}


@pytest.fixture
def manager_commune(world):
    return _staff("+84900000102", "Hà Văn Tú", world["lam_binh_office"], "manager")


def _post(user, body, django_capture_on_commit_callbacks=None):
    client = client_for(user)
    if django_capture_on_commit_callbacks is None:
        return client.post(URL, body, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, body, format="json")


def test_a_province_manager_reaches_every_commune_of_the_province(
    manager_province, villagers, django_capture_on_commit_callbacks
):
    response = _post(
        manager_province,
        {**BODY, "administrative_unit": 8, "level": "province"},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["administrative_unit"] == {"code": 8, "name": "Tuyên Quang", "level": "province"}
    assert body["title"] == BODY["title"]
    assert body["language"] == "vi"

    announcement = Announcement.objects.get()
    assert announcement.sender == manager_province
    assert announcement.fanout_done_at is not None
    assert announcement.recipient_count == 4
    reached = set(Notification.objects.filter(kind="announcement").values_list("user", flat=True))
    assert reached == {u.pk for u in [*villagers["lam_binh"], villagers["thuong_lam"]]}
    inbox_row = Notification.objects.get(user=villagers["lam_binh"][0])
    assert (inbox_row.title, inbox_row.body) == (BODY["title"], BODY["body"])
    assert inbox_row.data == {"type": "announcement", "id": str(announcement.pk)}

    sent = push.memory_messages()
    assert len(sent) == 3  # citizen_a's two devices and Thượng Lâm's one
    assert {m.data["type"] for m in sent} == {"announcement"}
    assert {m.collapse_key for m in sent} == {f"announcement-{announcement.pk}"}
    assert PushMessage.objects.filter(status="sent").count() == 3


def test_a_commune_target_reaches_only_that_commune(
    manager_province, villagers, django_capture_on_commit_callbacks
):
    response = _post(manager_province, BODY, django_capture_on_commit_callbacks)
    assert response.status_code == 201
    reached = set(Notification.objects.values_list("user", flat=True))
    assert reached == {u.pk for u in villagers["lam_binh"]}


def test_a_commune_manager_may_target_their_commune_only(
    manager_commune, villagers, django_capture_on_commit_callbacks
):
    assert _post(manager_commune, BODY, django_capture_on_commit_callbacks).status_code == 201
    response = _post(manager_commune, {**BODY, "administrative_unit": 2269})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "outside_area"
    response = _post(manager_commune, {**BODY, "administrative_unit": 8, "level": "province"})
    assert response.status_code == 403


def test_outside_the_province_is_403(manager_province, villagers):
    response = _post(manager_province, {**BODY, "administrative_unit": 3325})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "outside_area"
    response = _post(manager_province, {**BODY, "administrative_unit": 11, "level": "province"})
    assert response.status_code == 403
    assert Announcement.objects.count() == 0
    assert Notification.objects.count() == 0


def test_officers_and_citizens_are_403(officer_commune, citizen_a, villagers):
    for user in (officer_commune, citizen_a):
        response = _post(user, BODY)
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "permission_denied"
    assert Announcement.objects.count() == 0


def test_a_superuser_may_send_anywhere(superuser, villagers, django_capture_on_commit_callbacks):
    response = _post(
        superuser, {**BODY, "administrative_unit": 3325}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 201
    assert list(Notification.objects.values_list("user", flat=True)) == [villagers["elsewhere"].pk]


def test_unknown_unit_and_bad_bodies_are_400(manager_province):
    response = _post(manager_province, {**BODY, "administrative_unit": 999999})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "administrative_unit"
    response = _post(manager_province, {**BODY, "level": "district"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "level"
    response = _post(manager_province, {"title": "x"})
    assert response.status_code == 400


def test_unauthenticated_is_401(api, world):
    assert api.post(URL, BODY, format="json").status_code == 401


def test_throttled_per_sender(settings, manager_province, world):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "announcement": "2/hour",
        },
    }
    codes = [_post(manager_province, BODY).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


def test_the_fan_out_goes_in_batches_and_resumes_from_its_cursor(manager_province, world):
    users = [f.UserFactory(administrative_unit=world["lam_binh"]) for _ in range(7)]
    with transaction.atomic():
        from notifications.actions import send_announcement

        announcement = send_announcement(
            manager_province, title="T", body="B", administrative_unit=world["lam_binh"]
        )
    assert announcements.fan_out_batch(announcement.pk, batch_size=3) is True
    assert Notification.objects.count() == 3
    assert announcements.fan_out_batch(announcement.pk, batch_size=3) is True
    assert announcements.fan_out_batch(announcement.pk, batch_size=3) is True
    assert announcements.fan_out_batch(announcement.pk, batch_size=3) is False
    assert announcements.fan_out_batch(announcement.pk, batch_size=3) is False
    announcement.refresh_from_db()
    assert announcement.recipient_count == 7
    assert announcement.fanout_done_at is not None
    counts = Notification.objects.values_list("user", flat=True)
    assert sorted(counts) == sorted(u.pk for u in users)  # each exactly once


def test_the_sweep_restarts_a_stopped_fan_out(manager_province, villagers, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.actions import send_announcement

    announcement = send_announcement(
        manager_province,
        title="T",
        body="B",
        administrative_unit=villagers["lam_binh"][0].administrative_unit,
    )  # inside the test transaction: its on_commit publish never runs
    Announcement.objects.filter(pk=announcement.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    sweep_outbox()
    announcement.refresh_from_db()
    assert announcement.fanout_done_at is not None
    assert Notification.objects.count() == 3


def test_a_batch_costs_the_same_queries_whatever_its_size(manager_province, world, make_device):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from common import refcache
    from notifications.actions import send_announcement

    for _ in range(12):
        make_device(f.UserFactory(administrative_unit=world["lam_binh"]))
    counts = []
    for size in (2, 8):
        announcement = send_announcement(
            manager_province, title="T", body="B", administrative_unit=world["lam_binh"]
        )
        refcache.clear()  # each batch reads its template, as the first one in a process does
        with CaptureQueriesContext(connection) as queries:
            assert announcements.fan_out_batch(announcement.pk, batch_size=size)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 10
