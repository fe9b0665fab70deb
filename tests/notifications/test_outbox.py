import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from notifications import push
from notifications.models import Notification, PushMessage
from notifications.outbox import notify
from notifications.tasks import deliver_pushes

CONTEXT = {
    "tracking_code": "DV-7K3M-9QX2-H",
    "service_name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
    "agency_name": "UBND xã Lâm Bình",
}
DATA = {"type": "service_request", "id": "5b0a", "status": "submitted", "tracking_code": "DV-1"}


def _notify(user, **overrides):
    kwargs = {"data": DATA, "collapse_key": "service_request-5b0a"} | overrides
    with transaction.atomic():
        return notify(user, "service_request.submitted", CONTEXT, **kwargs)


@pytest.mark.django_db
def test_creates_the_inbox_row_and_one_push_per_active_device(
    citizen_a, citizen_b, make_device, django_capture_on_commit_callbacks
):
    phone = make_device(citizen_a)
    tablet = make_device(citizen_a, platform="ios")
    make_device(citizen_a, is_active=False, deactivated_reason="unregistered")
    make_device(citizen_b)

    with django_capture_on_commit_callbacks() as callbacks:
        notification = _notify(citizen_a)

    assert notification.user == citizen_a
    assert notification.title == "Hồ sơ DV-7K3M-9QX2-H đã được nộp"
    assert notification.data == DATA
    assert notification.read_at is None
    pushes = PushMessage.objects.filter(notification=notification)
    assert {p.device_id for p in pushes} == {phone.id, tablet.id}
    for p in pushes:
        assert p.token == p.device.token
        assert p.status == PushMessage.Status.PENDING
        assert p.attempts == 0
        assert (p.title, p.body) == (notification.title, notification.body)
        assert p.collapse_key == "service_request-5b0a"
        assert p.data == DATA
    assert len(callbacks) == 1
    assert push.memory_messages() == []  # nothing is sent before commit


@pytest.mark.django_db
def test_renders_in_the_recipients_language(citizen_a, make_device):
    citizen_a.preferred_language = "en"
    citizen_a.save()
    make_device(citizen_a)
    notification = _notify(citizen_a)
    assert notification.title == "Application DV-7K3M-9QX2-H submitted"
    assert "Birth registration" in notification.body
    assert PushMessage.objects.get().title == notification.title


@pytest.mark.django_db
def test_data_values_become_strings(citizen_a, make_device):
    make_device(citizen_a)
    data = {"type": "service_request", "id": 42, "urgent": True, "gone": None}
    notification = _notify(citizen_a, data=data)
    assert notification.data == {"type": "service_request", "id": "42", "urgent": "true"}
    assert all(isinstance(v, str) for v in PushMessage.objects.get().data.values())


@pytest.mark.django_db
def test_publishes_after_commit_and_delivers(
    citizen_a, make_device, django_capture_on_commit_callbacks, monkeypatch, settings
):
    device = make_device(citizen_a)
    calls = []
    real_apply_async = deliver_pushes.apply_async

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_apply_async(*args, **kwargs)

    monkeypatch.setattr(deliver_pushes, "apply_async", spy)
    # Even where CI points Celery at a real broker, run the task inline here.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)

    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify(citizen_a)
        assert calls == []  # still inside the transaction

    pending = PushMessage.objects.get(notification=notification)
    assert calls == [
        {"args": [[str(pending.id)]], "retry": False, "timeout": settings.CELERY_PUBLISH_TIMEOUT}
    ]
    pending.refresh_from_db()
    assert pending.status == PushMessage.Status.SENT
    [sent] = push.memory_messages()
    assert sent.token == device.token
    assert sent.title == notification.title
    assert sent.data == DATA
    assert sent.collapse_key == "service_request-5b0a"


@pytest.mark.django_db
def test_nothing_is_published_when_the_transaction_rolls_back(
    citizen_a, make_device, django_capture_on_commit_callbacks
):
    make_device(citizen_a)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(citizen_a, "service_request.submitted", CONTEXT, data=DATA, collapse_key="k")
        raise RuntimeError("the transition failed")
    assert callbacks == []
    assert not Notification.objects.exists()
    assert not PushMessage.objects.exists()


@pytest.mark.django_db
def test_a_broker_failure_is_logged_and_left_to_the_sweep(
    citizen_a, make_device, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    make_device(citizen_a)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(deliver_pushes, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(citizen_a)

    assert "the sweep will send them" in caplog.text
    row = PushMessage.objects.get()
    assert row.status == PushMessage.Status.PENDING

    from notifications.tasks import sweep_outbox

    assert sweep_outbox() == 1
    row.refresh_from_db()
    assert row.status == PushMessage.Status.SENT


@pytest.mark.django_db
def test_a_user_without_devices_gets_only_the_inbox_row(
    citizen_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _notify(citizen_a)
    assert Notification.objects.filter(user=citizen_a).count() == 1
    assert not PushMessage.objects.exists()
    assert callbacks == []


def test_refuses_to_run_outside_a_transaction(db, citizen_a):
    # pytest-django wraps each test in a transaction; leave it for this one check.
    from django.db import connection

    connection.in_atomic_block, saved = False, connection.in_atomic_block
    try:
        with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
            notify(citizen_a, "service_request.submitted", CONTEXT, data=DATA, collapse_key="k")
    finally:
        connection.in_atomic_block = saved
