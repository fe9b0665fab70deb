"""Files on an S3-compatible object store (`STORAGE_BACKEND=s3`), against a real local S3
server (moto_server): attachments, downloads, deletion, and resumable uploads that hop
between web servers sharing nothing but the bucket and the database."""

import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.storage import storages
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from common import files
from common.files import uploads
from common.models import Upload
from services import actions, audio_help
from services.models import ServiceRequestAttachment
from tests import file_samples as samples
from tests.common.test_uploads import OCTETS, TUS, URL, big_pdf, create, head, patch, upload_path
from tests.conftest import client_for
from tests.live import WebServer, needs_postgres

pytestmark = pytest.mark.s3
MB = 1024 * 1024
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


@pytest.fixture
def bucket(s3_bucket):
    return s3_bucket


@pytest.fixture
def dossier(world, citizen_a):
    dossier, _created = actions.submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    return dossier


def local_files(root):
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_an_attachment_is_a_private_object_downloaded_through_the_signed_link(
    s3_server, bucket, dossier, citizen_a, settings
):
    photo = samples.image_bytes("JPEG", size=(640, 480))
    response = client_for(citizen_a).post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"file": samples.upload(photo, "nhà.jpg", "image/jpeg"), "kind": "photo"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    attachment = ServiceRequestAttachment.objects.get()
    # The photo and its preview are objects in the bucket, under the private prefix; nothing
    # was written to the local disk.
    assert s3_server.keys(bucket) == sorted(
        [f"private/{attachment.storage_name}", f"private/{attachment.preview_storage_name}"]
    )
    assert local_files(settings.MEDIA_ROOT) == []
    # Private: no grant to anyone but the owner, and the storage hands out no URL.
    acl = s3_server.client().get_object_acl(Bucket=bucket, Key=f"private/{attachment.storage_name}")
    assert all("URI" not in grant["Grantee"] for grant in acl["Grants"])
    with pytest.raises(NotImplementedError):
        files.private_storage.url(attachment.storage_name)

    download = Client().get(urlsplit(response.json()["url"]).path)

    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    stored = s3_server.client().get_object(Bucket=bucket, Key=f"private/{attachment.storage_name}")
    assert body == stored["Body"].read()
    assert download["Content-Length"] == str(len(body)) == str(attachment.size)
    assert download["Content-Type"] == "image/jpeg"
    assert download["Content-Disposition"].startswith('attachment; filename="nha.jpg"')
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    preview = Client().get(urlsplit(response.json()["preview_url"]).path)
    assert b"".join(preview.streaming_content)[:3] == b"\xff\xd8\xff"


def test_an_object_gone_from_the_bucket_is_a_404_not_a_500(s3_server, bucket, dossier, citizen_a):
    response = client_for(citizen_a).post(
        f"/api/v1/requests/{dossier.pk}/attachments/",
        {"file": samples.upload(samples.pdf_bytes(), "a.pdf"), "kind": "document"},
        format="multipart",
    )
    attachment = ServiceRequestAttachment.objects.get()
    s3_server.client().delete_object(Bucket=bucket, Key=f"private/{attachment.storage_name}")

    assert Client().get(urlsplit(response.json()["url"]).path).status_code == 404


def test_replacing_audio_help_deletes_the_old_object(
    s3_server, bucket, world, django_capture_on_commit_callbacks
):
    service = world["service"]
    first = audio_help.attach_audio_help(
        None, service, language="vi", upload=samples.upload(samples.mp3_bytes(), "a.mp3")
    )
    assert s3_server.keys(bucket) == [f"private/{first.storage_name}"]

    with django_capture_on_commit_callbacks(execute=True):
        second = audio_help.attach_audio_help(
            None, service, language="vi", upload=samples.upload(samples.mp3_bytes(), "b.mp3")
        )
    assert s3_server.keys(bucket) == [f"private/{second.storage_name}"]

    with django_capture_on_commit_callbacks(execute=True):
        audio_help.remove_audio_help(None, second)
    assert s3_server.keys(bucket) == []


def _move_to_another_server(settings, tmp_path, name):
    """What a second web server sees: the same bucket and database, its own (empty) disk and
    a storage object of its own."""
    settings.MEDIA_ROOT = str(tmp_path / name)
    before = storages["private"]
    settings.STORAGES = {**settings.STORAGES}  # Django drops its storage objects
    assert storages["private"] is not before


