import dataclasses
import io
import os
import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from common import files
from common.models import AuditLogEntry
from services import actions
from services.models import ServiceRequest, ServiceRequestAttachment
from tests import file_samples as samples
from tests.conftest import client_for
from tests.storage import stored_names

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


@pytest.fixture
def dossier(world, citizen_a):
    dossier, _created = actions.submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    return dossier


def attach(client, dossier, data, kind="photo", name="photo.jpg", content_type="image/jpeg"):
    return client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"file": samples.upload(data, name, content_type), "kind": kind},
        format="multipart",
    )


def stored_files(settings):
    return stored_names()


def path_of(url):
    return urlsplit(url).path


def move_to(dossier, officer, *steps):
    for step in steps:
        actions.transition_request(officer, dossier, step)


def test_owner_attaches_a_photo_stored_without_exif_and_with_a_preview(
    dossier, citizen_a, settings
):
    response = attach(client_for(citizen_a), dossier, samples.image_bytes("JPEG"), name="nhà.jpg")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "kind",
        "content_type",
        "size",
        "name",
        "url",
        "preview_url",
        "created_at",
    }
    assert (body["kind"], body["content_type"], body["name"]) == ("photo", "image/jpeg", "nhà.jpg")
    assert body["url"].startswith("http://testserver/api/v1/files/")
    assert body["preview_url"].startswith("http://testserver/api/v1/files/")
    attachment = ServiceRequestAttachment.objects.get(pk=body["id"])
    assert attachment.request == dossier
    assert attachment.uploaded_by == citizen_a
    assert attachment.size == body["size"]
    assert stored_files(settings) == sorted(
        [attachment.storage_name, attachment.preview_storage_name]
    )
    with files.private_storage.open(attachment.storage_name) as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert not stored.getexif()
    assert AuditLogEntry.objects.filter(action="attach", object_id=str(dossier.pk)).count() == 1


def test_adding_an_attachment_bumps_the_dossier_for_sync(dossier, citizen_a):
    before = ServiceRequest.objects.get(pk=dossier.pk).updated_at

    attach(client_for(citizen_a), dossier, samples.pdf_bytes(), kind="document", name="a.pdf")

    assert ServiceRequest.objects.get(pk=dossier.pk).updated_at > before


@pytest.mark.parametrize(
    ("kind", "data", "name", "content_type"),
    [
        ("document", samples.pdf_bytes(), "giấy tờ.pdf", "application/pdf"),
        ("document", samples.image_bytes("PNG"), "scan.png", "image/jpeg"),
        ("audio", samples.amr_nb_bytes(), "ghi âm.amr", "audio/amr"),
        ("audio", samples.m4a_bytes(), "voice.m4a", "audio/mp4"),
    ],
)
def test_owner_attaches_documents_and_voice_notes(
    dossier, citizen_a, kind, data, name, content_type
):
    response = attach(client_for(citizen_a), dossier, data, kind=kind, name=name)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == content_type
    assert (body["preview_url"] is not None) == (content_type == "image/jpeg")


FORGED = [
    ("photo", b"This is plain text, not a photo at all.\n" * 10, "photo.jpg", "image/jpeg"),
    ("photo", b"\x89PNG\r\n\x1a\n" + os.urandom(400), "photo.png", "image/png"),
    ("document", b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(500), "giay-to.pdf", "application/pdf"),
    ("audio", b"#!AMR\nnot really speech frames", "voice.amr", "audio/amr"),
    ("audio", samples.pdf_bytes(), "voice.mp3", "audio/mpeg"),  # a real file, wrong kind
]


@pytest.mark.parametrize(("kind", "data", "name", "content_type"), FORGED)
def test_forged_files_are_refused_and_nothing_is_stored(
    dossier, citizen_a, settings, kind, data, name, content_type
):
    response = attach(
        client_for(citizen_a), dossier, data, kind=kind, name=name, content_type=content_type
    )

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [
        ("unsupported_file_type", "file")
    ]
    assert not ServiceRequestAttachment.objects.exists()
    assert stored_files(settings) == []


