"""A person's copy of their data (`GET me/export/`) and the closing of their account
(`DELETE me/`), with what stays with the agencies and for how long."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import sessions
from accounts.models import Consent, Session, User
from common.models import AuditLogEntry
from feedback.actions import support_feedback
from feedback.models import Feedback, FeedbackSupport
from notifications.actions import register_device
from notifications.models import Device, Notification, PushMessage
from notifications.outbox import notify
from services.actions import submit_request
from services.data_rights import pseudonymise_retained_dossiers
from services.models import ServiceRequest, ServiceRequestAttachment
from tests.accounts.helpers import assert_error, code_from_sms
from tests.conftest import client_for
from tests.factories import PASSWORD
from tests.feedback.helpers import make_feedback

ME = "/api/v1/me/"
EXPORT = "/api/v1/me/export/"
TOKEN = "/api/v1/auth/token/"
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ethnic_groups(db):
    """The 54 groups as their migration loads them (a transactional test elsewhere may have
    flushed the table)."""
    from importlib import import_module

    from django.apps import apps

    import_module("accounts.migrations.0009_ethnic_groups").load(apps, None)


def dossier_for(world, user, status=ServiceRequest.Status.SUBMITTED):
    dossier, _ = submit_request(
        applicant=user, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    if status != ServiceRequest.Status.SUBMITTED:
        ServiceRequest.objects.filter(pk=dossier.pk).update(status=status)
        dossier.refresh_from_db()
    return dossier


def attach(dossier, name):
    return ServiceRequestAttachment.objects.create(
        request=dossier,
        kind="document",
        content_type="application/pdf",
        size=10,
        name=name,
        storage_name=f"ab/{name}-{dossier.pk.hex}.pdf",
    )


def login(api, phone, password=PASSWORD):
    return api.post(TOKEN, {"phone": phone, "password": password}, format="json")


# -- export ---------------------------------------------------------------------------------


def test_export_holds_everything_about_me_and_nothing_of_others(world, citizen_a, citizen_b, api):
    dossier = dossier_for(world, citizen_a)
    attach(dossier, "giay-chung-sinh")
    item = make_feedback(world, citizen_a, title="Cầu treo hỏng")
    theirs = make_feedback(world, citizen_b, status="in_progress", is_public=True)
    support_feedback(citizen_a, theirs)
    register_device(citizen_a, token="fcm-token-of-mai-0001", platform="android")
    login(api, citizen_a.phone)
    client = client_for(citizen_a)
    client.post(
        "/api/v1/me/consents/",
        {"purpose": "location", "text_version": "v1", "given": True},
        format="json",
    )

    response = client.get(EXPORT)

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"].startswith("attachment;")
    archive = response.json()
    assert archive["profile"]["phone"] == "+84900000001"
    assert archive["profile"]["full_name"] == "Hoàng Thị Mai"
    assert archive["consents"][0]["purpose"] == "location"
    [exported] = archive["dossiers"]
    assert exported["tracking_code"] == dossier.tracking_code
    assert exported["form_data"] == FORM
    assert [e["action"] for e in exported["events"]] == ["submit"]
    [file] = exported["attachments"]
    assert file["name"] == "giay-chung-sinh"
    assert "/api/v1/files/" in file["url"]
    assert [f["tracking_code"] for f in archive["feedback"]] == [item.tracking_code]
    assert archive["feedback_supports"] == [
        {
            "feedback": theirs.tracking_code,
            "created_at": archive["feedback_supports"][0]["created_at"],
        }
    ]
    assert archive["devices"][0]["token_end"] == "mai-0001"
    assert len(archive["sessions"]) == 1
    assert {n["kind"] for n in archive["notifications"]} >= {"service_request.submitted"}
    actions = {entry["action"] for entry in archive["audit_log"]}
    assert {"submit", "give_consent"} <= actions
    assert "Lò Văn Pánh" not in response.content.decode()
    assert AuditLogEntry.objects.filter(
        action="export_personal_data", actor=citizen_a, object_id=str(citizen_a.pk)
    ).exists()


def test_export_costs_the_same_queries_however_much_i_hold(world, citizen_a, citizen_b):
    client = client_for(citizen_a)
    dossier = dossier_for(world, citizen_a)
    attach(dossier, "a")
    make_feedback(world, citizen_a)
    with CaptureQueriesContext(transaction.get_connection()) as few:
        assert client.get(EXPORT).status_code == 200

    for n in range(3):
        more = dossier_for(world, citizen_a)
        attach(more, f"b{n}")
        make_feedback(world, citizen_a)
        other = make_feedback(world, citizen_b, status="in_progress", is_public=True)
        support_feedback(citizen_a, other)
    with CaptureQueriesContext(transaction.get_connection()) as many:
        assert client.get(EXPORT).status_code == 200

    assert len(many) == len(few)
    assert len(many) <= 25


def test_export_needs_a_login(api):
    assert api.get(EXPORT).status_code == 401


# -- deletion ---------------------------------------------------------------------------------


def test_a_closed_account_leaves_its_dossier_with_the_agency_and_its_feedback_anonymous(
    world, citizen_a, officer_commune, superuser, api
):
    dossier = dossier_for(world, citizen_a, ServiceRequest.Status.COMPLETED)
    item = make_feedback(world, citizen_a)
    staff = client_for(officer_commune)
    assert staff.get(f"/api/v1/feedback/{item.pk}/").json()["author"]["full_name"] == (
        "Hoàng Thị Mai"
    )
    client = client_for(citizen_a)
    assert client.get(EXPORT).json()["profile"]["phone"] == "+84900000001"

    response = client.delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 204, response.content
    # Signed out everywhere, and no way back in.
    assert client.get(ME).status_code == 401
    assert_error(login(api, "+84900000001"), 401, "no_active_account")
    account = User.objects.get(pk=citizen_a.pk)
    assert account.full_name == "" and not account.is_active and account.deleted_at
    assert not account.has_usable_password()
    assert account.phone != "+84900000001" and not account.phone.startswith("+")
    # Feedback stays, but staff no longer see who sent it.
    assert staff.get(f"/api/v1/feedback/{item.pk}/").json()["author"] is None
    assert Feedback.objects.get(pk=item.pk).is_anonymous
    # The dossier stays with its agency, which still sees who filed it.
    kept = ServiceRequest.objects.get(pk=dossier.pk)
    assert (kept.applicant_name_snapshot, kept.applicant_phone_snapshot) == (
        "Hoàng Thị Mai",
        "+84900000001",
    )
    admin = client_for(superuser)
    admin.force_login(superuser)
    page = admin.get(f"/admin/services/servicerequest/{dossier.pk}/change/").content.decode()
    assert "Hoàng Thị Mai · +84900000001" in page
    found = admin.get("/admin/services/servicerequest/", {"q": "0900 000 001"}).content.decode()
    assert dossier.tracking_code in found
    assert staff.get(f"/api/v1/requests/{dossier.pk}/").status_code == 200
    assert AuditLogEntry.objects.filter(action="delete_account", actor=citizen_a).exists()


def test_the_phone_may_register_again(world, citizen_a, api, django_capture_on_commit_callbacks):
    client_for(citizen_a).delete(ME, {"password": PASSWORD}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/otp/", {"phone": "0900000001", "purpose": "register"}, format="json")
    response = api.post(
        "/api/v1/auth/register/",
        {
            "phone": "0900000001",
            "otp": code_from_sms(),
            "password": "Another#Pass2027",
            "full_name": "Người mới",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert User.objects.filter(phone="+84900000001", is_active=True).count() == 1


def test_closing_with_a_code_sent_to_a_signed_in_user(
    world, citizen_a, django_capture_on_commit_callbacks
):
    client = client_for(citizen_a)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(
            "/api/v1/auth/otp/",
            {"phone": citizen_a.phone, "purpose": "delete_account"},
            format="json",
        )
    assert asked.status_code == 202

    response = client.delete(ME, {"otp": code_from_sms()}, format="json")

    assert response.status_code == 204, response.content
    assert not User.objects.get(pk=citizen_a.pk).is_active


@pytest.mark.parametrize(
    ("body", "status", "code", "attr"),
    [
        ({"password": "wrong-password"}, 400, "wrong_password", "password"),
        ({"otp": "123456"}, 400, "invalid_code", "otp"),
        ({}, 400, "password_or_otp", "password"),
        ({"password": PASSWORD, "otp": "123456"}, 400, "password_or_otp", "password"),
        ({"otp": "12"}, 400, "invalid", "otp"),
        # A number is not a string (common.api.strings).
        ({"password": 5}, 400, "invalid", "password"),
    ],
)
def test_bad_deletion_requests_change_nothing(world, citizen_a, body, status, code, attr):
    response = client_for(citizen_a).delete(ME, body, format="json")

    assert_error(response, status, code, attr)
    assert User.objects.get(pk=citizen_a.pk).is_active


def test_an_open_dossier_stops_the_closing_and_keeps_the_code(
    world, citizen_a, django_capture_on_commit_callbacks
):
    dossier_for(world, citizen_a, ServiceRequest.Status.IN_PROGRESS)
    client = client_for(citizen_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/v1/auth/otp/",
            {"phone": citizen_a.phone, "purpose": "delete_account"},
            format="json",
        )
    code = code_from_sms()

    assert_error(client.delete(ME, {"otp": code}, format="json"), 409, "open_cases")
    assert User.objects.get(pk=citizen_a.pk).is_active
    ServiceRequest.objects.update(status=ServiceRequest.Status.CANCELLED)
    assert client.delete(ME, {"otp": code}, format="json").status_code == 204


def test_a_staff_member_cannot_close_their_account_here(officer_commune):
    response = client_for(officer_commune).delete(ME, {"password": PASSWORD}, format="json")

    assert_error(response, 409, "staff_account")
    assert User.objects.get(pk=officer_commune.pk).is_active


def test_devices_sessions_consents_and_inbox_go_and_others_pushes_stay(
    world, citizen_a, citizen_b, api
):
    register_device(citizen_a, token="fcm-token-a", platform="android")
    register_device(citizen_b, token="fcm-token-b", platform="ios")
    login(api, citizen_a.phone)
    client = client_for(citizen_a)
    for purpose in ("ethnic_group", "publish"):
        client.post(
            "/api/v1/me/consents/",
            {"purpose": purpose, "text_version": "v1", "given": True},
            format="json",
        )
    client.patch(ME, {"ethnic_group": "02"}, format="json")
    theirs = make_feedback(world, citizen_b, status="in_progress", is_public=True)
    support_feedback(citizen_a, theirs)
    with transaction.atomic():
        for user in (citizen_a, citizen_b):
            notify(user, "announcement", {"title": "T", "body": "B"}, data={}, collapse_key="x")
    others_pushes = set(PushMessage.objects.filter(device__user=citizen_b))
    assert others_pushes

    assert client.delete(ME, {"password": PASSWORD}, format="json").status_code == 204

    assert not Device.objects.filter(user=citizen_a).exists()
    assert not Session.objects.filter(user=citizen_a).exists()
    assert not Consent.objects.filter(user=citizen_a).exists()
    assert not Notification.objects.filter(user=citizen_a).exists()
    assert User.objects.get(pk=citizen_a.pk).ethnic_group == ""
    # Another person's device and queued push are untouched.
    assert set(PushMessage.objects.filter(device__user=citizen_b, status="pending")) == (
        others_pushes
    )
    # The support stays, counted, with no identity left behind it.
    assert FeedbackSupport.objects.filter(feedback=theirs).count() == 1
    assert Feedback.objects.get(pk=theirs.pk).support_count == 1
    assert sessions.live_sessions(citizen_a).count() == 0


# -- retention ------------------------------------------------------------------------------


def test_kept_dossiers_are_pseudonymised_after_their_retention(world, citizen_a, settings):
    settings.DOSSIER_RETENTION_DAYS = 30
    dossier = dossier_for(world, citizen_a, ServiceRequest.Status.COMPLETED)
    attach(dossier, "to-go")
    client_for(citizen_a).delete(ME, {"password": PASSWORD}, format="json")

    assert pseudonymise_retained_dossiers() == 0
    ServiceRequest.objects.update(updated_at=F("updated_at") - timedelta(days=31))
    assert pseudonymise_retained_dossiers() == 1

    kept = ServiceRequest.objects.get(pk=dossier.pk)
    assert kept.pseudonymised_at is not None
    assert (kept.applicant_name_snapshot, kept.applicant_phone_snapshot) == ("", "")
    assert kept.form_data == {}
    assert not kept.attachments.exists()
    assert kept.status == ServiceRequest.Status.COMPLETED
    assert pseudonymise_retained_dossiers() == 0


def test_the_retention_task_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "services.tasks.pseudonymise_retained_dossiers" in tasks
    assert settings.DOSSIER_RETENTION_DAYS == 3650
    assert timezone.now()