def test_an_upload_resumes_on_another_server_and_is_joined_when_attached(
    s3_server, bucket, dossier, citizen_a, settings, tmp_path, django_capture_on_commit_callbacks
):
    client = client_for(citizen_a)
    data = big_pdf(600_000)
    path = upload_path(create(client, len(data)))
    assert patch(client, path, data[:250_000], 0).status_code == 204

    _move_to_another_server(settings, tmp_path, "server-b")
    assert head(client, path)["Upload-Offset"] == "250000"
    assert patch(client, path, data[250_000:], 250_000).status_code == 204
    upload = Upload.objects.get()
    # One object per piece, named by its offset: S3 cannot write at an offset.
    prefix = f"private/{uploads.pieces_prefix(upload)}/"
    assert s3_server.keys(bucket, prefix) == [prefix + "000000000000", prefix + "000000250000"]

    _move_to_another_server(settings, tmp_path, "server-c")
    with django_capture_on_commit_callbacks(execute=True):
        attached = client.post(
            f"/api/v1/requests/{dossier.pk}/attachments/",
            {"upload_id": str(upload.pk), "kind": "document"},
            format="json",
        )

    assert attached.status_code == 201, attached.content
    attachment = ServiceRequestAttachment.objects.get()
    assert s3_server.keys(bucket) == [f"private/{attachment.storage_name}"]
    download = Client().get(urlsplit(attached.json()["url"]).path)
    assert b"".join(download.streaming_content) == data
    assert local_files(tmp_path) == []


def test_a_piece_left_by_a_failed_request_is_replaced_not_joined(s3_server, bucket, citizen_a):
    client = client_for(citizen_a)
    path = upload_path(create(client, 10))
    upload = Upload.objects.get()
    # A PATCH whose piece reached the bucket but whose request then failed.
    files.private_storage.save(uploads.piece_name(upload, 0), io.BytesIO(b"stale-bytes"))

    assert patch(client, path, b"fresh", 0).status_code == 204
    assert patch(client, path, b"12345", 5).status_code == 204

    upload.refresh_from_db()
    with uploads.received_bytes(upload) as joined:
        assert joined.read() == b"fresh12345"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tus_resume_across_two_web_server_processes(
    s3_server, bucket, citizen_a, dossier, tmp_path
):
    """Two gunicorn processes with their own empty disks; only S3 and PostgreSQL are shared.
    The phone starts on one, loses the line, and carries on with whichever answers next."""
    needs_postgres()
    servers = []
    for name in ("a", "b"):
        media = tmp_path / f"media-{name}"
        media.mkdir()
        server = WebServer(
            tmp_path / f"web-{name}.log", MEDIA_ROOT=str(media), **s3_server.environment(bucket)
        )
        servers.append(server)
    try:
        for server in servers:
            server.spawn()
        for server in servers:
            server.wait_ready()
        a, b = servers
        auth = {"Authorization": f"Bearer {RefreshToken.for_user(citizen_a).access_token}"}
        data = big_pdf(3 * MB)

        created = requests.post(
            f"{a.url}{URL}", headers={**TUS, **auth, "Upload-Length": str(len(data))}, timeout=10
        )
        assert created.status_code == 201, created.text
        upload_id = urlsplit(created.headers["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
        path = f"{URL}{upload_id}/"

        def send(server, start, end):
            return requests.patch(
                f"{server.url}{path}",
                data=data[start:end],
                headers={**TUS, **auth, "Upload-Offset": str(start), "Content-Type": OCTETS},
                timeout=30,
            )

        assert send(a, 0, MB).status_code == 204
        state = requests.head(f"{b.url}{path}", headers={**TUS, **auth}, timeout=10)
        assert state.headers["Upload-Offset"] == str(MB)
        assert send(b, MB, 2 * MB).status_code == 204
        assert send(a, 2 * MB, len(data)).headers["Upload-Offset"] == str(len(data))

        attached = requests.post(
            f"{b.url}/api/v1/requests/{dossier.pk}/attachments/",
            json={"upload_id": upload_id, "kind": "document"},
            headers=auth,
            timeout=30,
        )
        assert attached.status_code == 201, attached.text
        download = requests.get(f"{a.url}{urlsplit(attached.json()['url']).path}", timeout=30)
        assert download.status_code == 200
        assert download.content == data
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        # Nothing on either server's disk; the pieces are gone, the document is one object.
        assert local_files(tmp_path / "media-a") == local_files(tmp_path / "media-b") == []
        attachment = ServiceRequestAttachment.objects.get()
        assert s3_server.keys(bucket) == [f"private/{attachment.storage_name}"]
    finally:
        for server in servers:
            server.stop()
