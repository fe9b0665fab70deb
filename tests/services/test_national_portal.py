"""The national-portal export: the mapping, the window, JSON and a CSV that round-trips."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from agencies import calendar
from common.models import AuditLogEntry
from services import national_portal
from services.models import ServiceRequest
from tests.services.workflow import act, make_dossier

pytestmark = pytest.mark.postgres

Status = ServiceRequest.Status
ITEMS = [{"kind": "document", "label": "Giấy chứng sinh bản chính"}]


@pytest.fixture
def day(world, citizen_a, officer_commune):
    """A test day: one dossier through every step with a supplement, one rejected, one new."""
    world["service"].national_code = "1.001193"
    world["service"].save()
    done = make_dossier(world, citizen_a, Status.SUBMITTED)
    assert act(officer_commune, done, "receive").status_code == 200
    response = act(officer_commune, done, "request_supplement", reason="Thiếu giấy", items=ITEMS)
    item_id = response.json()["supplement_items"][0]["id"]
    due_before = ServiceRequest.objects.get(pk=done.pk).due_at
    # The answer a few working days later moves the appointment.
    ServiceRequest.objects.filter(pk=done.pk).update(
        supplement_requested_at=timezone.now() - timedelta(days=7)
    )
    response = act(citizen_a, done, "supplement", responses=[{"item_id": item_id}])
    assert response.status_code == 200, response.json()
    for action, body in (("start", {}), ("approve", {"result": "Đã cấp giấy khai sinh"})):
        assert act(officer_commune, done, action, **body).status_code == 200
    assert act(officer_commune, done, "return_result").status_code == 200
    rejected = make_dossier(world, citizen_a, Status.SUBMITTED)
    assert (
        act(officer_commune, rejected, "reject", reason="Không đúng thẩm quyền").status_code == 200
    )
    new = make_dossier(world, citizen_a, Status.SUBMITTED)
    return {"done": done, "rejected": rejected, "new": new, "due_before": due_before}


def test_record_maps_the_portal_fields(day, world, citizen_a):
    dossier = national_portal.dossiers_changed(None).get(pk=day["done"].pk)
    row = national_portal.record(dossier)
    assert row["MaHoSo"] == dossier.tracking_code
    assert row["MaTTHC"] == "1.001193"
    assert row["ChuHoSo"] == citizen_a.full_name
    assert row["MaDonViXuLy"] == "lam-binh"
    assert row["TrangThaiHoSo"] == 10
    assert row["KetQuaXuLy"] == "Đã cấp giấy khai sinh"
    assert len(row["NgayTiepNhan"]) == 14 and row["NgayKetThucXuLy"]
    assert row["NgayHenTra"] == national_portal.portal_date(dossier.due_at)
    [supplement] = row["DanhSachHoSoBoSung"]
    assert supplement["NoiDungBoSung"] == "Thiếu giấy"
    assert supplement["NgayHenTraTruoc"] == national_portal.portal_date(day["due_before"])
    assert supplement["NgayHenTraMoi"] == row["NgayHenTra"]
    assert supplement["NgayHenTraMoi"] > supplement["NgayHenTraTruoc"]
    rejected = national_portal.record(
        national_portal.dossiers_changed(None).get(pk=day["rejected"].pk)
    )
    assert rejected["TrangThaiHoSo"] == 3 and rejected["NgayKetThucXuLy"]


def test_dates_are_local_time():
    moment = datetime(2026, 5, 4, 1, 2, 3, tzinfo=calendar.LOCAL_TZ)
    assert national_portal.portal_date(moment) == "20260504010203"
    assert national_portal.portal_date(None) == ""


def test_export_of_a_day_round_trips_through_csv(day, django_assert_max_num_queries):
    since = timezone.now() - timedelta(days=1)
    with django_assert_max_num_queries(3):
        rows = list(national_portal.records(national_portal.dossiers_changed(since)))
    assert {row["MaHoSo"] for row in rows} == {
        day[name].tracking_code for name in ("done", "rejected", "new")
    }
    assert national_portal.read_csv(national_portal.to_csv(rows)) == rows


def test_incremental_window(day):
    later = timezone.now()
    assert list(national_portal.dossiers_changed(later)) == []
    ServiceRequest.objects.filter(pk=day["new"].pk).update(updated_at=later + timedelta(seconds=1))
    assert [d.pk for d in national_portal.dossiers_changed(later)] == [day["new"].pk]


def test_command_writes_json_and_csv(day, tmp_path):
    since = (timezone.now() - timedelta(days=1)).isoformat()
    out = io.StringIO()
    call_command("export_national_portal", "--since", since, stdout=out, stderr=io.StringIO())
    exported = json.loads(out.getvalue())
    assert len(exported) == 3
    target = tmp_path / "day.csv"
    call_command(
        "export_national_portal",
        "--since",
        since,
        "--format",
        "csv",
        "--output",
        str(target),
        stderr=io.StringIO(),
    )
    assert national_portal.read_csv(target.read_text(encoding="utf-8")) == exported
    assert AuditLogEntry.objects.filter(action="export_national_portal").exists()


def test_admin_action_downloads_csv(day, officer_commune):
    client = Client()
    client.force_login(officer_commune)
    response = client.post(
        "/admin/services/servicerequest/",
        {
            "action": "export_national_portal",
            "_selected_action": [str(day["done"].pk), str(day["new"].pk)],
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = national_portal.read_csv(response.content.decode("utf-8").removeprefix("\ufeff"))
    assert {row["MaHoSo"] for row in rows} == {
        day["done"].tracking_code,
        day["new"].tracking_code,
    }
