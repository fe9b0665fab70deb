"""The agency tree, memberships, staff accounts and calendar overrides in the staff admin,
as agency admins, managers, officers and superusers see them."""

import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from agencies.actions import change_membership, grant_membership, revoke_membership
from agencies.admin import StaffMembershipAdmin
from agencies.models import Agency, CalendarOverride, StaffMembership
from common.exceptions import NotAllowed
from common.models import AuditLogEntry
from tests import factories as f

MEMBERSHIPS = "/admin/agencies/staffmembership/"
AGENCIES = "/admin/agencies/agency/"
USERS = "/admin/accounts/user/"


def _staff(phone, agency, role, name="Cán bộ"):
    user = f.UserFactory(phone=phone, full_name=name, is_staff=True)
    StaffMembership.objects.create(user=user, agency=agency, role=role)
    return user


@pytest.fixture
def admin_province(world):
    """Administrator of the Tuyên Quang board (and so of Lâm Bình's office below it)."""
    return _staff("+84900000401", world["tq_board"], "admin", "Lý Thị Quản")


@pytest.fixture
def admin_commune(world):
    return _staff("+84900000402", world["lam_binh_office"], "admin", "Sầm Văn Xã")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _membership(user, agency):
    return StaffMembership.objects.get(user=user, agency=agency)


def _agency_data(agency, **changes):
    data = {
        "code": agency.code,
        "name": agency.name,
        "level": agency.level,
        "parent": agency.parent_id or "",
        "administrative_unit": agency.administrative_unit_id or "",
        "address": agency.address,
        "phone": agency.phone,
        "opening_hours": agency.opening_hours,
        "is_active": "on" if agency.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# -- scope ----------------------------------------------------------------------------------


def test_province_admin_sees_only_their_subtree(
    world, admin_province, officer_commune, manager_province, officer_other_province
):
    client = _client(admin_province)

    agencies = client.get(AGENCIES)
    memberships = client.get(MEMBERSHIPS)
    users = client.get(USERS)

    assert agencies.status_code == memberships.status_code == users.status_code == 200
    assert set(agencies.context["cl"].result_list) == {
        world["tq_board"],
        world["lam_binh_office"],
    }
    assert {m.user for m in memberships.context["cl"].result_list} == {
        admin_province,
        officer_commune,
        manager_province,
    }
    assert set(users.context["cl"].result_list) == {
        admin_province,
        officer_commune,
        manager_province,
    }
    # Where staff live is not shown to their agency admin.
    assert "administrative_unit" not in users.context["cl"].list_display
    page = agencies.content.decode() + memberships.content.decode()
    for foreign in ("db_board", "muong_phang_office", "ministry"):
        assert f"{AGENCIES}{world[foreign].pk}/change/" not in page
    assert "Mường Phăng" not in page


def test_foreign_objects_are_not_found_for_a_province_admin(
    world, admin_province, officer_other_province, citizen_a
):
    client = _client(admin_province)
    foreign_membership = _membership(officer_other_province, world["muong_phang_office"])

    for url in (
        f"{AGENCIES}{world['db_board'].pk}/change/",
        f"{MEMBERSHIPS}{foreign_membership.pk}/change/",
        f"{USERS}{officer_other_province.pk}/change/",
        f"{USERS}{citizen_a.pk}/change/",
    ):
        response = client.get(url)
        # The admin answers an object outside the queryset with a redirect to its index.
        assert response.status_code == 302, url
        assert response["Location"] == "/admin/", url


def test_the_own_top_agency_shows_its_parent_as_text_and_keeps_it(world, admin_province):
    client = _client(admin_province)
    tq_board = world["tq_board"]

    page = client.get(f"{AGENCIES}{tq_board.pk}/change/")
    assert page.status_code == 200
    assert f"{AGENCIES}{world['ministry'].pk}/change/" not in page.content.decode()
    assert "parent" not in page.context["adminform"].form.fields
    assert "is_active" not in page.context["adminform"].form.fields

    response = client.post(
        f"{AGENCIES}{tq_board.pk}/change/",
        _agency_data(tq_board, parent=world["db_board"].pk, phone="0207 3822 222", is_active=""),
    )

    assert response.status_code == 302
    tq_board.refresh_from_db()
    assert tq_board.phone == "0207 3822 222"
    assert tq_board.parent_id == world["ministry"].pk
    assert tq_board.is_active
    entry = AuditLogEntry.objects.get(action="agency_changed")
    assert entry.details == {"fields": ["phone"]}
    assert entry.agency_id == tq_board.pk


# -- agencies -------------------------------------------------------------------------------


def test_parent_choices_and_autocomplete_are_limited_to_the_subtree(
    world, admin_province, manager_province
):
    client = _client(admin_province)

    page = client.get(f"{AGENCIES}add/")
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "agencies", "model_name": "agency", "field_name": "parent", "term": ""},
    )
    for_membership = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "agencies",
            "model_name": "staffmembership",
            "field_name": "agency",
            "term": "",
        },
    )
    units = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "agencies",
            "model_name": "agency",
            "field_name": "administrative_unit",
            "term": "",
        },
    )
    as_manager = _client(manager_province).get(
        "/admin/autocomplete/",
        {"app_label": "agencies", "model_name": "agency", "field_name": "parent", "term": ""},
    )

    subtree = {str(world["tq_board"].pk), str(world["lam_binh_office"].pk)}
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields["parent"].queryset) == {
        world["tq_board"],
        world["lam_binh_office"],
    }
    assert {r["id"] for r in json.loads(found.content)["results"]} == subtree
    assert {r["id"] for r in json.loads(for_membership.content)["results"]} == subtree
    assert {r["text"] for r in json.loads(units.content)["results"]} == {
        "Tuyên Quang",
        "Xã Lâm Bình",
        "Xã Thượng Lâm",
    }
    assert json.loads(as_manager.content)["results"] == []


