"""The staff second factor: TOTP enrolment in the admin, the admin closed without it, staff
API tokens without it acting as the citizen self, and the admin's sign-in lockout."""

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from services.models import ServiceRequest
from tests.accounts.helpers import assert_error
from tests.factories import PASSWORD
from tests.services.workflow import make_dossier

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_2FA_REQUIRED = True
    # django-otp slows a device down after a wrong code; these tests try codes back to back.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code(device: TOTPDevice, drift: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def admin_login(client: Client, user, token: str = "", address: str = "203.0.113.7"):
    body = {"username": user.phone, "password": PASSWORD, "otp_token": token}
    return client.post("/admin/login/?next=/admin/", body, REMOTE_ADDR=address)


# -- the admin ---------------------------------------------------------------------------------


def test_an_officer_without_a_second_factor_does_not_reach_the_admin(officer_commune):
    client = Client()
    client.force_login(officer_commune)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    # Signed in without an authenticator: sent to set one up, not to the admin.
    assert client.get(response["Location"])["Location"].endswith("/admin/two-factor/")
    assert client.get("/admin/services/servicerequest/").status_code == 302


def test_enrolment_gives_recovery_codes_and_opens_the_admin(officer_commune):
    client = Client()
    response = admin_login(client, officer_commune)
    assert response.status_code == 302 and response["Location"].endswith("/admin/two-factor/")
    page = client.get("/admin/two-factor/")
    assert page.status_code == 200
    assert b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user=officer_commune, confirmed=False)

    wrong = client.post("/admin/two-factor/", {"token": "000000"})
    assert wrong.status_code == 200 and not TOTPDevice.objects.get(pk=device.pk).confirmed
    done = client.post("/admin/two-factor/", {"token": code(device)})

    assert done.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/admin/").status_code == 200


def test_signing_in_to_the_admin_needs_the_code_or_a_recovery_code(officer_commune):
    device = enrolled(officer_commune)
    recovery = officer_commune.staticdevice_set.create(name="recovery", confirmed=True)
    StaticToken.objects.create(device=recovery, token="rescue01")

    without = Client()
    assert admin_login(without, officer_commune).status_code == 200
    assert without.get("/admin/").status_code == 302

    with_code = Client()
    assert admin_login(with_code, officer_commune, code(device)).status_code == 302
    assert with_code.get("/admin/").status_code == 200

    with_recovery = Client()
    assert admin_login(with_recovery, officer_commune, "rescue01").status_code == 302
    assert with_recovery.get("/admin/").status_code == 200
    # A recovery code serves once.
    assert admin_login(Client(), officer_commune, "rescue01").status_code == 200


def test_five_wrong_admin_passwords_lock_that_account_from_that_address(officer_commune):
    client = Client()
    for _ in range(5):
        client.post(
            "/admin/login/",
            {"username": officer_commune.phone, "password": "wrong"},
            REMOTE_ADDR="198.51.100.66",
        )

    locked = admin_login(Client(), officer_commune, address="198.51.100.66")
    elsewhere = admin_login(Client(), officer_commune, address="203.0.113.7")

    assert locked.status_code in (403, 429)
    assert elsewhere.status_code == 302
    # The API's login is not the admin's: it keeps its own rules.
    api = APIClient().post(
        TOKEN,
        {"phone": officer_commune.phone, "password": PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.66",
    )
    assert api.status_code == 200


# -- the API ---------------------------------------------------------------------------------------


def api_login(user, otp: str | None = None) -> APIClient:
    api = APIClient()
    body = {"phone": user.phone, "password": PASSWORD, **({"otp": otp} if otp else {})}
    response = api.post(TOKEN, body, format="json")
    assert response.status_code == 200, response.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    api.refresh_token = response.json()["refresh"]  # type: ignore[attr-defined]
    return api


def test_a_staff_token_without_the_second_factor_is_a_citizen_token(
    world, officer_commune, citizen_a
):
    enrolled(officer_commune)
    dossier = make_dossier(world, citizen_a)
    mine = make_dossier(world, officer_commune)
    api = api_login(officer_commune)

    transition = api.post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )

    assert_error(transition, 403, "second_factor_required")
    assert ServiceRequest.objects.get(pk=dossier.pk).status == "submitted"
    # Their own dossier as a citizen: fine. Their agency's queue: not in the list.
    listed = [row["id"] for row in api.get("/api/v1/requests/").json()["results"]]
    assert listed == [str(mine.pk)]
    assert api.get(f"/api/v1/requests/{dossier.pk}/").status_code == 404
    assisted = api.post(
        "/api/v1/requests/",
        {
            "service": world["service"].code,
            "administrative_unit": 2266,
            "form_data": {"child": {"full_name": "A", "birth_date": "2026-11-01"}},
            "assisted": True,
            "applicant_phone": "0912 345 678",
            "applicant_name": "Lò Thị Xuân",
            "applicant_consent": True,
        },
        format="json",
    )
    assert_error(assisted, 403, "second_factor_required")


def test_a_staff_token_with_the_second_factor_acts_as_staff_and_keeps_it(
    world, officer_commune, citizen_a
):
    device = enrolled(officer_commune)
    dossier = make_dossier(world, citizen_a)

    wrong = APIClient().post(
        TOKEN, {"phone": officer_commune.phone, "password": PASSWORD, "otp": "000000"}
    )
    assert_error(wrong, 401, "invalid_second_factor")
    api = api_login(officer_commune, code(device))

    received = api.post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )
    assert received.status_code == 200, received.content
    # A renewed pair still carries the second factor.
    renewed = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": api.refresh_token}, format="json"
    )
    again = APIClient()
    again.credentials(HTTP_AUTHORIZATION=f"Bearer {renewed.json()['access']}")
    start = again.post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "start"}, format="json"
    )
    assert start.status_code == 200, start.content


def test_without_the_requirement_staff_tokens_work_as_before(settings, world, officer_commune):
    settings.STAFF_2FA_REQUIRED = False
    dossier = make_dossier(world, officer_commune)
    api = api_login(officer_commune)
    assert api.get(f"/api/v1/requests/{dossier.pk}/").status_code == 200
