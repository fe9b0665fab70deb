from datetime import UTC, datetime

import pytest
from django.utils import timezone

from common.models import AuditLogEntry
from services.models import ServiceRequest
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


@pytest.fixture
def dossier(world, citizen_a):
    body = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}
    response = client_for(citizen_a).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201, response.json()
    return ServiceRequest.objects.get(pk=response.json()["id"])


def receipt(client, dossier):
    return client.get(f"/api/v1/requests/{dossier.pk}/receipt/")


def test_owner_gets_a_printable_html_page(dossier, citizen_a):
    response = receipt(client_for(citizen_a), dossier)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Language"] == "vi"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    page = response.content.decode()
    assert dossier.tracking_code in page
    assert "<svg" in page
    assert "Đăng ký khai sinh" in page
    assert "Hoàng Thị Mai" in page
    assert "UBND xã Lâm Bình" in page
    assert "0207 3851 001" in page
    assert "Thôn Nà Khà, xã Lâm Bình" in page
    assert "Thứ 2–6, 7:30–17:00" in page
    assert timezone.localtime(dossier.created_at).strftime("%d/%m/%Y") in page
    assert "Chưa tiếp nhận" in page
    # Nothing is fetched from elsewhere when the page is opened or printed.
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "@media print" in page
    # The applicant's own read is not an audited staff read.
    assert not AuditLogEntry.objects.filter(action="view_personal_data").exists()


def test_received_and_due_dates_are_local_dd_mm_yyyy(dossier, citizen_a):
    # 20:00 UTC is already the next day in Hà Nội (UTC+7).
    received = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
    due = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    ServiceRequest.objects.filter(pk=dossier.pk).update(
        status=ServiceRequest.Status.RECEIVED, received_at=received, due_at=due
    )
    page = receipt(client_for(citizen_a), dossier).content.decode()
    assert "03/11/2026" in page
    assert "05/11/2026" in page
    assert "Chưa tiếp nhận" not in page


def test_qr_code_is_an_inline_svg_of_the_tracking_code(dossier, citizen_a):
    from services.api.receipt_views import qr_svg

    page = receipt(client_for(citizen_a), dossier).content.decode()
    svg = qr_svg(dossier.tracking_code)
    assert svg.startswith("<svg") and svg in page
    assert qr_svg("DV-0000-0000-0") != svg


@pytest.mark.parametrize("persona", ["officer_commune", "manager_province"])
def test_staff_in_scope_get_the_receipt_and_the_read_is_audited(request, dossier, persona):
    staff = request.getfixturevalue(persona)
    response = receipt(client_for(staff), dossier)
    assert response.status_code == 200
    assert dossier.tracking_code in response.content.decode()
    assert AuditLogEntry.objects.filter(action="view_personal_data", actor=staff).exists()


@pytest.mark.parametrize("persona", ["citizen_b", "officer_other_province"])
def test_foreign_users_get_404(request, dossier, persona):
    response = receipt(client_for(request.getfixturevalue(persona)), dossier)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["type"] == "client_error"


def test_unknown_dossier_is_404(world, citizen_a):
    response = client_for(citizen_a).get(
        "/api/v1/requests/00000000-0000-4000-8000-000000000000/receipt/"
    )
    assert response.status_code == 404


def test_anonymous_is_401_even_when_asking_for_html(api, dossier):
    response = api.get(f"/api/v1/requests/{dossier.pk}/receipt/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response.json()["type"] == "client_error"


def test_browser_accept_header_gets_the_page(dossier, citizen_a):
    response = client_for(citizen_a).get(
        f"/api/v1/requests/{dossier.pk}/receipt/",
        HTTP_ACCEPT="text/html,application/xhtml+xml;q=0.9",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_receipt_query_count(dossier, citizen_a, django_assert_num_queries):
    client = client_for(citizen_a)
    # the user behind the token, then the dossier with its service, agency and applicant
    with django_assert_num_queries(2):
        receipt(client, dossier)
