"""`/metrics`: what an operator's Prometheus reads after real traffic, and who may read it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import PushMessage
from tests.conftest import client_for
from tests.live import RedisServer, publishing_to

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
TOKEN = "metrics-reader-token-0123456789"


def scrape(client, **headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def value(text, name, **labels):
    """The sample `name{labels}` in an exposition, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_a_citizens_morning_shows_in_the_metrics(
    api, citizen_a, django_capture_on_commit_callbacks
):
    before = scrape(api)
    client = client_for(citizen_a)
    device = client.post(
        "/api/v1/devices/", {"token": "phone-token-1", "platform": "android"}, format="json"
    )
    assert device.status_code == 201
    body = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            "/api/v1/requests/", body, format="json", headers={"Idempotency-Key": "k-1"}
        )
    again = client.post(
        "/api/v1/requests/", body, format="json", headers={"Idempotency-Key": "k-1"}
    )
    assert (first.status_code, again.status_code) == (201, 201)
    with django_capture_on_commit_callbacks(execute=True):
        otp = api.post("/api/v1/auth/otp/", {"phone": "0912 345 678", "purpose": "register"})
    assert otp.status_code == 202
    lookups = [
        api.get("/api/v1/requests/lookup/", {"tracking_code": "DV-0000-0000-0", "phone_last4": "1"})
        for _ in range(12)
    ]
    assert lookups[-1].status_code == 429

    after = scrape(api)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("http_requests_total", route="requests", method="POST", status="201") == 2
    assert grew("http_request_duration_seconds_count", route="requests", method="POST") == 2
    assert grew("db_queries_total", alias="default", route="requests") > 10
    assert grew("idempotency_replays_total") == 1
    assert grew("http_throttled_total", route="request-lookup") >= 1
    assert grew("push_messages_total", outcome="sent") == 1  # "submitted" to the phone
    assert grew("sms_messages_total", outcome="sent") == 1  # the one-time code
    # Nothing left in the outbox.
    assert value(after, "outbox_pending", channel="push") == 0
    assert value(after, "outbox_pending", channel="sms") == 0


def test_the_outbox_backlog_and_its_age(api, citizen_a, django_capture_on_commit_callbacks):
    client = client_for(citizen_a)
    client.post("/api/v1/devices/", {"token": "phone-token-2", "platform": "ios"}, format="json")
    body = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
    # Committed, but the delivery task never ran (a broker outage): the rows wait.
    assert client.post("/api/v1/requests/", body, format="json").status_code == 201
    PushMessage.objects.update(created_at=timezone.now() - timedelta(minutes=10))

    text = scrape(api)

    assert value(text, "outbox_pending", channel="push") == 1
    assert 590 < value(text, "outbox_oldest_pending_age_seconds", channel="push") < 700
    assert value(text, "outbox_oldest_pending_age_seconds", channel="sms") == 0


def test_strangers_are_refused_and_the_token_lets_a_scraper_in(api, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    settings.METRICS_TOKEN = TOKEN
    settings.TRUSTED_PROXIES = ["10.9.0.0/16"]

    refused = [
        api.get("/metrics"),
        api.get("/metrics", headers={"Authorization": "Bearer wrong"}),
        # A forged X-Forwarded-For from a client that is not a trusted proxy changes nothing.
        api.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3"),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert refused[0]["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"http_requests_total" not in refused[0].content

    assert "http_requests_total" in scrape(api, Authorization=f"Bearer {TOKEN}")
    # Prometheus inside the network, through the trusted proxy, without a token.
    allowed = api.get("/metrics", REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert allowed.status_code == 200


def test_prod_defaults_refuse_every_address(api, settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = ""

    assert api.get("/metrics").status_code == 401


@pytest.mark.redis
def test_celery_queue_lengths_per_queue(api, settings, tmp_path):
    from notifications.delivery import deliver_sms_task

    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with publishing_to(redis.url, settings):
            # No worker: the messages wait in their queues.
            deliver_sms_task.delay(["00000000-0000-0000-0000-000000000001"])
            deliver_sms_task.delay(["00000000-0000-0000-0000-000000000002"])
            text = scrape(api)
    finally:
        redis.stop()

    assert value(text, "celery_queue_length", queue="sms") == 2
    assert value(text, "celery_queue_length", queue="pushes") == 0
    assert {"pushes", "sms", "fanout", "housekeeping", "celery"} <= {
        sample.labels["queue"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "celery_queue_length"
    }
