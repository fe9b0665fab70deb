"""The ethnic group: reference list, consent, encryption at rest, key rotation, owner only."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from common.crypto import UndecryptableValue
from common.models import AuditLogEntry
from services.actions import submit_request
from tests.accounts.helpers import assert_error
from tests.conftest import client_for
from tests.feedback.helpers import make_feedback

ME = "/api/v1/me/"
CONSENTS = "/api/v1/me/consents/"
GROUPS = "/api/v1/ethnic-groups/"
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ethnic_groups(db):
    """The 54 groups as their migration loads them (a transactional test elsewhere may have
    flushed the table)."""
    from importlib import import_module

    from django.apps import apps

    import_module("accounts.migrations.0009_ethnic_groups").load(apps, None)


def give_consent(client, purpose="ethnic_group"):
    response = client.post(
        CONSENTS, {"purpose": purpose, "text_version": "v1", "given": True}, format="json"
    )
    assert response.status_code == 201, response.content


def raw_column(user) -> str:
    with connection.cursor() as cursor:
        # The id as the database stores it (a uuid on PostgreSQL, 32 hex digits on SQLite).
        key = User._meta.pk.get_db_prep_value(user.pk, connection)
        cursor.execute("SELECT ethnic_group FROM accounts_user WHERE id = %s", [key])
        return cursor.fetchone()[0]


def with_group(user, code="08"):
    client = client_for(user)
    give_consent(client)
    response = client.patch(ME, {"ethnic_group": code}, format="json")
    assert response.status_code == 200, response.content
    return client


def test_anyone_lists_the_54_groups_in_the_official_order(api):
    # A stale token must not turn reference data into a 401.
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api.get(GROUPS)

    assert response.status_code == 200
    groups = response.json()
    assert [g["code"] for g in groups] == [f"{n:02d}" for n in range(1, 55)]
    assert groups[0] == {"code": "01", "name": "Kinh", "other_names": ["Việt"]}
    assert groups[7]["name"] == "Mông" and "H'Mông" in groups[7]["other_names"]
    assert groups[53]["name"] == "Ơ Đu"
    assert "public" in response["Cache-Control"] and "max-age=86400" in response["Cache-Control"]
    again = api.get(GROUPS, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_storing_an_ethnic_group_needs_the_consent(citizen_a):
    client = client_for(citizen_a)

    response = client.patch(ME, {"ethnic_group": "08", "full_name": "Khác"}, format="json")

    assert_error(response, 409, "consent_required")
    citizen_a.refresh_from_db()
    # Nothing of the request was kept.
    assert (citizen_a.ethnic_group, citizen_a.full_name) == ("", "Hoàng Thị Mai")
    assert client.get(ME).json()["ethnic_group"] is None


def test_with_consent_the_owner_sets_and_reads_it(citizen_a):
    client = with_group(citizen_a, "08")

    assert client.get(ME).json()["ethnic_group"] == "08"
    entry = AuditLogEntry.objects.get(action="update_profile", actor=citizen_a)
    # The log names the field, never its value.
    assert entry.details == {"fields": ["ethnic_group"]}


def test_the_column_is_unreadable_without_the_key(citizen_a):
    with_group(citizen_a, "08")

    stored = raw_column(citizen_a)

    assert stored and stored.startswith("gAAAA")  # a Fernet token
    for readable in ("08", "Mông", "Mong", "H'Mông"):
        assert readable not in stored
    other = with_group(User.objects.create_user("+84900000077", "pass-word-77", full_name="B"))
    assert other  # equal values do not give equal tokens
    assert raw_column(User.objects.get(phone="+84900000077")) != stored


@pytest.mark.parametrize(
    ("value", "code"),
    [("99", "does_not_exist"), ("8", "invalid"), (8, "invalid"), ("ab", "invalid")],
)
def test_bad_codes_are_400(citizen_a, value, code):
    client = client_for(citizen_a)
    give_consent(client)

    response = client.patch(ME, {"ethnic_group": value}, format="json")

    assert_error(response, 400, code, "ethnic_group")


def test_null_clears_it(citizen_a):
    client = with_group(citizen_a)

    assert client.patch(ME, {"ethnic_group": None}, format="json").json()["ethnic_group"] is None
    assert raw_column(citizen_a) == ""


def test_withdrawing_the_consent_erases_it(citizen_a):
    client = with_group(citizen_a)

    client.post(
        CONSENTS,
        {"purpose": "ethnic_group", "given": False, "text_version": "2026-01"},
        format="json",
    )

    assert client.get(ME).json()["ethnic_group"] is None
    assert raw_column(citizen_a) == ""


def test_staff_answers_never_carry_it(world, citizen_a, officer_commune, superuser):
    with_group(citizen_a, "08")
    dossier, _ = submit_request(
        applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    item = make_feedback(world, citizen_a)
    staff = client_for(officer_commune)

    answers = [
        staff.get("/api/v1/requests/"),
        staff.get(f"/api/v1/requests/{dossier.pk}/"),
        staff.get("/api/v1/feedback/"),
        staff.get(f"/api/v1/feedback/{item.pk}/"),
        staff.get(f"/api/v1/requests/{dossier.pk}/receipt/"),
    ]
    admin = client_for(superuser)
    admin.force_login(superuser)
    answers += [
        admin.get("/admin/accounts/user/"),
        admin.get(f"/admin/accounts/user/{citizen_a.pk}/change/"),
        admin.get(f"/admin/services/servicerequest/{dossier.pk}/change/"),
    ]

    for response in answers:
        assert response.status_code == 200, (response.status_code, response.content[:300])
        assert b"ethnic" not in response.content
        assert "Mông".encode() not in response.content
        assert raw_column(citizen_a).encode() not in response.content


def test_rotation_re_encrypts_with_the_first_key(settings, citizen_a):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    with_group(citizen_a, "12")
    before = raw_column(citizen_a)
    new = Fernet.generate_key().decode()

    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(UndecryptableValue):
        User.objects.get(pk=citizen_a.pk)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)

    assert "accounts.User.ethnic_group: 1 re-encrypted" in out.getvalue()

    assert raw_column(citizen_a) != before
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert User.objects.get(pk=citizen_a.pk).ethnic_group == "12"
