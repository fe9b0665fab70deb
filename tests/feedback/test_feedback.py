import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from feedback import actions
from feedback.models import Feedback, FeedbackAttachment, FeedbackSupport
from notifications.models import Notification
from tests import factories as f
from tests import file_samples as samples
from tests.conftest import client_for
from tests.feedback.helpers import category, make_feedback

pytestmark = pytest.mark.django_db


def body(**extra):
    data = {
        "category": category().code,
        "administrative_unit": 2266,
        "village": "Thôn Nà Khà",
        "title": "Cầu treo bị hỏng",
        "content": "Cầu treo bản Nà Khà gãy ván, trẻ em đi học nguy hiểm.",
    }
    data.update(extra)
    return data


def post(client, data, **headers):
    return client.post("/api/v1/feedback/", data, format="json", **headers)


# Create and routing


def test_create_routes_commune_category_to_commune_office(world, citizen_a):
    response = post(client_for(citizen_a), body(latitude="22.45", longitude="105.2"))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["tracking_code"].startswith("PA-")
    assert data["agency"]["code"] == "lam-binh"
    assert data["status"] == "submitted"
    assert data["allowed_actions"] == ["withdraw"]
    assert Notification.objects.filter(user=citizen_a, kind="feedback.submitted").exists()


def test_create_routes_to_province_without_commune_office(world, citizen_a):
    data = post(client_for(citizen_a), body(administrative_unit=2269)).json()
    assert data["agency"]["code"] == "tq-board"
    category("welfare", level="province")
    data = post(client_for(citizen_a), body(category="welfare")).json()
    assert data["agency"]["code"] == "tq-board"


def test_create_without_agency_is_400(world, citizen_a):
    f.CommuneFactory(code=99001)
    response = post(client_for(citizen_a), body(administrative_unit=99001))
    assert response.status_code == 400
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    "coordinates",
    [
        {"latitude": "30.0", "longitude": "105.0"},
        {"latitude": "21.0", "longitude": "100.0"},
        {"latitude": "21.0"},
        {"longitude": "105.0"},
    ],
)
def test_coordinates_outside_vietnam_or_half_are_400(world, citizen_a, coordinates):
    response = post(client_for(citizen_a), body(**coordinates))
    assert response.status_code == 400
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    "extra", [{"title": ""}, {"content": ""}, {"title": "x" * 201}, {"content": "x" * 5001}]
)
def test_empty_or_oversized_text_is_400(world, citizen_a, extra):
    assert post(client_for(citizen_a), body(**extra)).status_code == 400
    assert not Feedback.objects.exists()


def test_client_id_and_client_time_are_kept(world, citizen_a):
    item_id = str(uuid.uuid4())
    client = client_for(citizen_a)
    written = "2026-11-20T08:00:00+07:00"
    first = post(client, body(id=item_id, client_created_at=written))
    assert first.status_code == 201
    assert first.json()["id"] == item_id
    assert first.json()["client_created_at"].startswith("2026-11-20T08:00:00")
    again = post(client, body(id=item_id, client_created_at=written))
    assert again.status_code == 200
    assert Feedback.objects.count() == 1
    assert post(client_for(f.UserFactory()), body(id=item_id)).status_code == 409


