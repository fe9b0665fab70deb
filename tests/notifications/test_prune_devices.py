from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from notifications.actions import prune_stale_devices
from notifications.models import Device, PushMessage
from notifications.tasks import prune_stale_devices as prune_task

pytestmark = pytest.mark.django_db


def test_devices_unseen_for_60_days_are_pruned(citizen_a, make_device):
    now = timezone.now()
    fresh = make_device(citizen_a, last_seen_at=now - timedelta(days=59))
    stale = make_device(citizen_a, last_seen_at=now - timedelta(days=61))
    inactive_stale = make_device(citizen_a, last_seen_at=now - timedelta(days=90), is_active=False)
    PushMessage.objects.create(device=stale, token=stale.token, title="t", body="b")

    assert prune_stale_devices(now=now) == 2

    assert list(Device.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not Device.objects.filter(pk__in=[stale.pk, inactive_stale.pk]).exists()
    assert PushMessage.objects.count() == 0


def test_a_device_never_seen_counts_from_its_creation(citizen_a, make_device):
    old = make_device(citizen_a)
    Device.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=61))
    young = make_device(citizen_a)
    assert prune_task() == 1
    assert list(Device.objects.values_list("pk", flat=True)) == [young.pk]


def test_a_device_with_a_push_in_flight_waits_for_the_next_run(citizen_a, make_device):
    stale = make_device(citizen_a, last_seen_at=timezone.now() - timedelta(days=61))
    PushMessage.objects.create(
        device=stale, token=stale.token, title="t", body="b", status=PushMessage.Status.SENDING
    )
    assert prune_stale_devices() == 0


def test_registering_again_keeps_a_device(citizen_a, make_device):
    from notifications.actions import register_device

    device = make_device(citizen_a, last_seen_at=timezone.now() - timedelta(days=61))
    register_device(citizen_a, token=device.token, platform="android")
    assert prune_stale_devices() == 0


def test_the_task_runs_daily_on_beat():
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "notifications.tasks.prune_stale_devices"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"].is_due  # a crontab
