"""The `fcm` backend: the real firebase-admin talking HTTP to the in-process fake FCM."""

import pytest
from django.db import transaction

from config.celery import app as celery_app
from notifications import push
from notifications.models import PushMessage
from notifications.outbox import notify
from notifications.push import OutgoingPush, PushOutcome


def _push(token="tok-ok", **fields):
    return OutgoingPush(
        token=token,
        title=fields.get("title", "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận"),
        body=fields.get("body", "UBND xã Lâm Bình đã tiếp nhận hồ sơ của bạn."),
        data=fields.get("data", {"type": "service_request", "id": "42", "status": "received"}),
        collapse_key=fields.get("collapse_key", "service_request-42"),
    )


def test_success_reaches_the_fake_server_with_token_title_body_and_data(fake_fcm, settings):
    [result] = push.send([_push()])

    assert result.outcome == PushOutcome.SENT
    assert result.message_id.startswith("projects/demo-dichvu/messages/")
    [received] = fake_fcm.messages
    assert received["project"] == "demo-dichvu"
    message = received["message"]
    assert message["token"] == "tok-ok"
    assert message["notification"] == {
        "title": "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận",
        "body": "UBND xã Lâm Bình đã tiếp nhận hồ sơ của bạn.",
    }
    assert message["data"] == {"type": "service_request", "id": "42", "status": "received"}
    assert message["android"] == {
        "priority": "high",
        "collapse_key": "service_request-42",
        "ttl": f"{settings.PUSH_TTL_SECONDS}s",
    }
    headers = message["apns"]["headers"]
    assert headers["apns-collapse-id"] == "service_request-42"
    assert headers["apns-priority"] == "10"
    assert int(headers["apns-expiration"]) > 0
    assert message["apns"]["payload"]["aps"]["alert"]["title"] == (
        "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận"
    )


def test_the_fcm_url_override_takes_effect(fake_fcm, settings):
    from firebase_admin import messaging

    app = push.fcm_app()
    service = messaging._get_messaging_service(app)
    assert service._fcm_url == f"{fake_fcm.base_url}/v1/projects/demo-dichvu/messages:send"
    # Google's host stays the class default; only this app is redirected.
    assert messaging._MessagingService.FCM_URL.startswith("https://fcm.googleapis.com/")

    push.send([_push("tok-url")])
    assert [m["message"]["token"] for m in fake_fcm.messages] == ["tok-url"]


def test_unregistered_is_an_invalid_token(fake_fcm):
    fake_fcm.configure({"tok-gone": {"error": "UNREGISTERED"}})
    [result] = push.send([_push("tok-gone")])
    assert result.outcome == PushOutcome.INVALID_TOKEN
    assert "UnregisteredError" in result.error
    assert fake_fcm.messages == []


def test_sender_id_mismatch_and_bad_token_are_invalid_tokens(fake_fcm):
    fake_fcm.configure(
        {
            "tok-other-project": {"error": "SENDER_ID_MISMATCH"},
            "tok-garbage": {"error": "INVALID_ARGUMENT"},
        }
    )
    results = push.send([_push("tok-other-project"), _push("tok-garbage")])
    assert [r.outcome for r in results] == [PushOutcome.INVALID_TOKEN, PushOutcome.INVALID_TOKEN]


def test_quota_is_a_retry_with_the_servers_retry_after(fake_fcm):
    fake_fcm.configure({"tok-busy": {"error": "QUOTA", "retry_after": 37}})
    [result] = push.send([_push("tok-busy")])
    assert result.outcome == PushOutcome.RETRY
    assert result.retry_after == 37
    assert "QuotaExceededError" in result.error


def test_unavailable_is_a_retry(fake_fcm):
    fake_fcm.configure({"tok-down": {"error": "UNAVAILABLE"}})
    [result] = push.send([_push("tok-down")])
    assert result.outcome == PushOutcome.RETRY
    assert "UnavailableError" in result.error
    assert result.retry_after is None


def test_a_single_503_is_absorbed_by_firebase_admins_own_retry(fake_fcm):
    fake_fcm.configure({"tok-blip": {"error": "UNAVAILABLE", "times": 1}})
    [result] = push.send([_push("tok-blip")])
    assert result.outcome == PushOutcome.SENT
    assert len(fake_fcm.messages) == 1


def test_internal_error_is_a_retry(fake_fcm):
    fake_fcm.configure({"tok-500": {"error": "INTERNAL"}})
    [result] = push.send([_push("tok-500")])
    assert result.outcome == PushOutcome.RETRY


