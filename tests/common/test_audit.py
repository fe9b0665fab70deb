"""The audit log: every dossier transition, staff reads of personal data, profile changes."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from common import audit
from common.models import AuditLogEntry
from services.models import ServiceRequest
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
DOSSIER_TYPE = "services.servicerequest"


def submit(user):
    response = client_for(user).post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return ServiceRequest.objects.get(pk=response.json()["id"])


def transition(user, dossier, action, **body):
    return client_for(user).post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": action, **body}, format="json"
    )


def entries(dossier, **filters):
    return list(
        AuditLogEntry.objects.filter(
            object_type=DOSSIER_TYPE, object_id=str(dossier.pk), **filters
        ).order_by("id")
    )


def test_every_transition_is_logged_with_actor_states_and_agency(world, citizen_a, officer_commune):
    dossier = submit(citizen_a)
    steps = [
        ("receive", {}),
        ("comment", {"note": "Đã kiểm tra giấy tờ", "internal": True}),
        ("start", {}),
        ("approve", {"result": "Giấy khai sinh số 12"}),
        ("return_result", {}),
    ]
    for action, body in steps:
        assert transition(officer_commune, dossier, action, **body).status_code == 200, action

    logged = [
        (e.action, e.actor_id, e.details["from_status"], e.details["to_status"])
        for e in entries(dossier)
    ]
    assert logged == [
        ("submit", citizen_a.pk, "", "submitted"),
        ("receive", officer_commune.pk, "submitted", "received"),
        ("comment", officer_commune.pk, "received", "received"),
        ("start", officer_commune.pk, "received", "in_progress"),
        ("approve", officer_commune.pk, "in_progress", "result_ready"),
        ("return_result", officer_commune.pk, "result_ready", "completed"),
    ]
    assert {e.agency_id for e in entries(dossier)} == {world["lam_binh_office"].pk}
    # Notes may hold personal data; the log keeps states only.
    assert all(set(e.details) == {"from_status", "to_status"} for e in entries(dossier))


def test_reject_and_cancel_are_logged(world, citizen_a, officer_commune):
    rejected, cancelled = submit(citizen_a), submit(citizen_a)
    assert transition(officer_commune, rejected, "reject", reason="Thiếu giấy").status_code == 200
    assert transition(citizen_a, cancelled, "cancel").status_code == 200

    [reject] = entries(rejected, action="reject")
    assert (reject.actor_id, reject.details["to_status"]) == (officer_commune.pk, "rejected")
    [cancel] = entries(cancelled, action="cancel")
    assert (cancel.actor_id, cancel.details["to_status"]) == (citizen_a.pk, "cancelled")


def test_a_refused_transition_leaves_no_entry(world, citizen_a, officer_commune):
    dossier = submit(citizen_a)
    assert transition(citizen_a, dossier, "receive").status_code == 403
    assert transition(officer_commune, dossier, "start").status_code == 409
    assert [e.action for e in entries(dossier)] == ["submit"]


def test_staff_reads_of_a_dossier_are_logged(
    world, citizen_a, officer_commune, manager_province, superuser
):
    dossier = submit(citizen_a)
    for reader in (officer_commune, manager_province, superuser):
        response = client_for(reader).get(f"/api/v1/requests/{dossier.pk}/")
        assert response.status_code == 200

    reads = entries(dossier, action="view_personal_data")
    assert [e.actor_id for e in reads] == [officer_commune.pk, manager_province.pk, superuser.pk]
    assert all(e.agency_id == world["lam_binh_office"].pk for e in reads)


def test_the_applicants_own_reads_are_not_logged(world, citizen_a):
    dossier = submit(citizen_a)
    client = client_for(citizen_a)
    assert client.get(f"/api/v1/requests/{dossier.pk}/").status_code == 200
    assert client.get("/api/v1/requests/").status_code == 200
    assert not entries(dossier, action="view_personal_data")


def test_a_staff_member_reading_their_own_dossier_is_not_logged(world, officer_commune):
    dossier = submit(officer_commune)  # an officer is also a citizen of Lâm Bình
    assert client_for(officer_commune).get(f"/api/v1/requests/{dossier.pk}/").status_code == 200
    assert not entries(dossier, action="view_personal_data")


def test_a_foreign_read_is_404_and_not_logged(world, citizen_a, citizen_b, officer_other_province):
    dossier = submit(citizen_a)
    for outsider in (citizen_b, officer_other_province):
        assert client_for(outsider).get(f"/api/v1/requests/{dossier.pk}/").status_code == 404
    assert not entries(dossier, action="view_personal_data")


def test_staff_reads_in_the_admin_are_logged(world, citizen_a, officer_commune, client):
    dossier = submit(citizen_a)
    officer_commune.user_permissions.add(
        Permission.objects.get(codename="view_servicerequest", content_type__app_label="services")
    )
    client.force_login(officer_commune)

    assert client.get("/admin/services/servicerequest/").status_code == 200
    # The queue shows the applicant's name: a list read.
    [listed] = entries(dossier, action="view_personal_data")
    assert listed.details == {"list": "admin"}
    response = client.get(f"/admin/services/servicerequest/{dossier.pk}/change/")
    assert response.status_code == 200
    [read] = [e for e in entries(dossier, action="view_personal_data") if "list" not in e.details]
    assert read.actor_id == officer_commune.pk


def test_profile_changes_are_logged_by_field_name(world, citizen_a):
    client = client_for(citizen_a)
    response = client.patch(
        "/api/v1/me/",
        {"full_name": "Hoàng Thị Mai Anh", "preferred_language": "vi", "administrative_unit": 2269},
        format="json",
    )
    assert response.status_code == 200

    [entry] = AuditLogEntry.objects.filter(action="update_profile")
    assert entry.actor_id == citizen_a.pk
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(citizen_a.pk))
    # preferred_language was already vi; the new name itself stays out of the log.
    assert entry.details == {"fields": ["administrative_unit", "full_name"]}


def test_a_profile_patch_that_changes_nothing_is_not_logged(world, citizen_a):
    response = client_for(citizen_a).patch(
        "/api/v1/me/", {"full_name": citizen_a.full_name}, format="json"
    )
    assert response.status_code == 200
    assert not AuditLogEntry.objects.filter(action="update_profile").exists()


def test_record_keeps_an_anonymous_actor_as_none(world, citizen_a):
    entry = audit.record(AnonymousUser(), "export", citizen_a, details={"format": "zip"})
    assert entry.actor is None
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(citizen_a.pk))
    assert entry.details == {"format": "zip"}
    assert entry.agency_id is None


def test_the_admin_is_read_only_filterable_and_searchable(
    world, citizen_a, officer_commune, superuser, client
):
    from django.contrib import admin
    from django.test import RequestFactory

    first, second = submit(citizen_a), submit(citizen_a)
    transition(officer_commune, first, "receive")
    model_admin = admin.site._registry[AuditLogEntry]
    request = RequestFactory().get("/admin/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)

    client.force_login(superuser)
    url = "/admin/common/auditlogentry/"
    received = client.get(url, {"action": "receive"})
    assert received.status_code == 200
    assert list(received.context["cl"].result_list) == entries(first, action="receive")
    found = client.get(url, {"q": str(second.pk)})
    assert [e.action for e in found.context["cl"].result_list] == ["submit"]
    entry = entries(first, action="receive")[0]
    assert client.get(f"{url}{entry.pk}/change/").status_code == 200