def test_oversized_files_are_refused_with_413(dossier, citizen_a, settings):
    settings.FILE_MAX_IMAGE_BYTES = 500

    response = attach(client_for(citizen_a), dossier, samples.image_bytes("PNG", size=(300, 300)))

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "file_too_large"
    assert response.json()["errors"][0]["attr"] == "file"
    assert not ServiceRequestAttachment.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"kind": "photo"}, "file"),
        ({"kind": "selfie", "file": "upload"}, "kind"),
    ],
)
def test_bad_forms_name_the_field(dossier, citizen_a, body, attr):
    if body.get("file") == "upload":
        body["file"] = samples.upload(samples.image_bytes(), "a.jpg")
    response = client_for(citizen_a).post(
        f"/api/v1/requests/{dossier.pk}/attachments/", body, format="multipart"
    )

    assert response.status_code == 400
    assert {e["attr"] for e in response.json()["errors"]} == {attr}


def test_only_multipart_or_json_naming_an_upload_is_accepted(dossier, citizen_a):
    client = client_for(citizen_a)
    url = f"/api/v1/requests/{dossier.pk}/attachments/"
    form = client.post(url, "kind=photo", content_type="application/x-www-form-urlencoded")
    # JSON carries no file: it names a finished resumable upload (tests/common/test_uploads.py).
    json_without_upload = client.post(url, {"kind": "photo"}, format="json")

    assert form.status_code == 415
    assert json_without_upload.status_code == 400
    assert {e["attr"] for e in json_without_upload.json()["errors"]} == {"upload_id"}


def test_a_foreign_citizen_can_neither_attach_nor_see_attachments(dossier, citizen_a, citizen_b):
    attach(client_for(citizen_a), dossier, samples.image_bytes())
    stranger = client_for(citizen_b)

    response = attach(stranger, dossier, samples.image_bytes())

    assert response.status_code == 404
    assert stranger.get(f"/api/v1/requests/{dossier.pk}/").status_code == 404
    assert ServiceRequestAttachment.objects.count() == 1


def test_an_officer_of_another_province_gets_404(dossier, citizen_a, officer_other_province):
    attach(client_for(citizen_a), dossier, samples.image_bytes())
    officer = client_for(officer_other_province)

    response = attach(officer, dossier, samples.pdf_bytes(), kind="result", name="kq.pdf")

    assert response.status_code == 404
    assert officer.get(f"/api/v1/requests/{dossier.pk}/").status_code == 404


def test_staff_in_scope_attach_the_result_while_processing(
    dossier, citizen_a, officer_commune, manager_province
):
    officer = client_for(officer_commune)
    pdf = samples.pdf_bytes("Ket qua")

    early = attach(officer, dossier, pdf, kind="result", name="kết quả.pdf")
    move_to(dossier, officer_commune, "receive", "start")
    response = attach(officer, dossier, pdf, kind="result", name="kết quả.pdf")

    assert early.status_code == 409
    assert early.json()["errors"][0]["code"] == "invalid_transition"
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "result"
    # The applicant and the province's manager see it.
    for user in (citizen_a, manager_province):
        detail = client_for(user).get(f"/api/v1/requests/{dossier.pk}/").json()
        assert [a["name"] for a in detail["attachments"]] == ["kết quả.pdf"]


def test_each_side_attaches_only_its_own_kinds(dossier, citizen_a, officer_commune):
    move_to(dossier, officer_commune, "receive", "start")

    by_citizen = attach(client_for(citizen_a), dossier, samples.pdf_bytes(), kind="result")
    by_officer = attach(client_for(officer_commune), dossier, samples.pdf_bytes(), kind="document")

    assert by_citizen.status_code == 403
    assert by_officer.status_code == 403
    assert not ServiceRequestAttachment.objects.exists()


