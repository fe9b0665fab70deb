"""The webhook admin: subscriptions by agency admins, the delivery log and redelivery."""

import pytest
from django.test import Client

from agencies.models import StaffMembership
from tests import factories as f
from tests.feedback.helpers import make_feedback
from tests.webhooks.receivers import Receiver
from webhooks import delivery, signing
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.postgres


@pytest.fixture
def admin_province(world):
    user = f.UserFactory(phone="+84900000401", full_name="Lý Văn Quản", is_staff=True)
    StaffMembership.objects.create(user=user, agency=world["tq_board"], role="admin")
    return user


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_admin_adds_a_subscription_and_sees_the_secret_once(world, admin_province):
    client = login(admin_province)
    response = client.post(
        "/admin/webhooks/webhooksubscription/add/",
        {
            "agency": str(world["lam_binh_office"].pk),
            "url": "http://127.0.0.1:9/hook",
            "events": ["feedback.created"],
        },
        follow=True,
    )
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["feedback.created"]
    assert subscription.created_by == admin_province
    shown = [str(message) for message in response.context["messages"]]
    assert any(subscription.secret in message for message in shown)


def test_an_agency_outside_the_admins_subtree_is_not_offered(world, admin_province):
    response = login(admin_province).post(
        "/admin/webhooks/webhooksubscription/add/",
        {"agency": str(world["db_board"].pk), "url": "http://127.0.0.1:9/hook"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert not WebhookSubscription.objects.exists()


def test_officers_and_managers_see_no_webhook_admin(world, officer_commune, manager_province):
    for user in (officer_commune, manager_province):
        assert login(user).get("/admin/webhooks/webhooksubscription/").status_code == 403


def test_delivery_log_and_redeliver_action(world, admin_province, citizen_a, superuser):
    with Receiver(lambda tries: 500 if tries == 1 else 200) as receiver:
        WebhookSubscription.objects.create(
            agency=world["tq_board"], url=receiver.url, secret=signing.new_secret()
        )
        make_feedback(world, citizen_a)
        delivery.sweep()
        row = WebhookDelivery.objects.get()
        client = login(admin_province)
        listing = client.get("/admin/webhooks/webhookdelivery/")
        assert listing.status_code == 200
        assert b"feedback.created" in listing.content
        detail = client.get(f"/admin/webhooks/webhookdelivery/{row.pk}/change/")
        assert detail.status_code == 200
        assert b"500" in detail.content
        response = client.post(
            "/admin/webhooks/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [str(row.pk)]},
        )
        assert response.status_code == 302
        delivery.sweep()
        assert len(receiver.accepted) == 1
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.DELIVERED


def test_rotate_action_shows_the_new_secret(world, superuser):
    subscription = WebhookSubscription.objects.create(
        agency=world["tq_board"], url="http://127.0.0.1:9/", secret=signing.new_secret()
    )
    old = subscription.secret
    response = login(superuser).post(
        "/admin/webhooks/webhooksubscription/",
        {"action": "rotate_secret", "_selected_action": [str(subscription.pk)]},
        follow=True,
    )
    subscription.refresh_from_db()
    assert subscription.previous_secret == old
    assert subscription.secret != old
    assert any(subscription.secret in str(m) for m in response.context["messages"])
