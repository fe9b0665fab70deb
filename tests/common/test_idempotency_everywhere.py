"""Every create and upload honours `Idempotency-Key`: over a flaky link that loses the first
two answers, the phone sends the same request three times and exactly one object exists.

Transitions count as creates here: a retried `comment` would otherwise add a second event,
and a retried `receive` would answer 409 to the phone whose first attempt succeeded.
"""

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from accounts.models import User
from common.models import Upload
from feedback.models import Feedback, FeedbackAttachment, FeedbackRating, FeedbackSupport
from notifications.models import Announcement, Device
from services import actions as service_actions
from services.models import (
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestRating,
)
from tests import file_samples as samples
from tests.accounts.helpers import register_code
from tests.conftest import client_for
from tests.feedback.helpers import category, make_feedback
from tests.spec import parameters

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Call:
    """One request as the phone sends it, and how to count what it creates."""

    client: Any
    method: str
    path: str
    count: Any
    data: Any = None
    format: str | None = "json"
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    created_status: int = 201

    def send(self, key: str | None):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        data = self.data() if callable(self.data) else self.data
        if self.content_type is not None:
            return self.client.generic(
                self.method, self.path, data, content_type=self.content_type, headers=headers
            )
        send = getattr(self.client, self.method.lower())
        return send(self.path, data, format=self.format, headers=headers)


@pytest.fixture
def dossier(world, citizen_a):
    dossier, _created = service_actions.submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    return dossier


def _finished_upload(user, data, filename):
    client = client_for(user)
    encoded = base64.b64encode(filename.encode()).decode()
    created = client.post(
        "/api/v1/uploads/",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {encoded}"},
    )
    path = created["Location"].split("testserver", 1)[1]
    client.generic(
        "PATCH",
        path,
        data,
        content_type="application/offset+octet-stream",
        headers={**TUS, "Upload-Offset": "0"},
    )
    return str(Upload.objects.get(pk=path.rstrip("/").rsplit("/", 1)[-1]).pk)


def register(ctx):
    body = {
        "phone": "0912 345 678",
        "password": "Nuong-Rau-2026!",
        "full_name": "Lò Thị Xuân",
        "otp": register_code("0912 345 678"),
    }
    return Call(
        ctx["anonymous"],
        "POST",
        "/api/v1/auth/register/",
        lambda: User.objects.filter(phone="+84912345678").count(),
        body,
    )


def request_create(ctx):
    body = {"service": ctx["world"]["service"].code, "administrative_unit": 2266, "form_data": FORM}
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        "/api/v1/requests/",
        ServiceRequest.objects.count,
        body,
    )


def request_attachment_multipart(ctx):
    dossier = ctx["dossier"]
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        f"/api/v1/requests/{dossier.pk}/attachments/",
        ServiceRequestAttachment.objects.count,
        # A fresh file object per send: the phone sends the same bytes again.
        lambda: {
            "file": samples.upload(samples.pdf_bytes(), "don.pdf", "application/pdf"),
            "kind": "document",
        },
        format="multipart",
    )


def request_attachment_upload(ctx):
    dossier = ctx["dossier"]
    upload_id = _finished_upload(ctx["citizen_a"], samples.pdf_bytes(), "don.pdf")
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        f"/api/v1/requests/{dossier.pk}/attachments/",
        ServiceRequestAttachment.objects.count,
        {"upload_id": upload_id, "kind": "document"},
    )


def request_rating(ctx):
    dossier = ctx["dossier"]
    ServiceRequest.objects.filter(pk=dossier.pk).update(status=ServiceRequest.Status.COMPLETED)
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        f"/api/v1/requests/{dossier.pk}/rating/",
        ServiceRequestRating.objects.count,
        {"score": 5, "comment": "Nhanh gọn"},
    )


def request_comment(ctx):
    dossier = ctx["dossier"]
    return Call(
        client_for(ctx["officer_commune"]),
        "POST",
        f"/api/v1/requests/{dossier.pk}/transitions/",
        ServiceRequestEvent.objects.filter(action="comment").count,
        {"action": "comment", "note": "Đã gọi điện cho người nộp", "internal": True},
        created_status=200,
    )


