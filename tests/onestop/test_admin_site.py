"""The staff admin site: its language, the dashboard on the index, and the audit log."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from agencies.models import StaffMembership
from common import audit
from common.models import AuditLogEntry
from onestop.admin_site import StaffAdminSite, on_time_chart, staff_dashboard
from services.models import ServiceRequest
from tests import factories as f
from tests.factories import PASSWORD
from tests.onestop.test_stats import dossier, feedback

pytestmark = pytest.mark.django_db

Status = ServiceRequest.Status
CHROMIUM = "en-US,en;q=0.9"
AUDIT = "/admin/common/auditlogentry/"


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, response.content[:300]
    return match.group(1)


@pytest.fixture
def admin_province(world):
    """An agency admin (rank admin) of the Tuyên Quang board."""
    user = f.UserFactory(phone="+84900000401", full_name="Hà Văn Tú", is_staff=True)
    StaffMembership.objects.create(user=user, agency=world["tq_board"], role="admin")
    return user


# -- the site and its language -----------------------------------------------------------------


def test_the_staff_site_is_the_default_admin_site():
    with translation.override("en"):
        assert str(admin.site.site_header) == "Highland Public Services — Administration"
    assert isinstance(admin.site._wrapped, StaffAdminSite)


def test_the_login_page_is_vietnamese_whatever_the_browser_says(client, world):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE=CHROMIUM)

    assert response.status_code == 200
    assert html_lang(response) == "vi"
    assert response["Content-Language"] == "vi"
    page = response.content.decode()
    assert "Đăng nhập" in page  # Django's own "Log in", in Vietnamese
    assert re.search(r'<label [^>]*for="id_username"[^>]*>Số điện thoại:</label>', page)
    # The switch is there before signing in, too.
    assert 'id="language-switch"' in page
    assert 'action="/admin/language/"' in page


def test_staff_sign_in_with_the_phone_number_as_they_write_it(client, manager_province):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "0900 000 201", "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_staff_member_who_prefers_english_gets_english(client, officer_commune):
    officer_commune.preferred_language = "en"
    officer_commune.save()
    client.force_login(officer_commune)

    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="vi")

    assert html_lang(response) == "en"
    page = response.content.decode()
    assert "Log out" in page
    assert "Highland Public Services — Administration" in page


def test_vietnamese_staff_with_an_english_browser_stay_in_vietnamese(client, officer_commune):
    client.force_login(officer_commune)
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE=CHROMIUM)
    assert html_lang(response) == "vi"
    assert "Thoát" in response.content.decode()  # "Log out"


def test_a_language_the_admin_has_no_catalog_for_falls_back_to_vietnamese(client, officer_commune):
    officer_commune.preferred_language = "tyz"
    officer_commune.save()
    client.force_login(officer_commune)
    assert html_lang(client.get("/admin/")) == "vi"


def test_the_switch_overrides_the_preference_and_stays(client, officer_commune):
    officer_commune.preferred_language = "en"
    officer_commune.save()
    client.force_login(officer_commune)

    response = client.post("/admin/language/", {"language": "vi", "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert response.cookies["django_language"].value == "vi"
    assert html_lang(client.get("/admin/")) == "vi"
    client.post("/admin/language/", {"language": "en", "next": "/admin/"})
    assert html_lang(client.get("/admin/")) == "en"


def test_the_switch_refuses_unknown_languages_and_foreign_next(client, world):
    response = client.post("/admin/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert "django_language" not in response.cookies


def test_the_api_negotiates_as_before(client, officer_commune):
    # The admin's cookie and the admin middleware leave the API's own negotiation alone.
    client.cookies["django_language"] = "vi"
    response = client.get("/api/v1/languages/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert client.get("/api/v1/languages/")["Content-Language"] == "vi"


# -- the dashboard -----------------------------------------------------------------------------


@pytest.fixture
def workload(world, citizen_a, citizen_b):
    """Open and recently completed dossiers in two provinces, and some feedback."""
    now = timezone.now()
    recent = now - timedelta(days=5)
    lam_binh = [
        dossier(world, citizen_a, created=now),
        dossier(world, citizen_a, created=now),
        dossier(world, citizen_a, status=Status.RECEIVED, due=now + timedelta(days=30)),
        dossier(world, citizen_a, status=Status.IN_PROGRESS, due=now - timedelta(days=1)),
        dossier(world, citizen_a, status=Status.SUPPLEMENT_REQUESTED, due=now + timedelta(days=30)),
        dossier(world, citizen_a, completed=recent, due=recent + timedelta(days=1), rating=5),
        dossier(world, citizen_a, completed=recent, due=recent - timedelta(days=1), rating=3),
        # Completed two months ago: in the 90-day figures only.
        dossier(
            world,
            citizen_a,
            completed=now - timedelta(days=60),
            due=now - timedelta(days=59),
        ),
    ]
    muong_phang = [
        dossier(world, citizen_b, "muong_phang_office", created=now),
        dossier(world, citizen_b, "muong_phang_office", completed=recent, due=recent, rating=1),
    ]
    feedback(world, citizen_a, created=now)
    feedback(world, citizen_a, status="in_progress", created=now)
    feedback(world, citizen_b, "muong_phang_office", created=now)
    return {"lam_binh": lam_binh, "muong_phang": muong_phang}


def counts(page: str, table: str) -> dict[str, int]:
    section = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return {
        name: int(value) for name, value in re.findall(r'data-count="([a-z_]+)">(\d+)<', section)
    }


def test_an_officer_sees_the_figures_of_their_office(client, workload, officer_commune):
    client.force_login(officer_commune)
    page = client.get("/admin/").content.decode()

    assert '<section id="dashboard"' in page
    assert counts(page, "dashboard-dossiers") == {
        "new": 2,
        "in_progress": 2,
        "awaiting_supplement": 1,
        "overdue": 1,
        "due_this_week": 0,
    }
    assert counts(page, "dashboard-feedback") == {
        "new": 1,
        "in_progress": 1,
        "answered_recently": 0,
    }
    assert "UBND xã Lâm Bình" in page
    assert "UBND xã Mường Phăng" not in page
    # One on time of two in 30 days; two of three in 90.
    row = page.split('data-agency="', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>([^<]*)</td>", row)[::3] == ["50,0%", "66,7%"]
    assert "4,0 (2)" in row


def test_the_chart_is_inline_svg_with_titles(client, workload, superuser):
    client.force_login(superuser)
    page = client.get("/admin/").content.decode()

    svg = page.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg
    assert "<title" in svg and "<desc" in svg
    # One group per agency with figures, each titled with its name and both rates.
    titles = re.findall(r"<g>\s*<title>([^<]+)</title>", svg)
    assert len(titles) == 2
    assert titles[0].startswith("UBND xã Lâm Bình — ")
    assert "50,0%" in titles[0] and "66,7%" in titles[0]
    assert svg.count("<rect") == 4
    assert "<script" not in page.split('id="dashboard"', 1)[1].split("</section>", 1)[0]
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_a_provincial_manager_sees_the_province(client, workload, manager_province):
    client.force_login(manager_province)
    page = client.get("/admin/").content.decode()
    assert counts(page, "dashboard-dossiers")["new"] == 2
    assert "Sở Nội vụ Tuyên Quang" in page  # the scope line
    assert "UBND xã Mường Phăng" not in page


def test_a_superuser_sees_everything(client, workload, superuser):
    client.force_login(superuser)
    page = client.get("/admin/").content.decode()
    # Above the list of apps.
    assert page.index('id="dashboard"') < page.index('class="app-')
    assert counts(page, "dashboard-dossiers")["new"] == 3
    assert counts(page, "dashboard-feedback")["new"] == 2
    assert "UBND xã Mường Phăng" in page


def test_a_citizen_never_reaches_the_dashboard(client, workload, citizen_a):
    client.force_login(citizen_a)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_without_figures_there_is_no_chart(client, world, officer_commune):
    client.force_login(officer_commune)
    page = client.get("/admin/").content.decode()
    assert 'id="dashboard"' in page
    assert 'class="chart"' not in page
    assert counts(page, "dashboard-dossiers")["new"] == 0


def index_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/").status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_queries_for_more_rows(
    client, world, citizen_a, citizen_b, superuser
):
    client.force_login(superuser)
    now = timezone.now()
    done = now - timedelta(days=3)
    dossier(world, citizen_a, completed=done, due=now, rating=4)
    feedback(world, citizen_a, status="answered", rating=5)
    few = index_queries(client)

    for index in range(15):
        agency = f.AgencyFactory(parent=world["tq_board"], name=f"UBND xã Thử {index}")
        world[f"extra_{index}"] = agency
        dossier(world, citizen_b, f"extra_{index}", completed=done, due=now, rating=3)
        dossier(world, citizen_b, f"extra_{index}", status=Status.IN_PROGRESS, due=done)
        feedback(world, citizen_b, f"extra_{index}", status="answered", rating=2)
    many = index_queries(client)

    assert many == few
    page = client.get("/admin/").content.decode()
    assert page.count('data-agency="') == 16


def test_the_dashboard_keeps_the_busiest_agencies(world, citizen_a, superuser, monkeypatch):
    monkeypatch.setattr("onestop.admin_site.MAX_AGENCY_ROWS", 2)
    now = timezone.now()
    done = now - timedelta(days=3)
    for key, completed in (("lam_binh_office", 3), ("tq_board", 1), ("muong_phang_office", 2)):
        for _ in range(completed):
            dossier(world, citizen_a, key, completed=done, due=now)

    board = staff_dashboard(superuser)

    assert board.agencies_with_figures == 3
    assert [row.name for row in board.rows] == ["UBND xã Lâm Bình", "UBND xã Mường Phăng"]


def test_long_names_are_shortened_in_the_chart_but_not_in_its_title(world, citizen_a, superuser):
    world[
        "lam_binh_office"
    ].name = "Trung tâm Phục vụ hành chính công xã Lâm Bình, tỉnh Tuyên Quang"
    world["lam_binh_office"].save()
    now = timezone.now()
    dossier(world, citizen_a, completed=now - timedelta(days=1), due=now)

    chart = on_time_chart(staff_dashboard(superuser).rows)

    assert chart is not None
    (row,) = chart.rows
    assert len(row.label) == 34 and row.label.endswith("…")
    assert row.title.startswith(world["lam_binh_office"].name)
    assert [bar.width for bar in row.bars] == [320.0, 320.0]


# -- the audit log -----------------------------------------------------------------------------


@pytest.fixture
def entries(world, officer_commune, superuser):
    return {
        "lam_binh": audit.record(
            officer_commune,
            "receive",
            world["lam_binh_office"],
            agency_id=world["lam_binh_office"].pk,
        ),
        "tq_board": audit.record(
            officer_commune, "forward", world["tq_board"], agency_id=world["tq_board"].pk
        ),
        "muong_phang": audit.record(
            superuser,
            "receive",
            world["muong_phang_office"],
            agency_id=world["muong_phang_office"].pk,
        ),
        "no_agency": audit.record(superuser, "membership.granted", world["ministry"]),
    }


def audit_ids(client) -> set[int]:
    response = client.get(AUDIT)
    assert response.status_code == 200
    return {entry.pk for entry in response.context["cl"].result_list}


def test_an_agency_admin_reads_the_log_of_their_subtree(client, entries, admin_province):
    client.force_login(admin_province)

    assert audit_ids(client) == {entries["lam_binh"].pk, entries["tq_board"].pk}
    page = client.get(AUDIT).content.decode()
    assert "UBND xã Lâm Bình" in page  # the agency's name, not its id
    assert "Nông Văn Sáu" in page  # the actor
    assert f"agencies.agency: {entries['lam_binh'].object_id}" in page
    # A foreign entry's page is out of reach.
    foreign = client.get(f"{AUDIT}{entries['muong_phang'].pk}/change/")
    assert foreign.status_code == 302
    own = client.get(f"{AUDIT}{entries['lam_binh'].pk}/change/")
    assert own.status_code == 200
    assert "UBND xã Lâm Bình" in own.content.decode()


def test_an_admin_who_is_an_officer_elsewhere_reads_only_what_they_administer(
    client, world, entries, admin_province
):
    StaffMembership.objects.create(
        user=admin_province, agency=world["muong_phang_office"], role="officer"
    )
    client.force_login(admin_province)
    assert audit_ids(client) == {entries["lam_binh"].pk, entries["tq_board"].pk}


def test_officers_and_managers_do_not_see_the_log(
    client, entries, officer_commune, manager_province
):
    for user in (officer_commune, manager_province):
        client.force_login(user)
        assert client.get(AUDIT).status_code == 403
        assert AUDIT not in client.get("/admin/").content.decode()


def test_a_superuser_reads_everything_and_nobody_edits(client, entries, superuser, admin_province):
    client.force_login(superuser)
    assert audit_ids(client) == {entry.pk for entry in entries.values()}
    for user in (superuser, admin_province):
        client.force_login(user)
        assert client.get(f"{AUDIT}add/").status_code == 403
        assert client.post(f"{AUDIT}{entries['lam_binh'].pk}/delete/").status_code == 403
        response = client.post(f"{AUDIT}{entries['lam_binh'].pk}/change/", {"action": "forged"})
        assert response.status_code == 403
    assert AuditLogEntry.objects.get(pk=entries["lam_binh"].pk).action == "receive"


def test_the_log_filters_by_action_and_date(client, entries, admin_province):
    client.force_login(admin_province)
    page = client.get(AUDIT).content.decode()
    # The action filter offers only what the admin may see.
    assert "?action=forward" in page
    assert "membership.granted" not in page
    assert "?at__gte=" in page  # the date filter

    response = client.get(AUDIT, {"action": "forward"})
    assert {e.pk for e in response.context["cl"].result_list} == {entries["tq_board"].pk}
    today = timezone.localdate()
    response = client.get(AUDIT, {"at__year": today.year, "at__month": today.month})
    assert len(response.context["cl"].result_list) == 2


def test_the_log_costs_the_same_queries_for_more_rows(client, world, entries, admin_province):
    client.force_login(admin_province)
    with CaptureQueriesContext(connection) as few:
        client.get(AUDIT)
    for index in range(20):
        actor = f.UserFactory(full_name=f"Cán bộ {index}", is_staff=True)
        agency = world["lam_binh_office"] if index % 2 else world["tq_board"]
        audit.record(actor, "comment", agency, agency_id=agency.pk)
    with CaptureQueriesContext(connection) as many:
        response = client.get(AUDIT)
    assert len(response.context["cl"].result_list) == 22
    assert len(many) == len(few)