def test_a_closed_dossier_takes_no_more_files(dossier, citizen_a, settings):
    actions.transition_request(citizen_a, dossier, "cancel")

    response = attach(client_for(citizen_a), dossier, samples.image_bytes())

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_transition"
    assert stored_files(settings) == []


def test_a_dossier_holds_a_limited_number_of_files(
    dossier, citizen_a, officer_commune, monkeypatch, settings
):
    rules = actions.ATTACHMENTS
    two_each = {kind: dataclasses.replace(rule, limit=2) for kind, rule in rules.kinds.items()}
    monkeypatch.setattr(actions.DOSSIERS, "attachments", dataclasses.replace(rules, kinds=two_each))
    client = client_for(citizen_a)
    for _ in range(2):
        assert attach(client, dossier, samples.amr_nb_bytes(), kind="audio").status_code == 201

    response = attach(client, dossier, samples.amr_nb_bytes(), kind="audio")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "too_many_attachments"
    assert len(stored_files(settings)) == 2
    # The applicant's files never block the result.
    move_to(dossier, officer_commune, "receive", "start")
    result = attach(client_for(officer_commune), dossier, samples.pdf_bytes(), kind="result")
    assert result.status_code == 201


def test_files_are_removed_when_the_row_cannot_be_written(
    dossier, citizen_a, settings, monkeypatch
):
    def fail(**fields):
        raise DatabaseError("disk full")

    monkeypatch.setattr(ServiceRequestAttachment.objects, "create", fail)

    with pytest.raises(DatabaseError):
        actions.add_request_attachment(
            citizen_a, dossier, kind="photo", upload=samples.upload(samples.image_bytes(), "a.jpg")
        )
    assert stored_files(settings) == []


def test_a_repeated_upload_with_the_same_idempotency_key_is_stored_once(dossier, citizen_a):
    client = client_for(citizen_a)
    data = samples.image_bytes()

    first = client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"file": samples.upload(data, "a.jpg"), "kind": "photo"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    again = client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"file": samples.upload(data, "a.jpg"), "kind": "photo"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert ServiceRequestAttachment.objects.count() == 1


def test_download_sends_the_file_as_an_attachment_with_safe_headers(dossier, citizen_a, api):
    pdf = samples.pdf_bytes()
    body = attach(
        client_for(citizen_a), dossier, pdf, kind="document", name="Giấy khai sinh.pdf"
    ).json()

    response = api.get(path_of(body["url"]))  # no credentials: the link is the credential

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="Giay khai sinh.pdf"; '
        "filename*=UTF-8''Gi%E1%BA%A5y%20khai%20sinh.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Length"] == str(len(pdf))