def request_receive(ctx):
    dossier = ctx["dossier"]
    return Call(
        client_for(ctx["officer_commune"]),
        "POST",
        f"/api/v1/requests/{dossier.pk}/transitions/",
        ServiceRequestEvent.objects.filter(action="receive").count,
        {"action": "receive"},
        created_status=200,
    )


def feedback_create(ctx):
    category()
    body = {
        "category": "infrastructure",
        "administrative_unit": 2266,
        "title": "Đường vào bản bị sạt lở",
        "content": "Sau mưa lớn, đoạn đường vào bản Nà Khà bị sạt, xe máy không qua được.",
    }
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        "/api/v1/feedback/",
        Feedback.objects.count,
        body,
    )


def feedback_attachment_multipart(ctx):
    item = make_feedback(ctx["world"], ctx["citizen_a"])
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        f"/api/v1/feedback/{item.pk}/attachments/",
        FeedbackAttachment.objects.count,
        lambda: {
            "file": samples.upload(samples.image_bytes("JPEG"), "cau.jpg", "image/jpeg"),
            "kind": "photo",
        },
        format="multipart",
    )


def feedback_attachment_upload(ctx):
    item = make_feedback(ctx["world"], ctx["citizen_a"])
    upload_id = _finished_upload(ctx["citizen_a"], samples.image_bytes("JPEG"), "cau.jpg")
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        f"/api/v1/feedback/{item.pk}/attachments/",
        FeedbackAttachment.objects.count,
        {"upload_id": upload_id, "kind": "photo"},
    )


def feedback_rating(ctx):
    item = make_feedback(ctx["world"], ctx["citizen_a"], status="answered")
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        f"/api/v1/feedback/{item.pk}/rating/",
        FeedbackRating.objects.count,
        {"score": 4},
    )


def feedback_support(ctx):
    item = make_feedback(ctx["world"], ctx["citizen_a"], status="in_progress", is_public=True)
    return Call(
        client_for(ctx["citizen_b"]),
        "POST",
        f"/api/v1/feedback/{item.pk}/support/",
        FeedbackSupport.objects.count,
    )


def feedback_comment(ctx):
    item = make_feedback(ctx["world"], ctx["citizen_a"])
    return Call(
        client_for(ctx["officer_commune"]),
        "POST",
        f"/api/v1/feedback/{item.pk}/transitions/",
        lambda: item.events.filter(action="comment").count(),
        {"action": "comment", "note": "Đã cử cán bộ địa chính xuống kiểm tra", "internal": False},
        created_status=200,
    )


def device(ctx):
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        "/api/v1/devices/",
        Device.objects.count,
        {"token": "dGVzdA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx", "platform": "android"},
    )


def announcement(ctx):
    body = {
        "title": "Lịch tiêm chủng",
        "body": "Tiêm chủng mở rộng tại trạm y tế xã sáng thứ Bảy.",
        "administrative_unit": 2266,
    }
    return Call(
        client_for(ctx["manager_province"]),
        "POST",
        "/api/v1/announcements/",
        Announcement.objects.count,
        body,
    )


def upload_create(ctx):
    return Call(
        client_for(ctx["citizen_a"]),
        "POST",
        "/api/v1/uploads/",
        Upload.objects.count,
        headers={**TUS, "Upload-Length": "2048", "Upload-Metadata": "filename ZG9uLnBkZg=="},
    )


def upload_patch(ctx):
    client = client_for(ctx["citizen_a"])
    created = client.post("/api/v1/uploads/", headers={**TUS, "Upload-Length": "2048"})
    path = created["Location"].split("testserver", 1)[1]
    return Call(
        client,
        "PATCH",
        path,
        # What a chunk creates is progress: how far the upload got.
        lambda: Upload.objects.get().offset,
        b"\x01" * 1024,
        headers={**TUS, "Upload-Offset": "0"},
        content_type="application/offset+octet-stream",
        created_status=204,
    )


ENDPOINTS = [
    register,
    request_create,
    request_attachment_multipart,
    request_attachment_upload,
    request_rating,
    request_comment,
    request_receive,
    feedback_create,
    feedback_attachment_multipart,
    feedback_attachment_upload,
    feedback_rating,
    feedback_support,
    feedback_comment,
    device,
    announcement,
    upload_create,
    upload_patch,
]


