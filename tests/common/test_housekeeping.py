"""Housekeeping keeps tables bounded: sync removals past the horizon (and what a phone that
last synced before it is told), idempotency records, expired uploads and finished outbox rows
are purged on beat schedules, each counted in `housekeeping_deleted_total`."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from common.api import sync
from common.housekeeping import delete_in_batches
from common.models import IdempotencyRecord, SyncRemoval
from common.tasks import prune_sync_removals, purge_idempotency_records
from notifications.models import Device, PushMessage, SmsMessage
from notifications.tasks import purge_finished_outbox
from services.actions import withdraw_service
from tests import factories as f

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def deleted(job):
    return REGISTRY.get_sample_value("housekeeping_deleted_total", {"job": job}) or 0.0


def runs(job):
    return REGISTRY.get_sample_value("housekeeping_runs_total", {"job": job}) or 0.0


@pytest.fixture
def at_now():
    with mock.patch("django.utils.timezone.now", lambda: NOW):
        yield NOW


@pytest.fixture
def horizon_90(settings):
    settings.SYNC_REMOVAL_HORIZON_DAYS = 90
    settings.SYNC_SAFETY_MARGIN_SECONDS = 60


def removal(object_id, removed_at, user=None):
    row = sync.record_removal("service", object_id, user)
    SyncRemoval.objects.filter(pk=row.pk).update(removed_at=removed_at)
    return row


# -- sync removals and the horizon ---------------------------------------------------------


def test_removals_past_the_horizon_are_pruned_and_counted(horizon_90, at_now, citizen_a):
    old = removal("old", NOW - timedelta(days=91))
    kept = removal("kept", NOW - timedelta(days=89), citizen_a)
    # Within the safety margin past the horizon: a walk starting now may still report it.
    edge = removal("edge", NOW - timedelta(days=90, seconds=30))
    before, runs_before = deleted("sync_removals"), runs("sync_removals")

    assert prune_sync_removals() == 1

    assert set(SyncRemoval.objects.values_list("pk", flat=True)) == {kept.pk, edge.pk}
    assert not SyncRemoval.objects.filter(pk=old.pk).exists()
    assert deleted("sync_removals") == before + 1
    assert runs("sync_removals") == runs_before + 1


def test_the_horizon_is_a_setting(settings, at_now):
    settings.SYNC_REMOVAL_HORIZON_DAYS = 7
    removal("week-old", NOW - timedelta(days=8))
    removal("fresh", NOW - timedelta(days=6))
    assert prune_sync_removals() == 1
    assert list(SyncRemoval.objects.values_list("object_id", flat=True)) == ["fresh"]


def test_pruning_runs_daily_on_the_housekeeping_queue(settings):
    jobs = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "common.tasks.prune_sync_removals" in jobs
    assert "notifications.tasks.purge_finished_outbox" in jobs
    assert "common.tasks.purge_idempotency_records" in jobs
    assert "common.tasks.purge_expired_uploads" in jobs


@pytest.fixture
def catalog(world, horizon_90):
    """Three services; the oldest stamped 200 days before NOW, one withdrawn 100 days ago
    (its removal since pruned), one changed yesterday."""
    first = world["service"]
    withdrawn = f.ServiceFactory(code="marriage-registration", category=first.category)
    changed = f.ServiceFactory(code="death-registration", category=first.category)
    with mock.patch("django.utils.timezone.now", lambda: NOW - timedelta(days=100)):
        withdraw_service(withdrawn)
    for service, age in ((first, 200), (withdrawn, 100), (changed, 1)):
        type(service).objects.filter(pk=service.pk).update(updated_at=NOW - timedelta(days=age))
    return first, withdrawn, changed


def sync_page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_phone_within_the_horizon_gets_changes_and_removals(catalog, at_now, settings):
    settings.SYNC_REMOVAL_HORIZON_DAYS = 365
    since = (NOW - timedelta(days=101)).isoformat()
    body = sync_page(APIClient(), "/api/v1/services/", updated_since=since)
    assert "full_resync" not in body
    assert [item["code"] for item in body["results"]] == ["death-registration"]
    assert body["removed"] == ["marriage-registration"]


def test_a_phone_past_the_horizon_gets_everything_flagged_full_resync(catalog, at_now):
    prune_sync_removals()
    assert not SyncRemoval.objects.exists()  # the removal a phone needed is gone
    since = (NOW - timedelta(days=120)).isoformat()

    body = sync_page(APIClient(), "/api/v1/services/", updated_since=since)

    assert body["full_resync"] is True
    # Every service in view, not only those changed since: the phone keeps these and drops
    # what it had besides (the withdrawn one, whose removal it can no longer be told).
    assert [item["code"] for item in body["results"]] == [
        "birth-registration",
        "death-registration",
    ]
    assert body["removed"] == []
    assert (
        body["server_time"]
        == sync_page(APIClient(), "/api/v1/services/", updated_since=NOW.isoformat())["server_time"]
    )


def test_every_page_of_a_full_resync_walk_says_so(catalog, at_now):
    since = (NOW - timedelta(days=365)).isoformat()
    client = APIClient()
    body = sync_page(client, "/api/v1/services/", updated_since=since, page_size=1)
    codes = [item["code"] for item in body["results"]]
    pages = 1
    while body["next"]:
        body = client.get(body["next"]).json()
        assert body["full_resync"] is True
        codes += [item["code"] for item in body["results"]]
        pages += 1
    assert pages == 2
    assert codes == ["birth-registration", "death-registration"]


def test_a_first_sync_from_the_epoch_is_a_full_resync(catalog, at_now):
    body = sync_page(APIClient(), "/api/v1/services/", updated_since="1970-01-01T00:00:00Z")
    assert body["full_resync"] is True
    assert len(body["results"]) == 2


def test_the_horizon_boundary(horizon_90, at_now):
    walk = sync.server_time()
    start = walk + sync.safety_margin()
    assert sync.past_horizon(start - timedelta(days=90, seconds=1), walk) is True
    assert sync.past_horizon(start - timedelta(days=90), walk) is False


def test_the_envelope_documents_full_resync():
    from common.api.pagination import SyncCursorPagination

    envelope = SyncCursorPagination().get_paginated_response_schema({"type": "object"})
    assert envelope["properties"]["full_resync"]["type"] == "boolean"
    assert "full_resync" not in envelope.get("required", [])


# -- idempotency records, uploads ----------------------------------------------------------


def test_the_idempotency_purge_counts_what_it_removed():
    old = IdempotencyRecord.objects.create(
        user_id="1", key="old", method="POST", path="/", body_hash="x", state="done"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    before = deleted("idempotency_records")
    assert purge_idempotency_records() == 1
    assert deleted("idempotency_records") == before + 1


def test_the_upload_purge_counts_its_runs():
    from common.tasks import purge_expired_uploads

    before = runs("uploads")
    assert purge_expired_uploads() == 0
    assert runs("uploads") == before + 1


# -- the outbox ----------------------------------------------------------------------------


@pytest.fixture
def device(citizen_a):
    return Device.objects.create(user=citizen_a, token="tok-" + "x" * 40, platform="android")


def push(device, status, age_days):
    row = PushMessage.objects.create(
        device=device, token=device.token, title="t", body="b", status=status
    )
    PushMessage.objects.filter(pk=row.pk).update(
        updated_at=timezone.now() - timedelta(days=age_days)
    )
    return row


def sms(status, age_days):
    row = SmsMessage.objects.create(phone="+84900000001", kind="k", text="t", status=status)
    SmsMessage.objects.filter(pk=row.pk).update(
        updated_at=timezone.now() - timedelta(days=age_days)
    )
    return row


def test_finished_outbox_rows_past_retention_are_purged_and_counted(device, settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    P, S = PushMessage.Status, SmsMessage.Status
    purged_pushes = [push(device, P.SENT, 31), push(device, P.DEAD, 40)]
    kept_pushes = [
        push(device, P.SENT, 29),
        push(device, P.PENDING, 60),  # still owed to the phone
        push(device, P.SENDING, 60),  # a worker holds it
    ]
    purged_sms = [sms(S.SENT, 31), sms(S.FAILED, 31), sms(S.SUPPRESSED, 31)]
    kept_sms = [sms(S.SENT, 1), sms(S.PENDING, 45), sms(S.SENDING, 45)]
    before = deleted("outbox_pushes"), deleted("outbox_sms")

    assert purge_finished_outbox() == 5

    assert set(PushMessage.objects.values_list("pk", flat=True)) == {r.pk for r in kept_pushes}
    assert set(SmsMessage.objects.values_list("pk", flat=True)) == {r.pk for r in kept_sms}
    assert deleted("outbox_pushes") == before[0] + len(purged_pushes)
    assert deleted("outbox_sms") == before[1] + len(purged_sms)


def test_retention_is_a_setting(device, settings):
    settings.OUTBOX_RETENTION_DAYS = 3
    push(device, PushMessage.Status.SENT, 4)
    push(device, PushMessage.Status.SENT, 2)
    assert purge_finished_outbox() == 1


def test_big_deletes_go_in_batches(device):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        push(device, PushMessage.Status.SENT, 100)
    rows = PushMessage.objects.filter(status=PushMessage.Status.SENT)
    with CaptureQueriesContext(connection) as queries:
        assert delete_in_batches(rows, batch_size=2) == 5
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert not PushMessage.objects.exists()


def test_other_purges_count_too(citizen_a):
    from accounts.tasks import purge_one_time_codes
    from notifications.tasks import prune_stale_devices

    before = runs("one_time_codes"), runs("stale_devices")
    purge_one_time_codes()
    prune_stale_devices()
    assert (runs("one_time_codes"), runs("stale_devices")) == (before[0] + 1, before[1] + 1)
