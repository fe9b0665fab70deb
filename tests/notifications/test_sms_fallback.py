"""SMS fallback: critical notifications reach a user with no active device by SMS."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import push, sms
from notifications.models import PushMessage, SmsMessage
from notifications.outbox import notify
from notifications.tasks import sweep_outbox

pytestmark = pytest.mark.django_db

CONTEXT = {"tracking_code": "DV-7K3M-9QX2-H", "agency_name": "UBND xã Lâm Bình"}
DATA = {"type": "service_request", "id": "5b0a", "status": "result_ready"}


def _notify(user, *, critical=True, kind="service_request.result_ready"):
    with transaction.atomic():
        return notify(
            user, kind, CONTEXT, data=DATA, collapse_key="service_request-5b0a", critical=critical
        )


def test_a_critical_notice_without_a_device_goes_by_sms_after_commit(
    citizen_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _notify(citizen_a)
    row = SmsMessage.objects.get()
    assert (row.phone, row.status, row.kind) == (
        citizen_a.phone,
        "pending",
        "service_request.result_ready",
    )
    assert "DV-7K3M-9QX2-H" in row.text
    assert sms.memory_outbox() == []  # nothing leaves before commit

    for callback in callbacks:
        callback()

    [sent] = sms.memory_outbox()
    assert sent.phone == "+84900000001"
    assert "DV-7K3M-9QX2-H" in sent.text
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None


def test_the_sms_is_in_the_users_language(citizen_a, django_capture_on_commit_callbacks):
    from notifications.messages import render_sms

    citizen_a.preferred_language = "en"
    citizen_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a)
    [sent] = sms.memory_outbox()
    assert sent.text == render_sms("service_request.result_ready", "en", CONTEXT)
    assert sent.text != render_sms("service_request.result_ready", "vi", CONTEXT)


def test_a_user_with_an_active_device_gets_a_push_not_an_sms(
    citizen_a, make_device, django_capture_on_commit_callbacks
):
    make_device(citizen_a)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a)
    assert SmsMessage.objects.count() == 0
    assert sms.memory_outbox() == []
    assert len(push.memory_messages()) == 1


def test_an_inactive_device_does_not_count(
    citizen_a, make_device, django_capture_on_commit_callbacks
):
    make_device(citizen_a, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a)
    assert len(sms.memory_outbox()) == 1
    assert PushMessage.objects.count() == 0


def test_a_non_critical_notice_sends_no_sms(citizen_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a, critical=False, kind="service_request.received")
    assert SmsMessage.objects.count() == 0
    assert sms.memory_outbox() == []


def test_at_most_three_sms_per_phone_per_hour(
    citizen_a, citizen_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            _notify(citizen_a)
        _notify(citizen_b)
    assert [m.phone for m in sms.memory_outbox()] == [citizen_a.phone] * 3 + [citizen_b.phone]
    assert SmsMessage.objects.filter(phone=citizen_a.phone, status="suppressed").count() == 2
    # The inbox still has every one of them.
    assert citizen_a.notifications.count() == 5


def test_the_window_slides(citizen_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            _notify(citizen_a)
    SmsMessage.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a)
    assert len(sms.memory_outbox()) == 4


def test_the_limit_is_a_setting(settings, citizen_a, django_capture_on_commit_callbacks):
    settings.SMS_RATE_LIMIT = 1
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a)
        _notify(citizen_a)
    assert len(sms.memory_outbox()) == 1


def test_an_sms_whose_publish_failed_is_sent_by_the_sweep(citizen_a, monkeypatch):
    from notifications import tasks

    def broker_down(*args, **kwargs):
        raise OSError("broker down")

    monkeypatch.setattr(tasks.deliver_sms, "apply_async", broker_down)
    _notify(citizen_a)  # on_commit runs nothing inside the test transaction anyway
    assert sms.memory_outbox() == []
    sweep_outbox()
    assert len(sms.memory_outbox()) == 1
    assert SmsMessage.objects.get().status == "sent"
    sweep_outbox()
    assert len(sms.memory_outbox()) == 1  # sent once


def test_a_refused_sms_is_failed_not_retried(citizen_a):
    type(citizen_a).objects.filter(pk=citizen_a.pk).update(phone="12345")
    citizen_a.refresh_from_db()
    _notify(citizen_a)
    sweep_outbox()
    row = SmsMessage.objects.get()
    assert row.status == "failed"
    assert row.last_error == "invalid phone number"
    sweep_outbox()
    assert SmsMessage.objects.get().attempts == 1
