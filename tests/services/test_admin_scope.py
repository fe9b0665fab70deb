"""The admin shows staff the dossiers the API lets them act on, by the same selector."""

import pytest
from django.contrib.auth.models import Permission

from services import actions, selectors
from services.models import ServiceRequest
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
CHANGELIST = "/admin/services/servicerequest/"


def submit(user, commune):
    response = client_for(user).post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": commune, "form_data": FORM},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return ServiceRequest.objects.get(pk=response.json()["id"])


@pytest.fixture
def dossiers(world, citizen_a, citizen_b, officer_commune):
    return {
        "lam_binh": submit(citizen_a, 2266),  # UBND xã Lâm Bình
        "tq_board": submit(citizen_a, 2269),  # no commune office: Sở Nội vụ Tuyên Quang
        "muong_phang": submit(citizen_b, 3325),  # UBND xã Mường Phăng, another province
        # The officer's own dossier as a citizen, handled by the provincial board.
        "officers_own": submit(officer_commune, 2269),
    }


def admin_client(client, user):
    user.user_permissions.add(
        Permission.objects.get(codename="view_servicerequest", content_type__app_label="services")
    )
    client.force_login(user)
    return client


def changelist_ids(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    return {dossier.pk for dossier in response.context["cl"].result_list}


def test_an_officer_sees_only_their_agencys_dossiers(client, dossiers, officer_commune):
    admin = admin_client(client, officer_commune)
    assert changelist_ids(admin) == {dossiers["lam_binh"].pk}


def test_a_foreign_dossiers_change_url_finds_nothing(client, dossiers, officer_commune):
    admin = admin_client(client, officer_commune)
    for name in ("muong_phang", "tq_board", "officers_own"):
        response = admin.get(f"{CHANGELIST}{dossiers[name].pk}/change/")
        assert response.status_code in (302, 404), name
        if response.status_code == 302:
            assert response["Location"] == "/admin/"
        assert dossiers[name].tracking_code not in response.content.decode()
    assert admin.get(f"{CHANGELIST}{dossiers['lam_binh'].pk}/change/").status_code == 200


def test_a_provincial_manager_sees_the_province(client, dossiers, manager_province):
    admin = admin_client(client, manager_province)
    assert changelist_ids(admin) == {
        dossiers["lam_binh"].pk,
        dossiers["tq_board"].pk,
        dossiers["officers_own"].pk,
    }


def test_a_superuser_sees_everything(client, dossiers, superuser):
    client.force_login(superuser)
    assert changelist_ids(client) == {d.pk for d in dossiers.values()}


def test_a_citizen_has_no_admin(client, dossiers, citizen_a):
    client.force_login(citizen_a)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "persona",
    ["citizen_a", "officer_commune", "manager_province", "officer_other_province", "superuser"],
)
def test_the_selectors_agree_with_the_action_rules(request, dossiers, persona):
    """Actionable = those where a staff action may be allowed; visible = own + actionable."""
    user = request.getfixturevalue(persona)
    actionable = set(selectors.requests_actionable_by(user).values_list("pk", flat=True))
    visible = set(selectors.requests_visible_to(user).values_list("pk", flat=True))
    own = set(ServiceRequest.objects.filter(applicant=user).values_list("pk", flat=True))

    assert visible == own | actionable
    for dossier in ServiceRequest.objects.all():
        may_receive = "receive" in actions.allowed_actions(user, dossier)
        assert may_receive == (dossier.pk in actionable), (persona, dossier.agency.code)


def test_the_api_list_of_an_officer_matches_the_admin(client, dossiers, officer_commune):
    api_ids = {
        item["id"]
        for item in client_for(officer_commune).get("/api/v1/requests/").json()["results"]
    }
    admin_ids = {str(pk) for pk in changelist_ids(admin_client(client, officer_commune))}
    # The API adds the officer's own dossier as a citizen; the staff UI does not.
    assert api_ids == admin_ids | {str(dossiers["officers_own"].pk)}
