"""Signed webhooks: subscriptions through the API, delivery from the outbox with retries,
signatures checked with the `standardwebhooks` library against local receivers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from agencies.models import StaffMembership
from notifications.models import Notification
from tests import factories as f
from tests.conftest import client_for
from tests.feedback.helpers import make_feedback
from tests.services.workflow import FORM
from tests.webhooks.receivers import Receiver
from webhooks import actions, delivery, signing
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.postgres


@pytest.fixture
def admin_province(world):
    user = f.UserFactory(phone="+84900000401", full_name="Lý Văn Quản", is_staff=True)
    StaffMembership.objects.create(user=user, agency=world["tq_board"], role="admin")
    return user


@pytest.fixture
def admin_other_province(world):
    user = f.UserFactory(phone="+84900000402", full_name="Lò Thị Xuân", is_staff=True)
    StaffMembership.objects.create(user=user, agency=world["db_board"], role="admin")
    return user


def subscribe(user, url, **body):
    return client_for(user).post("/api/v1/webhooks/", {"url": url, **body}, format="json")


def run_deliveries(max_rounds: int = 10) -> None:
    """Send what is due; make every retry due at once, as the clock would, until done."""
    for _round in range(max_rounds):
        delivery.sweep()
        waiting = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        if not waiting.exists():
            return
        waiting.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    raise AssertionError("deliveries still pending")


# -- subscriptions ---------------------------------------------------------------------


def test_agency_admin_subscribes_and_sees_the_secret_once(world, admin_province):
    response = subscribe(admin_province, "http://127.0.0.1:9/hook", events=[])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["agency"] == {
        "id": str(world["tq_board"].pk),
        "code": "tq-board",
        "name": "Sở Nội vụ Tuyên Quang",
    }
    assert body["events"] == []
    stored = WebhookSubscription.objects.get(pk=body["id"])
    assert stored.secret == body["secret"]
    listed = client_for(admin_province).get("/api/v1/webhooks/").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0]


def test_subscription_for_an_agency_below_and_events(world, admin_province):
    response = subscribe(
        admin_province,
        "http://127.0.0.1:9/hook",
        agency=str(world["lam_binh_office"].pk),
        events=["feedback.created", "feedback.created"],
    )
    assert response.status_code == 201
    assert response.json()["agency"]["code"] == "lam-binh"
    assert response.json()["events"] == ["feedback.created"]


def test_others_may_not_manage_webhooks(
    world, admin_province, admin_other_province, citizen_a, officer_commune, manager_province
):
    for user in (citizen_a, officer_commune, manager_province):
        assert subscribe(user, "http://127.0.0.1:9/hook").status_code == 403
        assert client_for(user).get("/api/v1/webhooks/").status_code == 403
    response = subscribe(
        admin_other_province, "http://127.0.0.1:9/hook", agency=str(world["tq_board"].pk)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_agency"
    ours = subscribe(admin_province, "http://127.0.0.1:9/hook").json()["id"]
    assert client_for(admin_other_province).get("/api/v1/webhooks/").json()["results"] == []
    assert client_for(admin_other_province).delete(f"/api/v1/webhooks/{ours}/").status_code == 404
    assert client_for(admin_province).delete(f"/api/v1/webhooks/{ours}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_superuser_names_an_agency_or_gets_the_single_root(world, superuser):
    response = subscribe(superuser, "http://127.0.0.1:9/hook")
    assert response.status_code == 201
    assert response.json()["agency"]["code"] == "ministry"


def test_unknown_event_is_refused(world, admin_province):
    response = subscribe(admin_province, "http://127.0.0.1:9/hook", events=["dossier.eaten"])
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "events.0"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://localhost/hook",
        "https://user:pw@203.0.113.5/hook",
    ],
)
def test_production_refuses_private_and_plain_http_urls(world, admin_province, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_HTTPS_ONLY = True
    response = subscribe(admin_province, url)
    assert response.status_code == 400, url
    assert response.json()["errors"][0] == {
        "code": "unsafe_url",
        "detail": response.json()["errors"][0]["detail"],
        "attr": "url",
    }


def test_production_accepts_a_public_https_ip(world, admin_province, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_HTTPS_ONLY = True
    assert subscribe(admin_province, "https://8.8.8.8/hook").status_code == 201


def test_delivery_time_check_refuses_a_private_address(world, admin_province, citizen_a, settings):
    """A subscription that passed (or a name that now resolves elsewhere) is checked again
    when it is sent to, after resolution: nothing leaves for a loopback address."""
    with Receiver(lambda tries: 200) as receiver:
        subscribe(admin_province, receiver.url)
        settings.WEBHOOK_ALLOW_PRIVATE = False
        make_feedback(world, citizen_a)
        delivery.sweep()
        assert receiver.tries == {}
    row = WebhookDelivery.objects.get()
    assert row.status == WebhookDelivery.Status.PENDING
    assert row.attempt_log.get().outcome == WebhookAttempt.Outcome.REFUSED
    assert "blocked" in row.last_error


# -- what is sent ----------------------------------------------------------------------


def test_rows_are_written_in_the_transition_and_published_after_commit(
    world, admin_province, citizen_a, officer_commune, django_capture_on_commit_callbacks
):
    subscription = WebhookSubscription.objects.create(
        agency=world["tq_board"], url="http://127.0.0.1:9/", secret=signing.new_secret()
    )
    item = make_feedback(world, citizen_a, is_anonymous=True)
    assert WebhookDelivery.objects.filter(event_type="feedback.created").count() == 1
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(officer_commune).post(
            f"/api/v1/feedback/{item.pk}/transitions/", {"action": "accept"}, format="json"
        )
    assert response.status_code == 200
    row = WebhookDelivery.objects.get(event_type="feedback.status_changed")
    assert row.subscription == subscription
    assert any("publish_deliveries" in repr(callback) for callback in callbacks)
    body = json.loads(row.body)
    assert body["type"] == "feedback.status_changed"
    assert body["data"] == {
        "kind": "feedback",
        "id": str(item.pk),
        "tracking_code": item.tracking_code,
        "status": "in_progress",
        "agency": {
            "id": str(world["lam_binh_office"].pk),
            "code": "lam-binh",
            "name": "UBND xã Lâm Bình",
        },
    }
    # Ids and state only: the author and the texts never leave.
    for secret in (citizen_a.phone, citizen_a.full_name, item.title, str(citizen_a.pk)):
        assert secret not in row.body
    # A comment changes no state: nothing sent.
    client_for(officer_commune).post(
        f"/api/v1/feedback/{item.pk}/transitions/",
        {"action": "comment", "note": "Đã cử cán bộ xuống bản"},
        format="json",
    )
    assert WebhookDelivery.objects.count() == 2


def test_only_matching_subtrees_and_events_are_queued(world, citizen_a):
    def sub(agency, events=()):
        return WebhookSubscription.objects.create(
            agency=world[agency],
            url="http://127.0.0.1:9/",
            events=list(events),
            secret=signing.new_secret(),
        )

    ministry = sub("ministry")
    board = sub("tq_board", ["feedback.created"])
    office = sub("lam_binh_office", ["service_request.created"])
    other = sub("db_board")
    inactive = sub("tq_board")
    inactive.is_active = False
    inactive.save()
    make_feedback(world, citizen_a)
    queued = set(WebhookDelivery.objects.values_list("subscription_id", flat=True))
    assert queued == {ministry.pk, board.pk}
    assert other.pk not in queued and office.pk not in queued


def test_a_change_made_by_another_process_is_seen_by_the_next_event(world, citizen_a):
    """Each process keeps the subscriptions it read; a change elsewhere moves the shared
    version on after its commit, and the next event here reads the rows again."""
    from django.db import connection

    from common import refcache
    from webhooks import routing

    kept = WebhookSubscription.objects.create(
        agency=world["tq_board"], url="http://127.0.0.1:9/", secret=signing.new_secret()
    )
    gone = WebhookSubscription.objects.create(
        agency=world["ministry"], url="http://127.0.0.1:9/", secret=signing.new_secret()
    )
    make_feedback(world, citizen_a)
    assert WebhookDelivery.objects.filter(subscription=gone).count() == 1
    # Another process deletes one: this process's signals never hear of it.
    pk = WebhookSubscription._meta.pk.get_db_prep_value(gone.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM webhooks_webhookdelivery")
        cursor.execute("DELETE FROM webhooks_webhooksubscription WHERE id = %s", [pk])
    assert any(key[0] == routing.NAMESPACE for key in refcache._entries)
    # … and, after its commit, moves the shared version on (its `_next_version`).
    routing.cache.incr(routing.VERSION_KEY)
    make_feedback(world, citizen_a)
    assert set(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == {kept.pk}


def test_without_the_shared_cache_events_read_the_database(world, citizen_a, monkeypatch):
    from webhooks import routing

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(routing.cache, "get", down)
    subscription = WebhookSubscription.objects.create(
        agency=world["tq_board"], url="http://127.0.0.1:9/", secret=signing.new_secret()
    )
    make_feedback(world, citizen_a)
    assert WebhookDelivery.objects.get().subscription == subscription


# -- delivery end to end ----------------------------------------------------------------


def test_every_transition_arrives_once_signed_after_retries(
    world, admin_province, citizen_a, officer_commune, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    slow = Receiver(lambda tries: ("sleep", 1.5, 200) if tries == 1 else 200)
    flaky = Receiver(lambda tries: 500 if tries == 1 else 200)
    with slow, flaky:
        secrets = {}
        for receiver in (slow, flaky):
            response = subscribe(admin_province, receiver.url)
            secrets[receiver] = response.json()["secret"]
        # The dossier: submitted by the citizen, then every staff step to the end.
        with django_capture_on_commit_callbacks(execute=True):
            created = client_for(citizen_a).post(
                "/api/v1/requests/",
                {"service": world["service"].code, "administrative_unit": 2266, "form_data": FORM},
                format="json",
            )
        assert created.status_code == 201, created.json()
        dossier_id = created.json()["id"]
        steps = [
            ("receive", {}),
            ("start", {}),
            ("approve", {"result": "Đã cấp"}),
            ("return_result", {}),
        ]
        for action, body in steps:
            with django_capture_on_commit_callbacks(execute=True):
                response = client_for(officer_commune).post(
                    f"/api/v1/requests/{dossier_id}/transitions/",
                    {"action": action, **body},
                    format="json",
                )
            assert response.status_code == 200, response.json()
        run_deliveries()

        expected = [
            ("service_request.created", "submitted"),
            ("service_request.status_changed", "received"),
            ("service_request.status_changed", "in_progress"),
            ("service_request.status_changed", "result_ready"),
            ("service_request.status_changed", "completed"),
        ]
        for receiver in (slow, flaky):
            verifier = Webhook(secrets[receiver])
            ids = [headers["webhook-id"] for headers, _body in receiver.accepted]
            assert len(ids) == len(set(ids)) == 5
            received = []
            for headers, body in receiver.accepted:
                payload = verifier.verify(body, headers)
                assert payload["data"]["id"] == dossier_id
                received.append((payload["type"], payload["data"]["status"]))
            assert sorted(received, key=expected.index) == expected
            # Every message needed a second try, and only one.
            assert set(receiver.tries.values()) == {2}

    rows = WebhookDelivery.objects.all()
    assert rows.count() == 10
    assert {row.status for row in rows} == {WebhookDelivery.Status.DELIVERED}
    assert {row.attempts for row in rows} == {2}
    flaky_log = WebhookAttempt.objects.filter(delivery__subscription__url=flaky.url)
    assert set(flaky_log.values_list("outcome", "status_code")) == {
        ("delivered", 200),
        ("retry", 500),
    }
    slow_retries = WebhookAttempt.objects.filter(
        delivery__subscription__url=slow.url, outcome="retry"
    )
    assert slow_retries.count() == 5
    assert all("Timeout" in attempt.error for attempt in slow_retries)
    assert all(attempt.latency_ms is not None for attempt in WebhookAttempt.objects.all())


def test_retries_back_off_with_jitter(world, citizen_a):
    with Receiver(lambda tries: 503) as receiver:
        WebhookSubscription.objects.create(
            agency=world["tq_board"], url=receiver.url, secret=signing.new_secret()
        )
        make_feedback(world, citizen_a)
        before = timezone.now()
        delivery.sweep()
    row = WebhookDelivery.objects.get()
    assert row.status == WebhookDelivery.Status.PENDING
    wait = (row.next_attempt_at - before).total_seconds()
    assert 15 <= wait <= 31
    assert delivery.retry_delay(5) <= delivery.BACKOFF_BASE_SECONDS * 16
    assert delivery.retry_delay(30) <= delivery.BACKOFF_CAP_SECONDS
    assert delivery.retry_delay(1, retry_after=600) == 600


def test_after_24_hours_the_subscription_is_disabled_and_the_admin_told(
    world, admin_province, citizen_a
):
    with Receiver(lambda tries: 500) as receiver:
        subscription_id = subscribe(admin_province, receiver.url).json()["id"]
        make_feedback(world, citizen_a)
        WebhookDelivery.objects.update(
            created_at=timezone.now() - timedelta(hours=23, minutes=59, seconds=50)
        )
        delivery.sweep()
    row = WebhookDelivery.objects.get()
    assert row.status == WebhookDelivery.Status.FAILED
    assert row.attempt_log.get().outcome == "gave_up"
    subscription = WebhookSubscription.objects.get(pk=subscription_id)
    assert not subscription.is_active
    assert subscription.disabled_at is not None
    notice = Notification.objects.get(user=admin_province, kind="webhook.disabled")
    assert receiver.url in notice.body
    # Off means off: new events are not queued, and nothing more is sent.
    make_feedback(world, citizen_a)
    assert WebhookDelivery.objects.count() == 1
    listed = client_for(admin_province).get("/api/v1/webhooks/").json()["results"]
    assert listed[0]["is_active"] is False


def test_redirects_are_not_followed(world, citizen_a):
    with Receiver(lambda tries: 307) as receiver:
        WebhookSubscription.objects.create(
            agency=world["tq_board"], url=receiver.url, secret=signing.new_secret()
        )
        make_feedback(world, citizen_a)
        delivery.sweep()
        assert sum(receiver.tries.values()) == 1
    row = WebhookDelivery.objects.get()
    assert row.status == WebhookDelivery.Status.PENDING
    assert row.last_status_code == 307
    assert "not followed" in row.last_error


def test_rotated_secret_signs_beside_the_new_one_during_the_overlap(
    world, admin_province, citizen_a
):
    with Receiver(lambda tries: 200) as receiver:
        created = subscribe(admin_province, receiver.url).json()
        subscription = WebhookSubscription.objects.get(pk=created["id"])
        new_secret = actions.rotate_secret(admin_province, subscription)
        assert new_secret != created["secret"]
        make_feedback(world, citizen_a)
        delivery.sweep()
        headers, body = receiver.accepted[0]
        assert len(headers["webhook-signature"].split(" ")) == 2
        Webhook(created["secret"]).verify(body, headers)
        Webhook(new_secret).verify(body, headers)
        # After the overlap only the new secret signs.
        WebhookSubscription.objects.update(previous_secret_until=timezone.now())
        make_feedback(world, citizen_a, title="Đường vào bản sạt lở")
        delivery.sweep()
        headers, body = receiver.accepted[1]
        assert len(headers["webhook-signature"].split(" ")) == 1
        Webhook(new_secret).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(created["secret"]).verify(body, headers)


def test_api_rotates_a_secret_once_per_idempotency_key(
    world, admin_province, admin_other_province, citizen_a
):
    with Receiver(lambda tries: 200) as receiver:
        created = subscribe(admin_province, receiver.url).json()
        url = f"/api/v1/webhooks/{created['id']}/rotate-secret/"
        # Another province's admin does not see it; a citizen may not rotate anything.
        assert client_for(admin_other_province).post(url).status_code == 404
        assert client_for(citizen_a).post(url).status_code == 403
        admin = client_for(admin_province)
        first = admin.post(url, headers={"Idempotency-Key": "rotate-1"})
        assert first.status_code == 200, first.json()
        rotated = first.json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
        until = datetime.fromisoformat(rotated["previous_secret_until"])
        assert timedelta(hours=23) < until - timezone.now() <= timedelta(hours=24)
        # A retry of the same call (the answer was lost on the way) rotates nothing more.
        again = admin.post(url, headers={"Idempotency-Key": "rotate-1"})
        assert again.json()["secret"] == rotated["secret"]
        make_feedback(world, citizen_a)
        delivery.sweep()
        headers, body = receiver.accepted[0]
        Webhook(created["secret"]).verify(body, headers)
        Webhook(rotated["secret"]).verify(body, headers)
    listed = admin.get("/api/v1/webhooks/").json()["results"]
    assert "secret" not in listed[0]


def test_redeliver_sends_the_same_message_again(world, admin_province, citizen_a):
    with Receiver(lambda tries: 200) as receiver:
        subscribe(admin_province, receiver.url)
        make_feedback(world, citizen_a)
        delivery.sweep()
        row = WebhookDelivery.objects.get()
        assert actions.redeliver(admin_province, [row]) == 1
        delivery.sweep()
        ids = [headers["webhook-id"] for headers, _body in receiver.accepted]
        assert ids == [str(row.pk), str(row.pk)]
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.DELIVERED
    assert row.attempt_log.count() == 2


def test_signature_matches_the_specification():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = signing.headers(
        [secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    )
    # The example of the Standard Webhooks specification.
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_beat_sweep_hands_due_rows_to_delivery_tasks(world, citizen_a):
    with Receiver(lambda tries: 200) as receiver:
        WebhookSubscription.objects.create(
            agency=world["tq_board"], url=receiver.url, secret=signing.new_secret()
        )
        make_feedback(world, citizen_a)
        make_feedback(world, citizen_a, title="Đường vào bản sạt lở")
        # Eager in tests: the published delivery runs at once.
        assert delivery.sweep_webhooks_task() == 2
        assert len(receiver.accepted) == 2
    assert delivery.due_ids() == []


def test_the_webhook_backlog_is_in_the_metrics(world, citizen_a, api):
    from tests.common.test_metrics import scrape, value

    WebhookSubscription.objects.create(
        agency=world["tq_board"], url="http://127.0.0.1:9/", secret=signing.new_secret()
    )
    make_feedback(world, citizen_a)
    make_feedback(world, citizen_a)
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    text = scrape(api)

    assert value(text, "outbox_pending", channel="webhook") == 2
    assert 290 < value(text, "outbox_oldest_pending_age_seconds", channel="webhook") < 400
    assert WebhookDelivery.objects.update(status=WebhookDelivery.Status.DELIVERED) == 2
    assert value(scrape(api), "outbox_pending", channel="webhook") == 0