@pytest.fixture
def ctx(world, api, citizen_a, citizen_b, officer_commune, manager_province, dossier):
    return {
        "world": world,
        "anonymous": api,
        "citizen_a": citizen_a,
        "citizen_b": citizen_b,
        "officer_commune": officer_commune,
        "manager_province": manager_province,
        "dossier": dossier,
    }


def _comparable(response):
    """What the phone sees: status, body, and the headers a tus client reads."""
    headers = {name: response.get(name) for name in ("Location", "Upload-Offset", "Upload-Expires")}
    body = response.json() if response.content else None
    return response.status_code, body, headers


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.__name__)
def test_three_sends_with_one_key_make_one_object(ctx, endpoint):
    call = endpoint(ctx)
    before = call.count()
    key = str(uuid.uuid4())

    # The first two answers are lost on the way back; the phone sends again each time.
    responses = [call.send(key) for _attempt in range(3)]

    first = responses[0]
    assert first.status_code == call.created_status, first.content
    assert "Idempotent-Replayed" not in first
    for replay in responses[1:]:
        assert replay["Idempotent-Replayed"] == "true"
        assert _comparable(replay) == _comparable(first)
    created = call.count() - before
    assert created == (1024 if endpoint is upload_patch else 1)


@pytest.mark.django_db
def test_a_client_uuid_without_a_key_makes_one_dossier(world, citizen_a):
    client = client_for(citizen_a)
    body = {
        "id": str(uuid.uuid4()),
        "service": world["service"].code,
        "administrative_unit": 2266,
        "form_data": FORM,
    }

    responses = [client.post("/api/v1/requests/", body, format="json") for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 200, 200]
    assert {r.json()["id"] for r in responses} == {body["id"]}
    assert {r.json()["tracking_code"] for r in responses} == {responses[0].json()["tracking_code"]}
    assert ServiceRequest.objects.filter(pk=body["id"]).count() == 1
    assert ServiceRequest.objects.count() == 1


@pytest.mark.django_db
def test_a_client_uuid_without_a_key_makes_one_feedback(world, citizen_a):
    category()
    client = client_for(citizen_a)
    body = {
        "id": str(uuid.uuid4()),
        "category": "infrastructure",
        "administrative_unit": 2266,
        "title": "Trạm y tế thiếu thuốc",
        "content": "Trạm y tế xã hết thuốc hạ sốt cho trẻ em từ tuần trước.",
    }

    responses = [client.post("/api/v1/feedback/", body, format="json") for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 200, 200]
    assert {r.json()["id"] for r in responses} == {body["id"]}
    assert Feedback.objects.count() == 1


@pytest.mark.django_db
def test_every_create_and_upload_in_the_schema_takes_an_idempotency_key(tmp_path):
    """The schema documents the header exactly where the view is wrapped by `@idempotent`,
    so a new create endpoint without it fails here."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    spec = yaml.safe_load(target.read_text(encoding="utf-8"))
    exempt = {
        # Sign-in and token housekeeping create no object a retry could duplicate.
        ("post", "/api/v1/auth/token/"),
        ("post", "/api/v1/auth/token/refresh/"),
        ("post", "/api/v1/auth/logout/"),
        ("post", "/api/v1/auth/logout-all/"),
        # Claiming an account: a new code replaces the last one (throttled per phone), and a
        # confirmed claim cannot be confirmed twice.
        ("post", "/api/v1/auth/claim/"),
        ("post", "/api/v1/auth/claim/confirm/"),
        # The SMS gateway's own message id makes its retries harmless.
        ("post", "/api/v1/sms/inbound/"),
        # Updates of what exists, the same however often they are sent.
        ("patch", "/api/v1/me/"),
        ("post", "/api/v1/notifications/{notification_id}/read/"),
        ("post", "/api/v1/notifications/read-all/"),
        # Open311 GeoReport v2 follows its standard, which has no such header; its clients
        # match answers by the `token` instead.
        ("post", "/open311/v2/requests.{format}"),
    }
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "patch") or (method, path) in exempt:
                continue
            names = {n for n, p in parameters(spec, operation).items() if p["in"] == "header"}
            if "Idempotency-Key" not in names:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