def test_each_message_gets_its_own_answer_in_order(fake_fcm):
    fake_fcm.configure({"tok-2": {"error": "UNREGISTERED"}, "tok-3": {"error": "QUOTA"}})
    results = push.send([_push("tok-1"), _push("tok-2"), _push("tok-3"), _push("tok-4")])
    assert [r.outcome for r in results] == [
        PushOutcome.SENT,
        PushOutcome.INVALID_TOKEN,
        PushOutcome.RETRY,
        PushOutcome.SENT,
    ]
    assert sorted(m["message"]["token"] for m in fake_fcm.messages) == ["tok-1", "tok-4"]


def test_large_lists_go_out_in_chunks_of_500(fake_fcm, monkeypatch):
    monkeypatch.setattr(push, "FCM_BATCH_LIMIT", 3)
    results = push.send([_push(f"tok-{i}") for i in range(7)])
    assert [r.outcome for r in results] == [PushOutcome.SENT] * 7
    assert len(fake_fcm.messages) == 7


def test_repeated_sends_reuse_the_app_and_its_connections(fake_fcm):
    # One event loop for all sends: a second asyncio.run() would break the pooled client.
    for i in range(3):
        [result] = push.send([_push(f"tok-again-{i}")])
        assert result.outcome == PushOutcome.SENT, result.error
    assert len(fake_fcm.messages) == 3


def test_server_down_is_a_retry(fake_fcm, settings):
    from notifications.fake_fcm import FakeFCMServer

    server = FakeFCMServer()
    base_url = server.start()
    server.stop()  # nothing listens there any more
    settings.FCM_ENDPOINT = base_url
    [result] = push.send([_push()])
    assert result.outcome == PushOutcome.RETRY
    assert result.error


def test_a_slow_server_past_the_deadline_is_a_retry(fake_fcm, settings):
    settings.PUSH_LEASE_SECONDS = 0  # the deadline becomes its 5 s floor
    settings.FCM_HTTP_TIMEOUT_SECONDS = 0.2
    settings.FCM_PROJECT_ID = "demo-slow"  # a fresh app, with the short HTTP timeout
    fake_fcm.configure({"latency_ms": 600})
    [result] = push.send([_push("tok-slow")])
    assert result.outcome == PushOutcome.RETRY
    assert "Timed out" in result.error or "Timeout" in result.error


@pytest.mark.django_db
def test_end_to_end_notify_commit_task_fcm(
    citizen_a, make_device, fake_fcm, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    phone = make_device(citizen_a, token="tok-phone")
    gone = make_device(citizen_a, token="tok-uninstalled")
    fake_fcm.configure({"tok-uninstalled": {"error": "UNREGISTERED"}})

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notification = notify(
            citizen_a,
            "service_request.received",
            {"tracking_code": "DV-7K3M-9QX2-H", "agency_name": "UBND xã Lâm Bình"},
            data={"type": "service_request", "id": "42", "status": "received"},
            collapse_key="service_request-42",
        )

    [received] = fake_fcm.messages
    assert received["message"]["token"] == "tok-phone"
    assert received["message"]["notification"]["title"] == notification.title
    assert received["message"]["data"] == {
        "type": "service_request",
        "id": "42",
        "status": "received",
    }
    statuses = dict(PushMessage.objects.values_list("device_id", "status"))
    assert statuses == {phone.id: "sent", gone.id: "dead"}
    gone.refresh_from_db()
    assert not gone.is_active


def test_a_service_account_file_gives_a_certificate_credential_and_its_project(
    fake_fcm, settings, tmp_path
):
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from firebase_admin import credentials, messaging

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "dichvu-prod",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "push@dichvu-prod.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    settings.GOOGLE_APPLICATION_CREDENTIALS = str(path)

    app = push.fcm_app()

    assert isinstance(app.credential, credentials.Certificate)
    assert app.project_id == "dichvu-prod"
    assert messaging._get_messaging_service(app)._fcm_url == (
        f"{fake_fcm.base_url}/v1/projects/dichvu-prod/messages:send"
    )
    assert push.fcm_app() is app  # created once


def test_without_endpoint_the_app_talks_to_google(settings):
    from firebase_admin import messaging

    settings.FCM_ENDPOINT = ""
    settings.FCM_PROJECT_ID = "demo-google"
    app = push.fcm_app()
    assert messaging._get_messaging_service(app)._fcm_url == (
        "https://fcm.googleapis.com/v1/projects/demo-google/messages:send"
    )
