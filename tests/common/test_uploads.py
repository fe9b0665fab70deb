"""Resumable uploads (tus 1.0.0) at `uploads/`, and attaching a finished one by `upload_id`."""

import base64
import io
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection
from django.utils import timezone
from PIL import Image
from rest_framework_simplejwt.tokens import RefreshToken

from common.files import private_storage, uploads
from common.models import Upload
from common.tasks import purge_expired_uploads
from feedback.models import FeedbackAttachment
from services import actions
from services.models import ServiceRequestAttachment
from tests import file_samples as samples
from tests.accounts.helpers import assert_error, assert_error_shape
from tests.conftest import client_for
from tests.feedback.helpers import make_feedback
from tests.live import needs_postgres, wait_for

URL = "/api/v1/uploads/"
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
MB = 1024 * 1024
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


def metadata(**pairs):
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items()
    )


def create(client, length, meta="", **headers):
    sent = {**TUS, "Upload-Length": str(length), **headers}
    if meta:
        sent["Upload-Metadata"] = meta
    return client.post(URL, headers=sent)


def upload_path(response):
    return urlsplit(response["Location"]).path


def patch(client, path, data, offset, content_type=OCTETS, **headers):
    return client.generic(
        "PATCH",
        path,
        data,
        content_type=content_type,
        headers={**TUS, "Upload-Offset": str(offset), **headers},
    )


def head(client, path, **headers):
    return client.head(path, headers={**TUS, **headers})


def big_pdf(size):
    """A valid PDF of exactly `size` bytes: one page and a large binary stream object."""
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    filler_header = b"1 0 obj\n<< /Length %d >>\nstream\n"
    filler_footer = b"\nendstream\nendobj\n"
    tail = b"trailer\n<< /Size 2 >>\nstartxref\n%d\n%%%%EOF\n"
    fixed = len(body) + len(filler_footer) + len(tail % 0) + len(filler_header % 0)
    payload = size - fixed
    for _attempt in range(3):
        stream = os.urandom(payload).replace(b"endstream", b"endstreaX")
        document = body + (filler_header % len(stream)) + stream + filler_footer
        xref_at = len(document)
        document += tail % xref_at
        if len(document) == size:
            return document
        payload += size - len(document)
    raise AssertionError("could not size the PDF")


