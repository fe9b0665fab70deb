"""`Idempotency-Key` on the create endpoints: requests, devices and registration."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from common.api import idempotency
from common.api.idempotency import body_fingerprint
from common.models import IdempotencyRecord
from common.tasks import purge_idempotency_records
from notifications.models import Device
from services.models import ServiceRequest
from tests.accounts.helpers import assert_error, register_code
from tests.conftest import client_for
from tests.spec import parameters

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/requests/"
DEVICES = "/api/v1/devices/"
REGISTER = "/api/v1/auth/register/"
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
DOSSIER = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
DEVICE = {"token": "dGVzdA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx", "platform": "android"}
ACCOUNT = {"phone": "0912 345 678", "password": "Nuong-Rau-2026!", "full_name": "Lò Thị Xuân"}


def post(client, url, body, key):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, body, format="json", headers=headers)


def test_a_repeat_gets_the_first_response_and_creates_nothing(world, citizen_a):
    client = client_for(citizen_a)
    first = post(client, REQUESTS, DOSSIER, "key-1")
    again = post(client, REQUESTS, DOSSIER, "key-1")

    assert first.status_code == 201, first.json()
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert ServiceRequest.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.user_id, record.key, record.state) == (str(citizen_a.pk), "key-1", "done")
    assert (record.method, record.path, record.status_code) == ("POST", REQUESTS, 201)


def test_key_order_and_spacing_of_the_json_body_do_not_matter(world, citizen_a):
    client = client_for(citizen_a)
    first = client.post(
        REQUESTS,
        '{"service":"birth-registration","administrative_unit":2266,"form_data":'
        '{"child":{"full_name":"Hoàng Văn An","birth_date":"2026-11-01"}}}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    again = client.post(
        REQUESTS,
        '{ "form_data": {"child": {"birth_date": "2026-11-01", "full_name": "Hoàng Văn An"}},\n'
        '  "administrative_unit": 2266, "service": "birth-registration" }',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert ServiceRequest.objects.count() == 1


def test_the_same_key_with_another_body_is_422(world, citizen_a):
    client = client_for(citizen_a)
    assert post(client, REQUESTS, DOSSIER, "key-1").status_code == 201

    other = post(client, REQUESTS, {**DOSSIER, "note": "khác"}, "key-1")

    assert_error(other, 422, "idempotency_key_reused")
    assert ServiceRequest.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_422(world, citizen_a):
    client = client_for(citizen_a)
    assert post(client, REQUESTS, DOSSIER, "key-1").status_code == 201
    assert_error(post(client, DEVICES, DEVICE, "key-1"), 422, "idempotency_key_reused")
    assert not Device.objects.exists()


def test_a_repeat_while_the_first_still_runs_is_409(world, citizen_a):
    IdempotencyRecord.objects.create(
        user_id=str(citizen_a.pk),
        key="key-1",
        method="POST",
        path=REQUESTS,
        body_hash=body_fingerprint("POST", REQUESTS, DOSSIER),
    )
    response = post(client_for(citizen_a), REQUESTS, DOSSIER, "key-1")

    assert_error(response, 409, "idempotency_in_progress")
    assert response["Retry-After"] == "1"
    assert not ServiceRequest.objects.exists()


def test_an_abandoned_in_progress_row_frees_its_key(world, citizen_a):
    # The process that inserted it died mid-request; the client must not wait a whole day.
    record = IdempotencyRecord.objects.create(
        user_id=str(citizen_a.pk),
        key="key-1",
        method="POST",
        path=REQUESTS,
        body_hash=body_fingerprint("POST", REQUESTS, DOSSIER),
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - idempotency.IN_PROGRESS_TIMEOUT - timedelta(seconds=1)
    )
    response = post(client_for(citizen_a), REQUESTS, DOSSIER, "key-1")
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().state == "done"


def test_a_record_older_than_24_hours_is_ignored(world, citizen_a):
    client = client_for(citizen_a)
    first = post(client, REQUESTS, DOSSIER, "key-1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))

    again = post(client, REQUESTS, DOSSIER, "key-1")
    also_other_body = post(client, REQUESTS, {**DOSSIER, "note": "mới"}, "key-2")

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"]
    assert also_other_body.status_code == 201
    assert ServiceRequest.objects.count() == 3
    assert IdempotencyRecord.objects.filter(key="key-1").count() == 1


def test_another_user_with_the_same_key_is_independent(world, citizen_a, citizen_b):
    mine = post(client_for(citizen_a), REQUESTS, DOSSIER, "shared-key")
    theirs = post(client_for(citizen_b), REQUESTS, DOSSIER, "shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert ServiceRequest.objects.filter(applicant=citizen_b).count() == 1


def test_a_4xx_outcome_is_kept_and_replayed(world, citizen_a):
    client = client_for(citizen_a)
    bad = {**DOSSIER, "service": "no-such-service"}
    first = post(client, REQUESTS, bad, "key-1")
    again = post(client, REQUESTS, bad, "key-1")

    assert first.status_code == 400
    assert again.status_code == 400
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().status_code == 400


def test_a_5xx_outcome_frees_the_key(world, citizen_a, monkeypatch):
    from services import actions

    client = client_for(citizen_a)
    client.raise_request_exception = False
    real_submit = actions.submit_request

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(actions, "submit_request", broken)
    with override_settings(DEBUG=False):
        failed = post(client, REQUESTS, DOSSIER, "key-1")
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.setattr(actions, "submit_request", real_submit)
    retried = post(client, REQUESTS, DOSSIER, "key-1")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert ServiceRequest.objects.count() == 1


def test_a_5xx_api_error_frees_the_key_too(world, citizen_a, monkeypatch):
    from rest_framework.exceptions import APIException

    from services import actions

    def unavailable(**kwargs):
        raise APIException("try later")

    monkeypatch.setattr(actions, "submit_request", unavailable)
    client = client_for(citizen_a)
    client.raise_request_exception = False  # the error handler reports 5xx to Django's signal
    response = post(client, REQUESTS, DOSSIER, "key-1")
    assert response.status_code == 500
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "khóa-tiếng-việt", "tab\there"],
    ids=["empty", "too-long", "non-ascii", "control-char"],
)
def test_a_malformed_key_is_400(world, citizen_a, key):
    # Django's test client sends header values as given; non-ASCII travels as latin-1.
    response = client_for(citizen_a).post(
        REQUESTS, DOSSIER, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    body = assert_error(response, 400, "invalid_idempotency_key")
    assert body["type"] == "client_error"
    assert not ServiceRequest.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_the_longest_key_is_accepted(world, citizen_a):
    key = "~" * 255
    client = client_for(citizen_a)
    assert post(client, REQUESTS, DOSSIER, key).status_code == 201
    assert post(client, REQUESTS, DOSSIER, key)["Idempotent-Replayed"] == "true"


def test_without_a_key_nothing_is_recorded(world, citizen_a):
    client = client_for(citizen_a)
    assert post(client, REQUESTS, DOSSIER, None).status_code == 201
    assert post(client, REQUESTS, DOSSIER, None).status_code == 201
    assert ServiceRequest.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_authentication_comes_before_the_key(world, api):
    response = post(api, REQUESTS, DOSSIER, "key-1")
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("endpoint", ["requests", "devices", "register"])
def test_the_same_request_sent_three_times_creates_one_object(world, citizen_a, api, endpoint):
    url, body, model, client = {
        "requests": (REQUESTS, DOSSIER, ServiceRequest, client_for(citizen_a)),
        "devices": (DEVICES, DEVICE, Device, client_for(citizen_a)),
        "register": (REGISTER, None, User, api),
    }[endpoint]
    body = body or {**ACCOUNT, "otp": register_code(ACCOUNT["phone"])}
    before = model.objects.count()
    key = str(uuid.uuid4())

    responses = [post(client, url, body, key) for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert responses[1].json() == responses[0].json() == responses[2].json()
    assert [r.get("Idempotent-Replayed") for r in responses] == [None, "true", "true"]
    assert model.objects.count() == before + 1


def test_anonymous_registration_is_idempotent(api):
    account = {**ACCOUNT, "otp": register_code(ACCOUNT["phone"])}
    first = post(api, REGISTER, account, "signup-1")
    again = post(api, REGISTER, account, "signup-1")
    without_key = post(api, REGISTER, account, None)
    other_body = post(api, REGISTER, {**account, "full_name": "Lò Văn Xuân"}, "signup-1")

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert "password" not in again.json()
    # Without the key a retry is a new request: its code is spent, nothing more is made.
    assert_error(without_key, 400, "invalid_code", "otp")
    assert_error(other_body, 422, "idempotency_key_reused")
    assert User.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.user_id == idempotency.ANONYMOUS
    # Only a keyed hash of the body is kept, never the password itself.
    assert ACCOUNT["password"] not in str(record.__dict__)


def test_a_stale_token_does_not_change_the_anonymous_namespace(api, citizen_a):
    # Registration ignores Authorization, so a logged-in phone's retry matches its first try.
    account = {**ACCOUNT, "otp": register_code(ACCOUNT["phone"])}
    first = post(client_for(citizen_a), REGISTER, account, "signup-1")
    again = post(api, REGISTER, account, "signup-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"


def test_devices_replay_the_first_201_not_a_later_200(world, citizen_a):
    client = client_for(citizen_a)
    first = post(client, DEVICES, DEVICE, "key-1")
    plain_again = post(client, DEVICES, DEVICE, None)
    keyed_again = post(client, DEVICES, DEVICE, "key-1")
    assert (first.status_code, plain_again.status_code, keyed_again.status_code) == (
        201,
        200,
        201,
    )


def test_multipart_bodies_are_hashed_part_by_part(settings):
    def form(content):
        data = QueryDict(mutable=True)
        data.update({"kind": "document"})
        data.update({"file": SimpleUploadedFile("a.pdf", content, "application/pdf")})
        return data

    same = body_fingerprint("POST", "/u/", form(b"%PDF-1.7 one"))
    assert same == body_fingerprint("POST", "/u/", form(b"%PDF-1.7 one"))
    assert same != body_fingerprint("POST", "/u/", form(b"%PDF-1.7 two"))
    assert same != body_fingerprint("POST", "/other/", form(b"%PDF-1.7 one"))
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.7 one", "application/pdf")
    data = QueryDict(mutable=True)
    data.update({"file": upload})
    body_fingerprint("POST", "/u/", data)
    assert upload.read() == b"%PDF-1.7 one"  # left readable for the view


def test_the_purge_task_deletes_only_records_past_24_hours(citizen_a):
    old = IdempotencyRecord.objects.create(
        user_id="1", key="old", method="POST", path="/", body_hash="x", state="done"
    )
    young = IdempotencyRecord.objects.create(
        user_id="1", key="young", method="POST", path="/", body_hash="x", state="done"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [young.pk]


def test_the_purge_runs_on_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "common.tasks.purge_idempotency_records" in tasks


def test_the_schema_documents_the_header_and_its_errors():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/requests/", "/api/v1/devices/", "/api/v1/auth/register/"):
        operation = schema["paths"][path]["post"]
        headers = [n for n, p in parameters(schema, operation).items() if p["in"] == "header"]
        assert "Idempotency-Key" in headers, path
        assert {"400", "409", "422"} <= set(operation["responses"]), path
        assert "idempotency_in_progress" in operation["responses"]["409"]["description"]
    register_409 = schema["paths"]["/api/v1/auth/register/"]["post"]["responses"]["409"]
    assert "phone_taken" in register_409["description"]
    listing = schema["paths"]["/api/v1/requests/"]["get"]
    assert "422" not in listing["responses"]
    assert "Idempotency-Key" not in parameters(schema, listing)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_repeat_is_409_while_the_first_runs(world, citizen_a, monkeypatch):
    """Two real connections: the unique constraint, not a read-then-write, decides."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    from services import actions

    inside, release = threading.Event(), threading.Event()
    real_submit = actions.submit_request

    def slow_submit(**kwargs):
        inside.set()
        release.wait(10)
        return real_submit(**kwargs)

    monkeypatch.setattr(actions, "submit_request", slow_submit)
    results = {}

    def first():
        try:
            results["first"] = post(client_for(citizen_a), REQUESTS, DOSSIER, "key-1")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(10)
        second = post(client_for(citizen_a), REQUESTS, DOSSIER, "key-1")
    finally:
        release.set()
        thread.join(10)

    assert_error(second, 409, "idempotency_in_progress")
    assert results["first"].status_code == 201
    third = post(client_for(citizen_a), REQUESTS, DOSSIER, "key-1")
    assert third["Idempotent-Replayed"] == "true"
    assert ServiceRequest.objects.count() == 1


def test_an_upload_sent_again_is_stored_once(world, citizen_a):
    from services.models import ServiceRequestAttachment
    from tests import file_samples as samples

    client = client_for(citizen_a)
    dossier = post(client, REQUESTS, DOSSIER, None).json()
    url = f"/api/v1/requests/{dossier['id']}/attachments/"

    def upload(content, key="upload-1"):
        return client.post(
            url,
            {"file": samples.upload(content, "giay-to.pdf", "application/pdf"), "kind": "document"},
            format="multipart",
            headers={"Idempotency-Key": key},
        )

    first, again = upload(samples.pdf_bytes()), upload(samples.pdf_bytes())
    other_file = upload(samples.pdf_bytes("Giay chung nhan"))

    assert first.status_code == 201, first.json()
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert_error(other_file, 422, "idempotency_key_reused")
    assert ServiceRequestAttachment.objects.count() == 1
