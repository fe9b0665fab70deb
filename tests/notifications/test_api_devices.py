from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import actions
from notifications.models import Device, PushMessage
from notifications.outbox import notify
from tests.conftest import client_for

URL = "/api/v1/devices/"
TOKEN = "dGVzdA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"


def _register(user, token=TOKEN, platform="android", **extra):
    return client_for(user).post(URL, {"token": token, "platform": platform, **extra})


@pytest.mark.django_db
def test_register_a_new_device(citizen_a):
    response = _register(citizen_a, app_version="1.4.2")

    assert response.status_code == 201
    body = response.json()
    assert body["token"] == TOKEN
    assert body["platform"] == "android"
    assert body["app_version"] == "1.4.2"
    assert body["is_active"] is True
    device = Device.objects.get(token=TOKEN)
    assert device.user == citizen_a
    assert device.last_seen_at is not None


@pytest.mark.django_db
def test_registering_again_answers_200_and_refreshes(citizen_a):
    _register(citizen_a, app_version="1.0")
    first_seen = Device.objects.get().last_seen_at

    response = _register(citizen_a, platform="android", app_version="1.1")

    assert response.status_code == 200
    device = Device.objects.get()
    assert device.app_version == "1.1"
    assert device.last_seen_at >= first_seen


@pytest.mark.django_db
def test_an_unregistered_device_is_reactivated(citizen_a, make_device):
    make_device(citizen_a, token=TOKEN, is_active=False, deactivated_reason="invalid_token")
    assert _register(citizen_a).status_code == 200
    device = Device.objects.get()
    assert (device.is_active, device.deactivated_reason) == (True, "")


@pytest.mark.django_db
def test_a_token_moves_with_the_account_and_drops_the_old_owners_pushes(
    citizen_a, citizen_b, make_device
):
    device = make_device(citizen_a, token=TOKEN)
    with transaction.atomic():
        notify(citizen_a, "service_request.submitted", {}, data={}, collapse_key="k")
    queued = PushMessage.objects.get()

    response = _register(citizen_b, platform="ios")

    assert response.status_code == 200
    device.refresh_from_db()
    assert device.user == citizen_b
    assert device.is_active
    assert device.platform == "ios"
    queued.refresh_from_db()
    assert queued.status == PushMessage.Status.DEAD  # A's news never reaches B's screen
    assert Device.objects.count() == 1


@pytest.mark.django_db
def test_at_most_ten_active_devices_the_least_recently_seen_goes(citizen_a, make_device):
    now = timezone.now()
    devices = [make_device(citizen_a, last_seen_at=now - timedelta(days=30 - i)) for i in range(10)]
    oldest = devices[0]

    response = _register(citizen_a)

    assert response.status_code == 201
    assert Device.objects.filter(user=citizen_a, is_active=True).count() == 10
    oldest.refresh_from_db()
    assert (oldest.is_active, oldest.deactivated_reason) == (False, "device_limit")
    assert Device.objects.get(token=TOKEN).is_active


@pytest.mark.django_db
def test_the_cap_counts_only_the_users_own_devices(citizen_a, citizen_b, make_device):
    for _ in range(10):
        make_device(citizen_b)
    assert _register(citizen_a).status_code == 201
    assert Device.objects.filter(user=citizen_b, is_active=True).count() == 10


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"platform": "android"}, "token"),
        ({"token": "", "platform": "android"}, "token"),
        ({"token": "x" * 513, "platform": "android"}, "token"),
        ({"token": TOKEN, "platform": "symbian"}, "platform"),
        ({"token": TOKEN, "platform": "ios", "app_version": "1" * 33}, "app_version"),
    ],
)
def test_bad_bodies_are_400_in_the_standard_shape(citizen_a, body, attr):
    response = client_for(citizen_a).post(URL, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "validation_error"
    assert [e["attr"] for e in payload["errors"]] == [attr]
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_delete_own_device(citizen_a, make_device):
    device = make_device(citizen_a, token=TOKEN)
    with transaction.atomic():
        notify(citizen_a, "service_request.submitted", {}, data={}, collapse_key="k")

    response = client_for(citizen_a).delete(f"{URL}{TOKEN}/")

    assert response.status_code == 204
    device.refresh_from_db()
    assert (device.is_active, device.deactivated_reason) == (False, "unregistered")
    assert PushMessage.objects.get().status == PushMessage.Status.DEAD
    # Deleting again is still the owner's business: 204, nothing changes.
    assert client_for(citizen_a).delete(f"{URL}{TOKEN}/").status_code == 204


@pytest.mark.django_db
def test_delete_someone_elses_device_is_404(citizen_a, citizen_b, make_device):
    device = make_device(citizen_a, token=TOKEN)

    response = client_for(citizen_b).delete(f"{URL}{TOKEN}/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    device.refresh_from_db()
    assert device.is_active


@pytest.mark.django_db
def test_delete_unknown_token_is_404(citizen_a):
    assert client_for(citizen_a).delete(f"{URL}no-such-token/").status_code == 404


@pytest.mark.django_db
def test_unauthenticated_is_401(api, make_device, citizen_a):
    make_device(citizen_a, token=TOKEN)
    for response in (
        api.post(URL, {"token": TOKEN, "platform": "android"}),
        api.delete(f"{URL}{TOKEN}/"),
    ):
        assert response.status_code == 401
        assert response.json()["type"] == "client_error"
    assert Device.objects.get().user == citizen_a


@pytest.mark.django_db
def test_unregister_device_for_logout_never_touches_others(citizen_a, citizen_b, make_device):
    device = make_device(citizen_a, token=TOKEN)
    assert actions.unregister_device(citizen_b, TOKEN) is False
    assert actions.unregister_device(citizen_b, "unknown") is False
    device.refresh_from_db()
    assert device.is_active
    assert actions.unregister_device(citizen_a, TOKEN) is True
    device.refresh_from_db()
    assert not device.is_active
