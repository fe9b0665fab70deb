"""Staff reads of lists that show personal data are audited, in one query per page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.models import AuditLogEntry
from tests.conftest import client_for
from tests.feedback.helpers import make_feedback
from tests.services.workflow import make_dossier

pytestmark = pytest.mark.django_db


def list_reads(**filters):
    return AuditLogEntry.objects.filter(action="view_personal_data", **filters)


def test_an_officers_feedback_list_is_audited_per_item(world, officer_commune, citizen_a):
    items = [make_feedback(world, citizen_a) for _ in range(3)]

    response = client_for(officer_commune).get("/api/v1/feedback/", {"page_size": 100})

    assert response.status_code == 200
    assert {e.object_id for e in list_reads(actor=officer_commune)} == {
        str(item.pk) for item in items
    }
    assert set(list_reads().values_list("details__list", flat=True)) == {"api"}
    assert set(list_reads().values_list("agency_id", flat=True)) == {world["lam_binh_office"].pk}


def test_the_audit_costs_one_query_whatever_the_page_size(world, officer_commune, citizen_a):
    client = client_for(officer_commune)
    make_dossier(world, citizen_a)
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/requests/")
    for _ in range(9):
        make_dossier(world, citizen_a)
    with CaptureQueriesContext(connection) as ten:
        client.get("/api/v1/requests/")

    assert len(ten.captured_queries) == len(one.captured_queries)
    assert list_reads().count() == 11


def test_a_citizens_own_list_is_not_audited(world, citizen_a):
    make_dossier(world, citizen_a)
    make_feedback(world, citizen_a)
    client = client_for(citizen_a)
    assert client.get("/api/v1/requests/").status_code == 200
    assert client.get("/api/v1/feedback/").status_code == 200
    assert not list_reads().exists()


def test_the_admin_queue_page_is_audited(world, officer_commune, citizen_a, client):
    dossiers = [make_dossier(world, citizen_a) for _ in range(2)]
    client.force_login(officer_commune)

    assert client.get("/admin/services/servicerequest/").status_code == 200

    assert {e.object_id for e in list_reads(details__list="admin")} == {str(d.pk) for d in dossiers}