def test_idempotency_key(world, citizen_a):
    client = client_for(citizen_a)
    first = post(client, body(), HTTP_IDEMPOTENCY_KEY="k-1")
    second = post(client, body(), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Feedback.objects.count() == 1


def test_anonymous_author_hidden_from_staff(world, citizen_a, officer_commune):
    item_id = post(client_for(citizen_a), body(is_anonymous=True)).json()["id"]
    staff = client_for(officer_commune)
    assert staff.get(f"/api/v1/feedback/{item_id}/").json()["author"] is None
    assert staff.get("/api/v1/feedback/").json()["results"][0]["author"] is None
    own = client_for(citizen_a).get(f"/api/v1/feedback/{item_id}/").json()
    assert own["author"]["full_name"] == citizen_a.full_name


def test_list_is_scoped(world, citizen_a, citizen_b, officer_commune, officer_other_province):
    make_feedback(world, citizen_a)
    assert len(client_for(citizen_a).get("/api/v1/feedback/").json()["results"]) == 1
    assert client_for(citizen_b).get("/api/v1/feedback/").json()["results"] == []
    assert len(client_for(officer_commune).get("/api/v1/feedback/").json()["results"]) == 1
    assert client_for(officer_other_province).get("/api/v1/feedback/").json()["results"] == []


def test_foreign_user_gets_404_on_every_route(world, citizen_a, citizen_b, officer_other_province):
    item = make_feedback(world, citizen_a)  # private, submitted: not in the public feed
    for user in (citizen_b, officer_other_province):
        client = client_for(user)
        base = f"/api/v1/feedback/{item.pk}/"
        assert client.get(base).status_code == 404
        assert client.post(base + "transitions/", {"action": "accept"}).status_code == 404
        assert client.post(base + "support/").status_code == 404
        assert client.delete(base + "support/").status_code == 404
        assert client.post(base + "rating/", {"score": 5}).status_code == 404
        upload = samples.upload(samples.image_bytes(), "a.jpg", "image/jpeg")
        response = client.post(
            base + "attachments/", {"file": upload, "kind": "photo"}, format="multipart"
        )
        assert response.status_code == 404


# Workflow details


def test_answer_notifies_author_and_supporters(world, citizen_a, citizen_b, officer_commune):
    item = make_feedback(world, citizen_a, status="in_progress", is_public=True)
    assert client_for(citizen_b).post(f"/api/v1/feedback/{item.pk}/support/").status_code == 201
    response = client_for(officer_commune).post(
        f"/api/v1/feedback/{item.pk}/transitions/",
        {"action": "answer", "answer": "Đã sửa xong cầu."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["answer"] == "Đã sửa xong cầu."
    for user in (citizen_a, citizen_b):
        notification = Notification.objects.get(user=user, kind="feedback.answered")
        assert notification.data["type"] == "feedback"


def test_reopen_once_within_seven_days(world, citizen_a, officer_commune):
    item = make_feedback(world, citizen_a, status="answered")
    client = client_for(citizen_a)
    url = f"/api/v1/feedback/{item.pk}/transitions/"
    assert client.post(url, {"action": "reopen", "reason": "Chưa sửa"}).status_code == 200
    assert Notification.objects.filter(user=citizen_a, kind="feedback.reopened").exists()
    client_for(officer_commune).post(url, {"action": "answer", "answer": "Đã sửa lại."})
    item.refresh_from_db()
    assert item.status == "answered" and item.reopened
    response = client.post(url, {"action": "reopen", "reason": "Lại hỏng"})
    assert response.status_code == 409
    assert "reopen" not in client.get(f"/api/v1/feedback/{item.pk}/").json()["allowed_actions"]


def test_reopen_after_seven_days_is_409(world, citizen_a):
    item = make_feedback(world, citizen_a, status="answered")
    Feedback.objects.filter(pk=item.pk).update(answered_at=timezone.now() - timedelta(days=8))
    response = client_for(citizen_a).post(
        f"/api/v1/feedback/{item.pk}/transitions/", {"action": "reopen", "reason": "x"}
    )
    assert response.status_code == 409


def test_duplicate_links_and_author_follows_original(world, citizen_a, citizen_b, officer_commune):
    original = make_feedback(world, citizen_b, status="in_progress")
    item = make_feedback(world, citizen_a)
    response = client_for(officer_commune).post(
        f"/api/v1/feedback/{item.pk}/transitions/",
        {"action": "mark_duplicate", "duplicate_of": str(original.pk)},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["duplicate_of"] == str(original.pk)
    assert FeedbackSupport.objects.filter(feedback=original, user=citizen_a).exists()
    original.refresh_from_db()
    assert original.support_count == 1
    bad = client_for(officer_commune).post(
        f"/api/v1/feedback/{original.pk}/transitions/",
        {"action": "mark_duplicate", "duplicate_of": str(uuid.uuid4())},
        format="json",
    )
    assert bad.status_code == 400


def test_internal_comment_hidden_from_author(world, citizen_a, officer_commune):
    item = make_feedback(world, citizen_a)
    client_for(officer_commune).post(
        f"/api/v1/feedback/{item.pk}/transitions/",
        {"action": "comment", "note": "nội bộ", "internal": True},
        format="json",
    )
    events = client_for(citizen_a).get(f"/api/v1/feedback/{item.pk}/").json()["events"]
    assert "comment" not in [e["action"] for e in events]


def test_auto_close_task(world, citizen_a):
    old = make_feedback(world, citizen_a, status="answered")
    Feedback.objects.filter(pk=old.pk).update(answered_at=timezone.now() - timedelta(days=8))
    fresh = make_feedback(world, citizen_a, status="answered")
    from feedback.tasks import close_answered

    assert close_answered() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "closed"
    assert fresh.status == "answered"
    assert Notification.objects.filter(user=citizen_a, kind="feedback.closed").count() == 1
    assert close_answered() == 0


# Support


def test_support_once_and_undo(world, citizen_a, citizen_b):
    item = make_feedback(world, citizen_a, status="in_progress", is_public=True)
    client = client_for(citizen_b)
    url = f"/api/v1/feedback/{item.pk}/support/"
    first = client.post(url)
    assert first.status_code == 201
    assert first.json() == {"support_count": 1}
    again = client.post(url)
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_supported"
    assert client.delete(url).status_code == 204
    item.refresh_from_db()
    assert item.support_count == 0
    assert client.delete(url).status_code == 404
    assert client_for(citizen_a).post(url).status_code == 403


def test_support_count_follows_many_supporters(world, citizen_a):
    item = make_feedback(world, citizen_a, status="in_progress", is_public=True)
    users = [f.UserFactory() for _ in range(5)]
    for user in users:
        actions.support_feedback(user, item)
    actions.unsupport_feedback(users[0], item)
    item.refresh_from_db()
    assert item.support_count == 4 == FeedbackSupport.objects.filter(feedback=item).count()


def test_support_closed_item_is_409(world, citizen_a, citizen_b):
    item = make_feedback(world, citizen_a, status="closed", is_public=True)
    assert client_for(citizen_b).post(f"/api/v1/feedback/{item.pk}/support/").status_code == 409


# Rating


def test_rating_rules(world, citizen_a, citizen_b, manager_province):
    item = make_feedback(world, citizen_a, status="in_progress")
    url = f"/api/v1/feedback/{item.pk}/rating/"
    assert client_for(citizen_a).post(url, {"score": 5}).status_code == 409
    Feedback.objects.filter(pk=item.pk).update(status="answered", answered_at=timezone.now())
    assert client_for(citizen_a).post(url, {"score": 6}).status_code == 400
    response = client_for(citizen_a).post(url, {"score": 1, "comment": "Chưa sửa"})
    assert response.status_code == 201
    assert Notification.objects.filter(user=manager_province, kind="feedback.low_rating").exists()
    again = client_for(citizen_a).post(url, {"score": 4})
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_rated"


# Public feed


def test_public_feed(world, citizen_a, citizen_b):
    shown = make_feedback(
        world, citizen_a, status="in_progress", is_public=True, latitude=22.4, longitude=105.2
    )
    make_feedback(world, citizen_a, status="submitted", is_public=True)
    make_feedback(world, citizen_a, status="answered", is_public=False)
    make_feedback(world, citizen_a, status="rejected", is_public=True)
    other = make_feedback(
        world, citizen_b, status="closed", is_public=True, commune=world["muong_phang"]
    )
    client = client_for(citizen_b)
    client.credentials()  # anonymous
    results = client.get("/api/v1/feedback/public/").json()["results"]
    assert [r["id"] for r in results] == [str(other.pk), str(shown.pk)]
    for result in results:
        assert "author" not in result
        assert "latitude" not in result and "longitude" not in result
        assert "administrative_unit" in result
    by_province = client.get("/api/v1/feedback/public/?province=8").json()["results"]
    assert [r["id"] for r in by_province] == [str(shown.pk)]
    by_commune = client.get("/api/v1/feedback/public/?commune=3325").json()["results"]
    assert [r["id"] for r in by_commune] == [str(other.pk)]
    assert client.get("/api/v1/feedback/public/?category=none").json()["results"] == []
    assert client.get("/api/v1/feedback/public/?province=x").status_code == 400


# Attachments


def attach(client, item, data, kind="photo", name="photo.jpg", content_type="image/jpeg"):
    return client.post(
        f"/api/v1/feedback/{item.pk}/attachments/",
        {"file": samples.upload(data, name, content_type), "kind": kind},
        format="multipart",
    )


def test_photos_up_to_five_and_one_voice_note(world, citizen_a, officer_commune):
    item = make_feedback(world, citizen_a)
    client = client_for(citizen_a)
    for _ in range(5):
        assert attach(client, item, samples.image_bytes()).status_code == 201
    sixth = attach(client, item, samples.image_bytes())
    # The same answer as a full dossier: a conflict with what the item holds.
    assert sixth.status_code == 409
    assert sixth.json()["errors"][0]["code"] == "too_many_attachments"
    assert FeedbackAttachment.objects.filter(feedback=item, kind="photo").count() == 5
    voice = attach(client, item, samples.mp3_bytes(), "audio", "note.mp3", "audio/mpeg")
    assert voice.status_code == 201, voice.json()
    second = attach(client, item, samples.mp3_bytes(), "audio", "note.mp3", "audio/mpeg")
    assert second.status_code == 409
    assert second.json()["errors"][0]["code"] == "too_many_attachments"
    detail = client_for(officer_commune).get(f"/api/v1/feedback/{item.pk}/").json()
    assert len(detail["attachments"]) == 6
    assert all(a["url"] for a in detail["attachments"])
    assert attach(client_for(officer_commune), item, samples.image_bytes()).status_code == 403


def test_forged_audio_is_400(world, citizen_a):
    item = make_feedback(world, citizen_a)
    forged = attach(
        client_for(citizen_a), item, b"not audio at all" * 100, "audio", "a.mp3", "audio/mpeg"
    )
    assert forged.status_code == 400
    assert not FeedbackAttachment.objects.exists()


# Query counts


def test_list_query_count_does_not_grow_with_page_size(world, citizen_a, django_assert_num_queries):
    for _ in range(21):
        make_feedback(world, citizen_a, status="in_progress", is_public=True)
    client = client_for(citizen_a)
    for size in (1, 20):
        # the user behind the token, then one query for the page
        with django_assert_num_queries(2):
            response = client.get(f"/api/v1/feedback/?page_size={size}")
        assert len(response.json()["results"]) == size
        # the user behind the token, then the page: identity never joined in
        with django_assert_num_queries(2):
            response = client.get(f"/api/v1/feedback/public/?page_size={size}")
        assert len(response.json()["results"]) == size


def test_detail_query_count_does_not_grow_with_events(
    world, citizen_a, officer_commune, django_assert_num_queries
):
    item = make_feedback(world, citizen_a)
    client = client_for(citizen_a)
    with django_assert_num_queries(4):
        client.get(f"/api/v1/feedback/{item.pk}/")
    for note in ("một", "hai", "ba"):
        client_for(officer_commune).post(
            f"/api/v1/feedback/{item.pk}/transitions/", {"action": "comment", "note": note}
        )
    with django_assert_num_queries(4):
        assert len(client.get(f"/api/v1/feedback/{item.pk}/").json()["events"]) == 4


def test_categories_are_listed(world):
    category()
    from rest_framework.test import APIClient

    data = APIClient().get("/api/v1/feedback-categories/?lang=en").json()
    assert data["results"][0]["name"] == "Infrastructure"


# Concurrency, templates, demo


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_supports_count_each_user_once(world, citizen_a):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    item = make_feedback(world, citizen_a, status="in_progress", is_public=True)
    supporters = [f.UserFactory() for _ in range(4)]
    # Each supporter twice at once: 4 supports counted, 4 refused as already_supported.
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def support(user):
        try:
            client = client_for(user)
            barrier.wait()
            codes.append(client.post(f"/api/v1/feedback/{item.pk}/support/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=support, args=(u,)) for u in supporters * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201] * 4 + [409] * 4
    item.refresh_from_db()
    assert item.support_count == 4 == FeedbackSupport.objects.filter(feedback=item).count()


FEEDBACK_KINDS = sorted(
    {*actions.NOTIFY_KINDS.values(), "feedback.submitted", "feedback.low_rating"}
)


@pytest.mark.parametrize("kind", FEEDBACK_KINDS)
def test_every_kind_has_vi_and_en_templates(kind):
    from notifications import messages
    from notifications.models import NotificationTemplate

    assert kind in messages.PLACEHOLDERS
    rows = NotificationTemplate.objects.filter(kind=kind)
    assert {row.language for row in rows} >= {"vi", "en"}
    for row in rows:
        used = set().union(*(messages.template_fields(t) for t in (row.title, row.body, row.sms)))
        assert used <= messages.placeholders(kind), (kind, row.language)


def test_english_recipient_gets_english_text(world, citizen_a, officer_commune):
    citizen_a.preferred_language = "en"
    citizen_a.save()
    item = make_feedback(world, citizen_a)
    client_for(officer_commune).post(
        f"/api/v1/feedback/{item.pk}/transitions/", {"action": "accept"}, format="json"
    )
    notification = Notification.objects.get(user=citizen_a, kind="feedback.accepted")
    assert notification.title == f"Feedback {item.tracking_code} accepted"


def test_seed_feedback_demo_command(db):
    from django.core.management import call_command

    from feedback.models import FeedbackCategory

    call_command("seed_feedback_demo")
    call_command("seed_feedback_demo")
    assert FeedbackCategory.objects.count() == 5
    assert FeedbackCategory.objects.get(code="infrastructure").name["en"]


def test_staff_read_is_audited(world, citizen_a, officer_commune):
    from common.models import AuditLogEntry

    item = make_feedback(world, citizen_a)
    client_for(citizen_a).get(f"/api/v1/feedback/{item.pk}/")
    assert not AuditLogEntry.objects.filter(action="view_personal_data").exists()
    client_for(officer_commune).get(f"/api/v1/feedback/{item.pk}/")
    assert AuditLogEntry.objects.filter(action="view_personal_data", actor=officer_commune).exists()