def noise_png(side):
    """A PNG of random pixels: it compresses so badly its size is about 3 × side² bytes."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


@pytest.fixture
def dossier(world, citizen_a):
    dossier, _created = actions.submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    return dossier


@pytest.fixture
def feedback(world, citizen_a):
    return make_feedback(world, citizen_a)


def received(upload):
    """The bytes the server holds for `upload`, its pieces joined."""
    with uploads.received_bytes(upload) as joined:
        return joined.read()


def pieces(upload):
    """The names of the stored pieces of `upload` (none once it is attached or deleted)."""
    try:
        _folders, names = private_storage.listdir(uploads.pieces_prefix(upload))
    except FileNotFoundError:
        return []
    return sorted(names)


def finished_upload(client, data, **meta):
    created = create(client, len(data), metadata(**meta) if meta else "")
    assert created.status_code == 201, created.content
    path = upload_path(created)
    done = patch(client, path, data, 0)
    assert done.status_code == 204, done.content
    return path.rstrip("/").rsplit("/", 1)[-1]


# --- the protocol ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_options_advertises_the_version_extensions_and_size_cap(api, settings):
    response = api.options(URL)

    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination"
    assert response["Tus-Max-Size"] == str(10 * MB)
    assert response.content == b""


@pytest.mark.django_db
def test_create_head_patch_until_finished(citizen_a):
    client = client_for(citizen_a)
    data = os.urandom(300_000)

    created = create(client, len(data), metadata(filename="Giấy khai sinh.pdf", filetype="x"))

    assert created.status_code == 201, created.content
    assert created["Tus-Resumable"] == "1.0.0"
    path = upload_path(created)
    upload = Upload.objects.get()
    assert path == f"/api/v1/uploads/{upload.pk}/"
    assert created["Location"] == f"http://testserver{path}"
    assert "Upload-Expires" in created
    assert (upload.owner, upload.length, upload.offset) == (citizen_a, len(data), 0)
    assert (upload.filename, upload.filetype) == ("Giấy khai sinh.pdf", "x")

    state = head(client, path)
    assert state.status_code == 200
    assert (state["Upload-Offset"], state["Upload-Length"]) == ("0", str(len(data)))
    assert state["Cache-Control"] == "no-store"
    assert state["Tus-Resumable"] == "1.0.0"
    assert (
        "filename " + base64.b64encode("Giấy khai sinh.pdf".encode()).decode()
        in (state["Upload-Metadata"])
    )

    first = patch(client, path, data[:100_000], 0)
    assert first.status_code == 204, first.content
    assert first["Upload-Offset"] == "100000"
    assert first["Tus-Resumable"] == "1.0.0"
    second = patch(client, path, data[100_000:], 100_000)
    assert second["Upload-Offset"] == str(len(data))

    assert head(client, path)["Upload-Offset"] == str(len(data))
    upload.refresh_from_db()
    assert upload.is_finished
    assert received(upload) == data
    # One stored piece per PATCH, named by where it starts.
    assert pieces(upload) == ["000000000000", "000000100000"]


@pytest.mark.django_db
def test_head_costs_two_queries(citizen_a, django_assert_num_queries):
    client = client_for(citizen_a)
    path = upload_path(create(client, 10))
    # The token's user, then the upload.
    with django_assert_num_queries(2):
        assert head(client, path).status_code == 200


@pytest.mark.django_db
def test_an_empty_file_is_finished_at_creation(citizen_a):
    client = client_for(citizen_a)
    path = upload_path(create(client, 0))
    assert head(client, path)["Upload-Offset"] == "0"
    assert Upload.objects.get().is_finished


@pytest.mark.django_db
def test_a_wrong_offset_is_409_and_changes_nothing(citizen_a):
    client = client_for(citizen_a)
    path = upload_path(create(client, 1000))
    assert patch(client, path, b"a" * 400, 0).status_code == 204

    again = patch(client, path, b"b" * 400, 0)  # the response to the first was lost
    ahead = patch(client, path, b"c" * 100, 600)

    assert_error(again, 409, "upload_offset_mismatch")
    assert_error(ahead, 409, "upload_offset_mismatch")
    assert again["Tus-Resumable"] == "1.0.0"
    upload = Upload.objects.get()
    assert upload.offset == 400
    assert received(upload) == b"a" * 400


@pytest.mark.django_db
def test_bytes_past_the_declared_length_are_refused(citizen_a):
    client = client_for(citizen_a)
    path = upload_path(create(client, 10))

    response = patch(client, path, b"x" * 11, 0)

    assert_error(response, 400, "upload_length_exceeded")
    assert Upload.objects.get().offset == 0


@pytest.mark.django_db
def test_another_users_upload_is_404_everywhere(citizen_a, citizen_b, dossier, feedback):
    path = upload_path(create(client_for(citizen_a), 10))
    stranger = client_for(citizen_b)
    upload_id = path.rstrip("/").rsplit("/", 1)[-1]

    assert head(stranger, path).status_code == 404
    assert_error(patch(stranger, path, b"x" * 10, 0), 404, "not_found")
    assert_error(stranger.delete(path, headers=TUS), 404, "not_found")
    # Even on a dossier the stranger could attach to, the upload is not theirs to use.
    own, _created = actions.submit_request(
        applicant=citizen_b,
        service=dossier.service,
        commune=dossier.administrative_unit,
        form_data=FORM,
    )
    attach = stranger.post(
        f"/api/v1/requests/{own.pk}/attachments/",
        {"upload_id": upload_id, "kind": "document"},
        format="json",
    )
    assert_error(attach, 404, "not_found")
    assert Upload.objects.get().offset == 0


@pytest.mark.django_db
def test_an_upload_over_the_cap_is_413(citizen_a, settings):
    response = create(client_for(citizen_a), 10 * MB + 1)

    # Like an oversize multipart file: a validation error naming what was too big.
    assert response.status_code == 413
    body = response.json()
    assert_error_shape(body)
    assert body["type"] == "validation_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("file_too_large", "Upload-Length")]
    assert not Upload.objects.exists()
    assert create(client_for(citizen_a), 10 * MB).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["0.2.2", None])
def test_another_tus_version_is_412_with_tus_version(citizen_a, version):
    client = client_for(citizen_a)
    headers = {"Upload-Length": "10"}
    if version:
        headers["Tus-Resumable"] = version

    response = client.post(URL, headers=headers)

    assert_error(response, 412, "unsupported_tus_version")
    assert response["Tus-Version"] == "1.0.0"
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_patch_with_another_content_type_is_415(citizen_a):
    client = client_for(citizen_a)
    path = upload_path(create(client, 10))

    assert_error(
        patch(client, path, b"x" * 10, 0, "application/json"), 415, "unsupported_media_type"
    )
    assert_error(patch(client, path, b"x" * 10, 0, ""), 415, "unsupported_media_type")
    assert Upload.objects.get().offset == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "attr", "code"),
    [
        ({}, "Upload-Length", "required"),
        ({"Upload-Length": "-1"}, "Upload-Length", "invalid"),
        ({"Upload-Length": "ten"}, "Upload-Length", "invalid"),
        ({"Upload-Length": "10", "Upload-Metadata": "filename ***"}, "Upload-Metadata", "invalid"),
        ({"Upload-Length": "10", "Upload-Metadata": "a YQ==,"}, "Upload-Metadata", "invalid"),
        ({"Upload-Length": "10", "Upload-Metadata": "a YQ"}, "Upload-Metadata", "invalid"),
    ],
)
def test_bad_creation_headers_are_400(citizen_a, headers, attr, code):
    response = client_for(citizen_a).post(URL, headers={**TUS, **headers})
    assert_error(response, 400, code, attr)
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_creation_needs_a_login(api):
    assert_error(create(api, 10), 401, "not_authenticated")


@pytest.mark.django_db
def test_termination_deletes_the_upload_and_its_bytes(
    citizen_a, django_capture_on_commit_callbacks
):
    client = client_for(citizen_a)
    path = upload_path(create(client, 10))
    patch(client, path, b"12345", 0)
    upload = Upload.objects.get()
    assert pieces(upload)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(path, headers=TUS)

    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists()
    assert pieces(upload) == []
    assert head(client, path).status_code == 404


@pytest.mark.django_db
def test_uploads_expire_a_day_after_their_last_piece(citizen_a):
    client = client_for(citizen_a)
    path = upload_path(create(client, 10))
    upload = Upload.objects.get()
    assert abs(upload.expires_at - timezone.now() - uploads.EXPIRY) < timedelta(minutes=1)
    # A piece pushes the expiry on: a slow village line may take more than a day in all.
    Upload.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    patch(client, path, b"12345", 0)
    assert pieces(upload)
    upload.refresh_from_db()
    assert upload.expires_at > timezone.now() + timedelta(hours=23)

    Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert head(client, path).status_code == 404
    assert_error(patch(client, path, b"67890", 5), 404, "not_found")
    fresh = upload_path(create(client, 10))

    assert purge_expired_uploads() == 1
    assert list(Upload.objects.values_list("pk", flat=True)) == [
        Upload.objects.get(pk=fresh.rstrip("/").rsplit("/", 1)[-1]).pk
    ]
    assert pieces(upload) == []


@pytest.mark.django_db
def test_creation_with_an_idempotency_key_creates_one_upload(citizen_a):
    client = client_for(citizen_a)
    responses = [create(client, 10, **{"Idempotency-Key": "k-1"}) for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert {r["Location"] for r in responses} == {responses[0]["Location"]}
    assert [r.get("Idempotent-Replayed") for r in responses] == [None, "true", "true"]
    assert all(r["Tus-Resumable"] == "1.0.0" for r in responses)
    assert Upload.objects.count() == 1
    # The length is part of the request: the same key with another one is refused.
    assert_error(create(client, 11, **{"Idempotency-Key": "k-1"}), 422, "idempotency_key_reused")


# --- attaching ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_interrupted_5_mb_upload_resumes_and_becomes_a_dossier_document(
    citizen_a, dossier, django_capture_on_commit_callbacks
):
    client = client_for(citizen_a)
    data = big_pdf(5 * MB)
    created = create(client, len(data), metadata(filename="Sổ hộ khẩu.pdf"))
    path = upload_path(created)

    # 2 MB arrive, then the line drops before the phone hears back.
    assert patch(client, path, data[: 2 * MB], 0).status_code == 204
    state = head(client, path)
    assert state["Upload-Offset"] == str(2 * MB)
    # Resending the lost piece is refused; the rest goes where HEAD said.
    assert patch(client, path, data[: 2 * MB], 0).status_code == 409
    assert patch(client, path, data[2 * MB :], 2 * MB)["Upload-Offset"] == str(len(data))

    with django_capture_on_commit_callbacks(execute=True):
        attached = client.post(
            f"/api/v1/requests/{dossier.pk}/attachments/",
            {"upload_id": str(Upload.objects.get().pk), "kind": "document"},
            format="json",
        )

    assert attached.status_code == 201, attached.content
    body = attached.json()
    assert (body["kind"], body["content_type"], body["size"]) == (
        "document",
        "application/pdf",
        5 * MB,
    )
    assert body["name"] == "Sổ hộ khẩu.pdf"
    attachment = ServiceRequestAttachment.objects.get()
    assert (attachment.request, attachment.size, attachment.uploaded_by) == (
        dossier,
        5 * MB,
        citizen_a,
    )
    download = client.get(urlsplit(body["url"]).path)
    assert b"".join(download.streaming_content) == data
    upload = Upload.objects.get()
    assert upload.attached_at is not None
    assert pieces(upload) == []
    # Used up: the same id again is a conflict, and the upload is gone for HEAD.
    again = client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"upload_id": str(upload.pk), "kind": "document"},
        format="json",
    )
    assert_error(again, 409, "upload_already_attached")
    assert head(client, path).status_code == 404
    assert ServiceRequestAttachment.objects.count() == 1


@pytest.mark.django_db
def test_attaching_an_upload_has_its_own_json_operation_that_takes_no_file(citizen_a, dossier):
    client = client_for(citizen_a)
    url = f"/api/v1/requests/{dossier.pk}/attachments/from-upload/"

    multipart = client.post(
        url,
        {"file": samples.upload(samples.pdf_bytes(), "a.pdf", "application/pdf")},
        format="multipart",
    )
    unknown = client.post(url, {"upload_id": str(uuid.uuid4()), "kind": "document"}, format="json")

    assert_error(multipart, 415, "unsupported_media_type")
    assert_error(unknown, 404, "not_found")
    upload_id = finished_upload(client, samples.pdf_bytes(), filename="giay-khai-sinh.pdf")
    attached = client.post(url, {"upload_id": upload_id, "kind": "document"}, format="json")
    assert attached.status_code == 201, attached.content
    assert attached.json()["name"] == "giay-khai-sinh.pdf"


@pytest.mark.django_db
def test_a_finished_upload_becomes_a_feedback_photo_cleaned_like_a_multipart_one(
    citizen_a, feedback
):
    client = client_for(citizen_a)
    photo = samples.image_bytes("JPEG", size=(640, 480))
    upload_id = finished_upload(client, photo, filename="cầu treo.jpg", filetype="image/jpeg")

    response = client.post(
        f"/api/v1/feedback/{feedback.pk}/attachments/from-upload/",
        {"upload_id": upload_id, "kind": "photo"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["content_type"], body["name"]) == (
        "photo",
        "image/jpeg",
        "cầu treo.jpg",
    )
    assert body["preview_url"]
    attachment = FeedbackAttachment.objects.get()
    assert attachment.feedback == feedback
    with private_storage.open(attachment.storage_name) as handle, Image.open(handle) as stored:
        assert not stored.getexif()  # EXIF and GPS gone, as for a multipart photo
    assert attachment.size == private_storage.size(attachment.storage_name)


@pytest.mark.django_db
def test_an_unfinished_upload_cannot_be_attached(citizen_a, dossier):
    client = client_for(citizen_a)
    path = upload_path(create(client, 100))
    patch(client, path, b"x" * 50, 0)

    response = client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"upload_id": str(Upload.objects.get().pk), "kind": "document"},
        format="json",
    )

    assert_error(response, 409, "upload_incomplete")
    assert not ServiceRequestAttachment.objects.exists()


@pytest.mark.django_db
def test_an_upload_refused_by_inspection_stays_usable(citizen_a, dossier, feedback):
    client = client_for(citizen_a)
    upload_id = finished_upload(client, samples.pdf_bytes(), filename="don.pdf")

    # A PDF is no photo: refused like a multipart file, and the upload is not used up.
    refused = client.post(
        f"/api/v1/feedback/{feedback.pk}/attachments/",
        {"upload_id": upload_id, "kind": "photo"},
        format="json",
    )
    assert_error(refused, 400, "unsupported_file_type", "file")
    assert Upload.objects.get().attached_at is None

    accepted = client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"upload_id": upload_id, "kind": "document"},
        format="json",
    )
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["name"] == "don.pdf"


@pytest.mark.django_db
def test_attaching_by_upload_id_checks_the_body(citizen_a, dossier):
    client = client_for(citizen_a)
    url = f"/api/v1/requests/{dossier.pk}/attachments/"

    assert_error(
        client.post(url, {"kind": "document"}, format="json"), 400, "required", "upload_id"
    )
    assert_error(
        client.post(url, {"upload_id": "nope", "kind": "document"}, format="json"),
        400,
        "invalid",
        "upload_id",
    )
    assert_error(
        client.post(
            url,
            {"upload_id": "7b0e1b9e-8a52-4a0e-9a51-2f1f4c1d2e3f", "kind": "document"},
            format="json",
        ),
        404,
        "not_found",
    )


@pytest.mark.django_db
def test_multipart_attachments_keep_working(citizen_a, dossier):
    response = client_for(citizen_a).post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {
            "file": samples.upload(samples.pdf_bytes(), "don.pdf", "application/pdf"),
            "kind": "document",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content


# --- over real HTTP -------------------------------------------------------------------------


def _bearer(user):
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_keeps_the_bytes_that_arrived(live_server, citizen_a, dossier):
    """A real socket closes after 2 MB of a 5 MB PATCH; the phone resumes from HEAD."""
    auth = _bearer(citizen_a)
    data = big_pdf(5 * MB)
    created = requests.post(
        f"{live_server.url}{URL}",
        headers={**TUS, **auth, "Upload-Length": str(len(data))},
        timeout=10,
    )
    assert created.status_code == 201, created.content
    location = created.headers["Location"]
    address = urlsplit(live_server.url)

    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        request_head = (
            f"PATCH {urlsplit(location).path} HTTP/1.1\r\n"
            f"Host: {address.netloc}\r\n"
            f"Authorization: {auth['Authorization']}\r\n"
            "Tus-Resumable: 1.0.0\r\n"
            "Upload-Offset: 0\r\n"
            f"Content-Type: {OCTETS}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(request_head.encode() + data[: 2 * MB])
        # Gone without a goodbye: the server reads an early end of the body.

    def offset():
        response = requests.head(location, headers={**TUS, **auth}, timeout=10)
        return int(response.headers["Upload-Offset"]) == 2 * MB

    wait_for(offset, 20, "the server to keep the 2 MB that arrived")
    resumed = requests.patch(
        location,
        data=data[2 * MB :],
        headers={**TUS, **auth, "Upload-Offset": str(2 * MB), "Content-Type": OCTETS},
        timeout=30,
    )
    assert resumed.status_code == 204, resumed.content
    assert resumed.headers["Upload-Offset"] == str(len(data))

    attached = requests.post(
        f"{live_server.url}/api/v1/requests/{dossier.pk}/attachments/",
        json={"upload_id": location.rstrip("/").rsplit("/", 1)[-1], "kind": "document"},
        headers=auth,
        timeout=30,
    )
    assert attached.status_code == 201, attached.content
    assert ServiceRequestAttachment.objects.get().size == len(data)


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_a_5_mb_png_in_chunks_across_an_interruption(
    live_server, citizen_a, feedback
):
    from tusclient import client as tus_client

    auth = _bearer(citizen_a)
    png = noise_png(1340)
    assert len(png) > 5 * MB
    tus = tus_client.TusClient(f"{live_server.url}{URL}", headers=auth)

    first = tus.uploader(
        file_stream=io.BytesIO(png),
        chunk_size=MB,
        metadata={"filename": "ruộng bậc thang.png", "filetype": "image/png"},
    )
    first.upload(stop_at=2 * MB)  # the phone is switched off after two chunks
    assert first.offset == 2 * MB

    # Later, a new uploader for the same URL asks the server where to go on.
    second = tus.uploader(file_stream=io.BytesIO(png), chunk_size=MB, url=first.url)
    assert second.offset == 2 * MB
    second.upload()
    assert second.offset == len(png)

    upload = Upload.objects.get()
    assert (upload.offset, upload.length, upload.filename) == (
        len(png),
        len(png),
        "ruộng bậc thang.png",
    )
    attached = requests.post(
        f"{live_server.url}/api/v1/feedback/{feedback.pk}/attachments/",
        json={"upload_id": str(upload.pk), "kind": "photo"},
        headers=auth,
        timeout=60,
    )
    assert attached.status_code == 201, attached.content
    body = attached.json()
    assert (body["content_type"], body["name"]) == ("image/jpeg", "ruộng bậc thang.jpg")
    attachment = FeedbackAttachment.objects.get()
    assert attachment.size == body["size"] == private_storage.size(attachment.storage_name)


@pytest.mark.django_db(transaction=True)
def test_two_patches_at_the_same_offset_land_once(citizen_a, monkeypatch):
    needs_postgres()
    client = client_for(citizen_a)
    path = upload_path(create(client, 8))
    real_write = uploads._write_piece

    def slow_write(*args, **kwargs):
        time.sleep(0.3)  # hold the row lock long enough for the other PATCH to arrive
        return real_write(*args, **kwargs)

    monkeypatch.setattr(uploads, "_write_piece", slow_write)
    results = {}
    barrier = threading.Barrier(2)

    def send(name, data):
        try:
            barrier.wait()
            results[name] = patch(client_for(citizen_a), path, data, 0)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=("a", b"aaaaaaaa")),
        threading.Thread(target=send, args=("b", b"bbbbbbbb")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(r.status_code for r in results.values()) == [204, 409]
    winner = next(name for name, r in results.items() if r.status_code == 204)
    upload = Upload.objects.get()
    assert upload.offset == 8
    assert received(upload) == winner.encode() * 8


@pytest.mark.django_db
def test_an_upload_no_attachment_could_take_leaves_nothing_behind(citizen_a, dossier):
    client = client_for(citizen_a)
    upload_id = finished_upload(client, b"MZ\x90\x00 not a document at all" * 20, filename="x.exe")
    upload = Upload.objects.get(pk=upload_id)
    assert pieces(upload)

    refused = client.post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"upload_id": upload_id, "kind": "document"},
        format="json",
    )

    assert_error(refused, 400, "unsupported_file_type", "file")
    assert not Upload.objects.filter(pk=upload_id).exists()
    assert pieces(upload) == []


def test_metadata_sent_twice_keeps_its_last_value_and_never_a_control_character():
    name = base64.b64encode("Sổ hộ khẩu\x00.pdf".encode()).decode()
    metadata = uploads.parse_metadata(f"filename YQ==, filename {name} ,filetype")
    assert uploads.parse_metadata("") == {}

    assert metadata == {"filename": "Sổ hộ khẩu.pdf", "filetype": ""}