def test_preview_download_is_a_small_jpeg(dossier, citizen_a, api):
    body = attach(
        client_for(citizen_a), dossier, samples.image_bytes("WEBP", size=(1200, 900)), name="a.webp"
    ).json()

    response = api.get(path_of(body["preview_url"]), HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert 'filename="a-preview.jpg"' in response["Content-Disposition"]
    preview = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert preview.size == (320, 240)


def test_a_stale_bearer_token_does_not_spoil_a_valid_link(dossier, citizen_a, api):
    body = attach(client_for(citizen_a), dossier, samples.image_bytes()).json()
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    assert api.get(path_of(body["url"])).status_code == 200


def test_a_tampered_link_is_not_found(dossier, citizen_a, api):
    url = path_of(attach(client_for(citizen_a), dossier, samples.image_bytes()).json()["url"])
    token = url.rstrip("/").rsplit("/", 1)[1]
    payload, timestamp, signature = token.split(":")
    other = signing.TimestampSigner(salt="other.purpose").sign_object(["x"]).split(":")[0]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")

    for forged in (
        f"{payload}:{timestamp}:{flipped}",
        f"{other}:{timestamp}:{signature}",
        f"{payload}:{timestamp}",
        "garbage",
    ):
        response = api.get(f"/api/v1/files/{forged}/")
        assert response.status_code == 404, forged
        assert response.json()["type"] == "client_error"


def test_a_link_signed_for_another_purpose_is_not_found(dossier, citizen_a, api):
    attach(client_for(citizen_a), dossier, samples.image_bytes())
    attachment = ServiceRequestAttachment.objects.get()
    token = signing.TimestampSigner(salt="other.purpose").sign_object(
        [attachment._meta.label_lower, str(attachment.pk), "o", 300]
    )

    assert api.get(f"/api/v1/files/{token}/").status_code == 404


def test_an_expired_link_is_gone(dossier, citizen_a, api, monkeypatch, settings):
    attach(client_for(citizen_a), dossier, samples.image_bytes())
    attachment = ServiceRequestAttachment.objects.get()
    lifetime = settings.DOWNLOAD_URL_TTL_SECONDS
    now = time.time()

    monkeypatch.setattr(files, "_now", lambda: now - lifetime - files.LINK_WINDOW_SECONDS - 1)
    expired = files.signed_url(None, attachment)
    monkeypatch.setattr(files, "_now", lambda: now - lifetime + 2)
    almost = files.signed_url(None, attachment)

    response = api.get(expired)
    assert response.status_code == 410
    assert response.json()["errors"][0]["code"] == "link_expired"
    assert api.get(almost).status_code == 200


def test_links_are_stable_within_their_window_so_the_detail_keeps_its_etag(
    dossier, citizen_a, monkeypatch
):
    client = client_for(citizen_a)
    attach(client, dossier, samples.image_bytes())
    url = f"/api/v1/requests/{dossier.pk}/"
    start = 1_800_000_000 - 1_800_000_000 % files.LINK_WINDOW_SECONDS

    monkeypatch.setattr(files, "_now", lambda: start + 1)
    first = client.get(url)
    monkeypatch.setattr(files, "_now", lambda: start + files.LINK_WINDOW_SECONDS - 1)
    later = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    monkeypatch.setattr(files, "_now", lambda: start + files.LINK_WINDOW_SECONDS)
    next_window = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert later.status_code == 304
    # New links are a new representation: the phone must not keep links about to expire.
    assert next_window.status_code == 200
    assert next_window.json()["attachments"][0]["url"] != first.json()["attachments"][0]["url"]


def test_a_deleted_attachment_stops_downloading_at_once(dossier, citizen_a, api):
    body = attach(client_for(citizen_a), dossier, samples.image_bytes()).json()
    ServiceRequestAttachment.objects.filter(pk=body["id"]).delete()

    assert api.get(path_of(body["url"])).status_code == 404


def test_stored_files_have_no_public_url(dossier, citizen_a, api):
    attach(client_for(citizen_a), dossier, samples.image_bytes())
    attachment = ServiceRequestAttachment.objects.get()

    for path in (f"/media/private/{attachment.storage_name}", f"/media/{attachment.storage_name}"):
        assert api.get(path).status_code == 404


def test_detail_lists_attachments_with_fresh_links_in_a_fixed_number_of_queries(
    dossier, citizen_a, api
):
    client = client_for(citizen_a)
    url = f"/api/v1/requests/{dossier.pk}/"
    attach(client, dossier, samples.image_bytes(), name="one.jpg")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    attach(client, dossier, samples.pdf_bytes(), kind="document", name="two.pdf")
    attach(client, dossier, samples.amr_nb_bytes(), kind="audio", name="three.amr")

    with CaptureQueriesContext(connection) as three:
        detail = client.get(url).json()

    assert len(three) == len(one)
    assert sum("servicerequestattachment" in q["sql"] for q in three.captured_queries) == 1
    assert [(a["name"], a["kind"]) for a in detail["attachments"]] == [
        ("one.jpg", "photo"),
        ("two.pdf", "document"),
        ("three.amr", "audio"),
    ]
    assert [a["preview_url"] is None for a in detail["attachments"]] == [False, True, True]
    for item in detail["attachments"]:
        assert api.get(path_of(item["url"])).status_code == 200
