import pytest
from django.db import transaction

from notifications.models import PushMessage
from notifications.outbox import notify


@pytest.fixture
def admin_client_for(client):
    def make(user):
        client.force_login(user)
        return client

    return make


@pytest.mark.django_db
def test_outbox_is_a_read_only_list_filtered_by_status(
    superuser, citizen_a, make_device, admin_client_for
):
    make_device(citizen_a)
    with transaction.atomic():
        notify(
            citizen_a,
            "service_request.submitted",
            {"tracking_code": "DV-1"},
            data={},
            collapse_key="k",
        )
    row = PushMessage.objects.get()
    client = admin_client_for(superuser)

    listing = client.get("/admin/notifications/pushmessage/", {"status__exact": "pending"})
    assert listing.status_code == 200
    assert "Hồ sơ DV-1 đã được nộp" in listing.content.decode()
    assert "Chờ gửi" in listing.content.decode()
    empty = client.get("/admin/notifications/pushmessage/", {"status__exact": "dead"})
    assert "Hồ sơ DV-1" not in empty.content.decode()

    detail = client.get(f"/admin/notifications/pushmessage/{row.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.get("/admin/notifications/pushmessage/add/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["device", "notification"])
def test_devices_and_inbox_are_viewable(superuser, citizen_a, make_device, admin_client_for, model):
    make_device(citizen_a)
    assert admin_client_for(superuser).get(f"/admin/notifications/{model}/").status_code == 200