def test_admin_adds_an_office_under_their_board(world, admin_province):
    response = _client(admin_province).post(
        f"{AGENCIES}add/",
        {
            "code": "thuong-lam",
            "name": "UBND  xã Thượng Lâm",
            "level": "commune",
            "parent": world["tq_board"].pk,
            "administrative_unit": world["thuong_lam"].pk,
            "address": "",
            "phone": "",
            "opening_hours": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    office = Agency.objects.get(code="thuong-lam")
    assert office.name == "UBND xã Thượng Lâm"
    assert office.parent_id == world["tq_board"].pk
    assert office.path == f"{world['tq_board'].path}{office.id.hex}/"
    entry = AuditLogEntry.objects.get(action="agency_created")
    assert entry.actor == admin_province
    assert entry.object_id == str(office.pk)


@pytest.mark.parametrize("parent", ["", "db_board", "ministry"])
def test_admin_cannot_add_a_root_or_an_agency_elsewhere(world, admin_province, parent):
    response = _client(admin_province).post(
        f"{AGENCIES}add/",
        {
            "code": "rogue",
            "name": "Cơ quan lạ",
            "level": "commune",
            "parent": world[parent].pk if parent else "",
            "administrative_unit": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Agency.objects.filter(code="rogue").exists()


def test_admin_cannot_give_a_new_agency_a_unit_outside_their_area(world, admin_province):
    response = _client(admin_province).post(
        f"{AGENCIES}add/",
        {
            "code": "rogue",
            "name": "Cơ quan lạ",
            "level": "commune",
            "parent": world["tq_board"].pk,
            "administrative_unit": world["muong_phang"].pk,
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "administrative_unit" in response.context["adminform"].form.errors
    assert not Agency.objects.filter(code="rogue").exists()


def test_admin_moves_and_deactivates_within_the_subtree_but_not_outside(world, admin_province):
    client = _client(admin_province)
    thuong_lam = f.AgencyFactory(code="thuong-lam", parent=world["tq_board"])
    office = world["lam_binh_office"]

    outside = client.post(
        f"{AGENCIES}{office.pk}/change/", _agency_data(office, parent=world["db_board"].pk)
    )
    assert outside.status_code == 200
    assert "parent" in outside.context["adminform"].form.errors

    moved = client.post(
        f"{AGENCIES}{office.pk}/change/",
        _agency_data(office, parent=thuong_lam.pk, is_active="", code="forged"),
    )

    assert moved.status_code == 302
    office.refresh_from_db()
    assert office.parent_id == thuong_lam.pk
    assert office.path == f"{thuong_lam.path}{office.id.hex}/"
    assert not office.is_active
    # The code is read-only for agency admins: the forged value is ignored.
    assert office.code == "lam-binh"
    details = AuditLogEntry.objects.get(action="agency_changed").details
    assert details["fields"] == ["is_active", "parent"]
    assert details["to_parent"] == str(thuong_lam.pk)


def test_officer_and_manager_read_agencies_but_cannot_change_them(
    world, officer_commune, manager_province
):
    office = world["lam_binh_office"]
    for user in (officer_commune, manager_province):
        client = _client(user)
        page = client.get(f"{AGENCIES}{office.pk}/change/")
        assert page.status_code == 200
        assert not page.context["has_change_permission"]
        assert (
            client.post(
                f"{AGENCIES}{office.pk}/change/", _agency_data(office, phone="0999")
            ).status_code
            == 403
        )
        assert client.get(f"{AGENCIES}add/").status_code == 403
    office.refresh_from_db()
    assert office.phone == "0207 3851 001"


# -- memberships ----------------------------------------------------------------------------


def test_admin_grants_an_officer_in_a_commune_office_by_phone(world, admin_province, citizen_a):
    client = _client(admin_province)
    form = client.get(f"{MEMBERSHIPS}add/").context["adminform"].form
    assert list(form.fields) == ["phone", "agency", "role"]

    response = client.post(
        f"{MEMBERSHIPS}add/",
        {"phone": "0900 000 001", "agency": world["lam_binh_office"].pk, "role": "officer"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    membership = _membership(citizen_a, world["lam_binh_office"])
    assert membership.role == "officer"
    citizen_a.refresh_from_db()
    assert citizen_a.is_staff
    entry = AuditLogEntry.objects.get(action="membership_granted")
    assert entry.actor == admin_province
    assert entry.object_id == str(membership.pk)
    assert entry.agency_id == world["lam_binh_office"].pk
    assert entry.details == {"user": str(citizen_a.pk), "role": "officer"}


@pytest.mark.parametrize(
    ("phone", "agency", "role", "field"),
    [
        ("0900 000 001", "lam_binh_office", "superuser", "role"),
        ("0900 000 001", "muong_phang_office", "officer", "agency"),
        ("0900 999 999", "lam_binh_office", "officer", "phone"),
        ("12", "lam_binh_office", "officer", "phone"),
    ],
)
def test_a_forged_or_unknown_grant_is_a_form_error_and_saves_nothing(
    world, admin_province, citizen_a, phone, agency, role, field
):
    response = _client(admin_province).post(
        f"{MEMBERSHIPS}add/", {"phone": phone, "agency": world[agency].pk, "role": role}
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not StaffMembership.objects.filter(user=citizen_a).exists()
    citizen_a.refresh_from_db()
    assert not citizen_a.is_staff
    assert not AuditLogEntry.objects.exists()


def test_a_second_membership_at_the_same_agency_is_refused(world, admin_province, officer_commune):
    response = _client(admin_province).post(
        f"{MEMBERSHIPS}add/",
        {"phone": officer_commune.phone, "agency": world["lam_binh_office"].pk, "role": "manager"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert _membership(officer_commune, world["lam_binh_office"]).role == "officer"


def test_role_choices_stop_at_the_granters_rank(rf, manager_province, admin_province):
    model_admin = StaffMembershipAdmin(StaffMembership, admin.site)
    shown = {}
    for user in (manager_province, admin_province):
        request = rf.get("/admin/")
        request.user = user
        form = model_admin.get_form(request, None, change=False)
        shown[user.phone] = [value for value, _label in form.base_fields["role"].choices]

    assert shown[manager_province.phone] == ["", "officer", "manager"]
    assert shown[admin_province.phone] == ["", "officer", "manager", "admin"]


def test_admin_cannot_touch_their_own_membership(world, admin_province):
    client = _client(admin_province)
    own = _membership(admin_province, world["tq_board"])

    page = client.get(f"{MEMBERSHIPS}{own.pk}/change/")
    changed = client.post(f"{MEMBERSHIPS}{own.pk}/change/", {"role": "officer"})
    deleted = client.post(f"{MEMBERSHIPS}{own.pk}/delete/", {"post": "yes"})
    granted = client.post(
        f"{MEMBERSHIPS}add/",
        {"phone": admin_province.phone, "agency": world["lam_binh_office"].pk, "role": "admin"},
    )

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert changed.status_code == deleted.status_code == 403
    assert granted.status_code == 200
    assert granted.context["adminform"].form.non_field_errors()
    own.refresh_from_db()
    assert own.role == "admin"
    assert StaffMembership.objects.filter(user=admin_province).count() == 1


def test_a_commune_admin_cannot_reach_the_memberships_above_them(
    world, admin_commune, manager_province, officer_commune
):
    client = _client(admin_commune)
    above = _membership(manager_province, world["tq_board"])

    listed = client.get(MEMBERSHIPS)
    changed = client.post(f"{MEMBERSHIPS}{above.pk}/change/", {"role": "officer"})
    deleted = client.post(f"{MEMBERSHIPS}{above.pk}/delete/", {"post": "yes"})

    assert {m.user for m in listed.context["cl"].result_list} == {admin_commune, officer_commune}
    assert changed.status_code == deleted.status_code == 302
    above.refresh_from_db()
    assert above.role == "manager"


def test_no_one_below_admin_rank_manages_memberships(world, manager_province, officer_commune):
    membership = _membership(officer_commune, world["lam_binh_office"])
    with pytest.raises(NotAllowed):
        change_membership(manager_province, membership, role="manager")
    with pytest.raises(NotAllowed):
        revoke_membership(manager_province, membership)
    with pytest.raises(NotAllowed):
        grant_membership(
            manager_province, user=officer_commune, agency=world["tq_board"], role="officer"
        )
    membership.refresh_from_db()
    assert membership.role == "officer"


def test_a_commune_admin_cannot_change_a_sibling_offices_admin(world, admin_commune):
    other = f.AgencyFactory(code="thuong-lam", parent=world["tq_board"])
    higher = _staff("+84900000403", other, "admin")
    with pytest.raises(NotAllowed):
        change_membership(admin_commune, _membership(higher, other), role="officer")


@pytest.mark.parametrize("user_fixture", ["officer_commune", "manager_province"])
def test_officer_and_manager_cannot_reach_the_membership_pages(
    request, world, user_fixture, officer_commune
):
    client = _client(request.getfixturevalue(user_fixture))
    membership = _membership(officer_commune, world["lam_binh_office"])

    for url in (
        MEMBERSHIPS,
        f"{MEMBERSHIPS}add/",
        f"{MEMBERSHIPS}{membership.pk}/change/",
        f"{MEMBERSHIPS}{membership.pk}/delete/",
        USERS,
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"{MEMBERSHIPS}{membership.pk}/change/", {"role": "admin"}).status_code == 403
    )


def test_admin_changes_a_role_with_an_audit_entry(world, admin_province, officer_commune):
    membership = _membership(officer_commune, world["lam_binh_office"])

    response = _client(admin_province).post(
        f"{MEMBERSHIPS}{membership.pk}/change/", {"role": "manager"}
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "manager"
    entry = AuditLogEntry.objects.get(action="membership_changed")
    assert entry.details == {
        "user": str(officer_commune.pk),
        "from_role": "officer",
        "to_role": "manager",
    }


def test_revoking_the_last_membership_clears_the_staff_flag(world, admin_province, officer_commune):
    client = _client(admin_province)
    second = StaffMembership.objects.create(
        user=officer_commune, agency=world["tq_board"], role="officer"
    )
    first = _membership(officer_commune, world["lam_binh_office"])

    assert client.post(f"{MEMBERSHIPS}{second.pk}/delete/", {"post": "yes"}).status_code == 302
    officer_commune.refresh_from_db()
    assert officer_commune.is_staff

    assert client.post(f"{MEMBERSHIPS}{first.pk}/delete/", {"post": "yes"}).status_code == 302
    officer_commune.refresh_from_db()
    assert not officer_commune.is_staff
    assert not StaffMembership.objects.filter(user=officer_commune).exists()
    revoked = AuditLogEntry.objects.filter(action="membership_revoked")
    assert sorted(revoked.values_list("object_id", flat=True)) == sorted(
        [str(first.pk), str(second.pk)]
    )
    # No bulk delete: it would bypass the checks, the audit and the staff flag.
    assert 'value="delete_selected"' not in client.get(MEMBERSHIPS).content.decode()


def test_revoking_keeps_a_superuser_staff(world, superuser):
    membership = StaffMembership.objects.create(
        user=superuser, agency=world["tq_board"], role="admin"
    )

    revoke_membership(superuser, membership)

    superuser.refresh_from_db()
    assert superuser.is_staff


# -- accounts -------------------------------------------------------------------------------


def test_a_province_admin_reads_staff_accounts_without_permission_fields(
    world, admin_province, officer_commune
):
    client = _client(admin_province)

    page = client.get(f"{USERS}{officer_commune.pk}/change/")
    saved = client.post(
        f"{USERS}{officer_commune.pk}/change/",
        {"phone": officer_commune.phone, "full_name": "Đổi tên", "is_superuser": "on"},
    )

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    html = page.content.decode()
    for hidden in ("is_superuser", "user_permissions", "groups", "password"):
        assert f'name="{hidden}"' not in html
    assert "UBND xã Lâm Bình" in html
    assert saved.status_code == 403
    officer_commune.refresh_from_db()
    assert officer_commune.full_name == "Nông Văn Sáu"
    assert not officer_commune.is_superuser
    assert client.get(f"{USERS}add/").status_code == 403
    assert client.get(f"{USERS}{officer_commune.pk}/password/").status_code == 403


# -- calendar overrides ---------------------------------------------------------------------


def test_calendar_overrides_are_read_by_staff_and_written_with_the_model_permission(
    world, officer_commune, superuser
):
    officer = _client(officer_commune)
    data = {"date": "2026-05-02", "is_working_day": "on", "note": "Làm bù"}

    assert officer.get("/admin/agencies/calendaroverride/").status_code == 200
    assert officer.post("/admin/agencies/calendaroverride/add/", data).status_code == 403
    assert not CalendarOverride.objects.exists()

    planner = f.UserFactory(phone="+84900000501", is_staff=True)
    planner.user_permissions.add(
        Permission.objects.get(codename="add_calendaroverride"),
        Permission.objects.get(codename="view_calendaroverride"),
    )
    response = _client(planner).post("/admin/agencies/calendaroverride/add/", data)

    assert response.status_code == 302
    assert CalendarOverride.objects.get().is_working_day
    assert _client(superuser).get("/admin/agencies/calendaroverride/").status_code == 200


# -- query counts ---------------------------------------------------------------------------


def _measure(client, url):
    """(queries, rows) of one changelist page."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), len(response.context["cl"].result_list)


def test_changelist_queries_do_not_grow_with_rows(world):
    # A fresh board: one agency, one membership and one account in the admin's subtree.
    board = f.AgencyFactory(code="new-board", level="province", parent=world["ministry"])
    client = _client(_staff("+84900000404", board, "admin"))
    pages = (AGENCIES, MEMBERSHIPS, USERS)
    few = {url: _measure(client, url) for url in pages}

    for n in range(19):
        office = f.AgencyFactory(
            code=f"office-{n}", parent=board, administrative_unit=world["lam_binh"]
        )
        f.MembershipFactory(agency=office, user__phone=f"+8491{n:07d}")
    many = {url: _measure(client, url) for url in pages}

    assert {url: rows for url, (_queries, rows) in few.items()} == dict.fromkeys(pages, 1)
    assert {url: rows for url, (_queries, rows) in many.items()} == dict.fromkeys(pages, 20)
    assert {url: queries for url, (queries, _rows) in many.items()} == {
        url: queries for url, (queries, _rows) in few.items()
    }


def test_unknown_users_never_appear_in_the_account_search(world, admin_province, citizen_a):
    response = _client(admin_province).get(USERS, {"q": "0900 000 001"})

    assert list(response.context["cl"].result_list) == []
    assert User.objects.filter(pk=citizen_a.pk).exists()
