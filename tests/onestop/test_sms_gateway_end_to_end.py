"""The whole SMS flow over HTTP: the fake gateway calls the hook of a running server, the
reply goes out through the SMS outbox to the fake gateway."""

import httpx
import pytest
from django.utils import timezone

from accounts.models import User
from feedback.models import Feedback
from notifications.fake_sms import FakeSmsServer
from services.models import ServiceRequest
from tests.feedback.helpers import category
from tests.live import wait_for
from tests.services.workflow import make_dossier

pytestmark = pytest.mark.django_db(transaction=True)

GATEWAY_TOKEN = "e2e-sms-token"
INBOUND_TOKEN = "e2e-inbound-token"


@pytest.fixture
def fake_gateway(live_server, settings):
    with FakeSmsServer(
        token=GATEWAY_TOKEN,
        inbound_url=f"{live_server.url}/api/v1/sms/inbound/",
        inbound_token=INBOUND_TOKEN,
    ) as server:
        settings.SMS_BACKEND = "http"
        settings.SMS_HTTP_URL = f"{server.base_url}/send"
        settings.SMS_HTTP_TOKEN = GATEWAY_TOKEN
        settings.SMS_INBOUND_TOKEN = INBOUND_TOKEN
        settings.CELERY_TASK_ALWAYS_EAGER = True
        yield server


def citizen_sends(server, sender, text):
    answer = httpx.post(
        f"{server.base_url}/_fake/inbound", json={"from": sender, "text": text}, timeout=20
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def texts_to(server, phone):
    return [m["text"] for m in server.messages() if m["to"] == phone]


def test_status_and_petition_by_sms_through_the_fake_gateway(world, citizen_a, fake_gateway):
    User.objects.filter(pk=citizen_a.pk).update(phone_verified_at=timezone.now())
    item = category()
    item.sms_default = True
    item.save()
    dossier = make_dossier(world, citizen_a, status=ServiceRequest.Status.RECEIVED)

    own = citizen_sends(fake_gateway, "0900000001", f"tt {dossier.tracking_code}")
    other = citizen_sends(fake_gateway, "0911111111", f"TT {dossier.tracking_code}")
    petition = citizen_sends(fake_gateway, "0900000001", "PA Duong vao ban bi sat lo")

    assert own["status"] == other["status"] == petition["status"] == 200
    assert (own["body"]["outcome"], other["body"]["outcome"]) == ("answered", "not_found")
    assert petition["body"]["outcome"] == "filed"
    mine = wait_for(lambda: len(texts_to(fake_gateway, "+84900000001")) == 2 or None, 10)
    assert mine
    status_reply, filed_reply = texts_to(fake_gateway, "+84900000001")
    assert dossier.tracking_code in status_reply
    [not_found_reply] = texts_to(fake_gateway, "+84911111111")
    assert dossier.tracking_code not in not_found_reply
    feedback = Feedback.objects.get()
    assert feedback.agency == world["lam_binh_office"]
    assert feedback.tracking_code in filed_reply


def test_the_fake_gateway_reports_a_refused_token(world, fake_gateway):
    fake_gateway.httpd.inbound_token = "not-the-token"

    answer = citizen_sends(fake_gateway, "0911111111", "HD")

    assert answer["status"] == 401
