"""Assisted submission: an officer files a dossier for a citizen at the counter."""

import pytest
from django.utils import timezone

from accounts.models import User
from notifications import sms
from notifications.models import Device, Notification, PushMessage
from services.models import ServiceRequest
from tests.accounts.helpers import register_code
from tests.conftest import client_for
from tests.services.workflow import FORM

pytestmark = pytest.mark.django_db

PHONE = "0912 345 678"
E164 = "+84912345678"


def file_for(officer, **overrides):
    body = {
        "service": "birth-registration",
        "administrative_unit": 2266,
        "form_data": FORM,
        "applicant_phone": PHONE,
        "applicant_name": "Lường Thị Xuân",
        "applicant_consent": True,
    }
    body.update(overrides)
    return client_for(officer).post("/api/v1/requests/", body, format="json")


def test_officer_files_for_a_new_citizen_who_gets_an_sms(
    world, officer_commune, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = file_for(officer_commune)
    assert response.status_code == 201, response.json()
    dossier = ServiceRequest.objects.get(pk=response.json()["id"])
    applicant = User.objects.get(phone=E164)
    assert (dossier.applicant, dossier.submitted_by) == (applicant, officer_commune)
    assert applicant.is_claimed is False
    assert not applicant.has_usable_password()
    assert applicant.full_name == "Lường Thị Xuân"
    # Nobody has proven they hold the phone yet: the phone hears of it by SMS, the account
    # neither sees it nor gets anything in the app until a code for the phone succeeds
    # (the claim, tests/accounts/test_claim.py).
    assert not Notification.objects.filter(user=applicant).exists()
    assert callbacks
    sent = sms.memory_outbox()
    assert [m.phone for m in sent] == [E164]
    assert dossier.tracking_code in sent[0].text
    assert client_for(officer_commune).get(f"/api/v1/requests/{dossier.pk}/").status_code == 200
    assert client_for(applicant).get(f"/api/v1/requests/{dossier.pk}/").status_code == 404
    assert client_for(applicant).get("/api/v1/requests/").json()["results"] == []


def test_a_verified_account_with_a_device_gets_a_push_not_an_sms(
    world, citizen_a, officer_commune, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=citizen_a.pk).update(phone_verified_at=timezone.now())
    Device.objects.create(user=citizen_a, token="t" * 40, platform="android")
    with django_capture_on_commit_callbacks(execute=True):
        response = file_for(officer_commune, applicant_phone=citizen_a.phone)
    assert response.status_code == 201
    dossier = ServiceRequest.objects.get()
    assert dossier.applicant == citizen_a
    assert sms.memory_outbox() == []
    assert PushMessage.objects.filter(device__user=citizen_a).count() == 1
    assert User.objects.filter(phone=citizen_a.phone).count() == 1
    assert client_for(citizen_a).get(f"/api/v1/requests/{dossier.pk}/").status_code == 200


def test_an_unverified_account_of_the_phone_gets_only_the_sms(
    world, citizen_a, officer_commune, django_capture_on_commit_callbacks
):
    # Whoever registered this number before codes existed may not be who holds the phone.
    Device.objects.create(user=citizen_a, token="t" * 40, platform="android")
    with django_capture_on_commit_callbacks(execute=True):
        response = file_for(officer_commune, applicant_phone=citizen_a.phone)
    assert response.status_code == 201
    dossier = ServiceRequest.objects.get()
    assert dossier.applicant == citizen_a
    assert [m.phone for m in sms.memory_outbox()] == [citizen_a.phone]
    assert not PushMessage.objects.exists()
    assert not Notification.objects.filter(user=citizen_a).exists()
    assert client_for(citizen_a).get(f"/api/v1/requests/{dossier.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"applicant_consent": False}, "applicant_consent"),
        ({"applicant_consent": None}, "applicant_consent"),
        ({"applicant_name": ""}, "applicant_name"),
        ({"applicant_phone": "12"}, "applicant_phone"),
    ],
)
def test_consent_name_and_phone_are_required(world, officer_commune, overrides, attr):
    response = file_for(officer_commune, **overrides)
    assert response.status_code == 400
    assert attr in {e["attr"] for e in response.json()["errors"]}
    assert not ServiceRequest.objects.exists()
    assert not User.objects.filter(phone=E164).exists()


def test_missing_consent_is_400(world, officer_commune):
    body = {"applicant_phone": PHONE, "applicant_name": "X"}
    response = client_for(officer_commune).post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM, **body},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "applicant_consent"


def test_only_staff_of_the_handling_agency_may_file(
    world, citizen_b, officer_other_province, manager_province
):
    assert file_for(citizen_b).status_code == 403
    assert file_for(officer_other_province).status_code == 403
    assert not ServiceRequest.objects.exists()
    assert not User.objects.filter(phone=E164).exists()
    # A manager above the commune office is in scope.
    assert file_for(manager_province).status_code == 201


def test_registering_an_unclaimed_phone_requires_a_claim(world, officer_commune):
    assert file_for(officer_commune).status_code == 201
    # A register code does reach the phone (nobody holds the account yet)…
    code = register_code(PHONE)
    response = client_for(officer_commune).post(
        "/api/v1/auth/register/",
        {"phone": PHONE, "password": "An0ther#Pass2026", "full_name": "Xuân", "otp": code},
        format="json",
    )
    # …but the account waits to be claimed, not registered over.
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "account_requires_claim"
