"""Dossiers in the shape the national public-service portal (Cổng Dịch vụ công quốc gia)
synchronises: one record per dossier, changed since a time, as JSON or CSV.

Field names follow the portal's dossier-sync connector where known; docs/national-portal.md
gives the mapping and marks what an integrator must confirm. Dates are local time
`yyyyMMddHHmmss`, as the connector writes them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agencies import calendar
from common import audit
from services.models import ServiceRequest, ServiceRequestAttachment, ServiceRequestEvent

Status = ServiceRequest.Status

# TrangThaiHoSo of the connector (to confirm): 1 new, 2 received, 3 not received, 4 being
# handled, 5 supplement requested, 7 withdrawn by the citizen, 9 handled, 10 result returned.
STATUS_CODES = {
    Status.SUBMITTED: 1,
    Status.RECEIVED: 2,
    Status.REJECTED: 3,
    Status.IN_PROGRESS: 4,
    Status.SUPPLEMENT_REQUESTED: 5,
    Status.CANCELLED: 7,
    Status.RESULT_READY: 9,
    Status.COMPLETED: 10,
}
FINISHING_ACTIONS = {"return_result", "reject", "cancel"}

COLUMNS = (
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "ChuHoSo",
    "SoDienThoai",
    "MaDonViXuLy",
    "DonViXuLy",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "TrangThaiHoSo",
    "DanhSachHoSoBoSung",
    "KetQuaXuLy",
    "DanhSachGiayToKetQua",
    "NgayCapNhat",
)
# Columns holding a list, written as JSON inside the CSV cell.
LIST_COLUMNS = ("DanhSachHoSoBoSung", "DanhSachGiayToKetQua")
INT_COLUMNS = ("TrangThaiHoSo",)


def portal_date(value: datetime | str | None) -> str:
    """`yyyyMMddHHmmss` in local time; empty when there is no date."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return ""
        value = parsed
    return timezone.localtime(value, calendar.LOCAL_TZ).strftime("%Y%m%d%H%M%S")


def dossiers_changed(
    since: datetime | None, until: datetime | None = None
) -> QuerySet[ServiceRequest]:
    """Dossiers changed after `since` (all when None) up to `until`, oldest change first,
    with what a record needs joined or prefetched (three queries in all)."""
    dossiers = ServiceRequest.objects.select_related("service", "agency", "applicant")
    if since is not None:
        dossiers = dossiers.filter(updated_at__gt=since)
    if until is not None:
        dossiers = dossiers.filter(updated_at__lte=until)
    return dossiers.prefetch_related(
        Prefetch("events", queryset=ServiceRequestEvent.objects.order_by("created_at", "pk")),
        Prefetch(
            "attachments",
            queryset=ServiceRequestAttachment.objects.filter(
                kind=ServiceRequestAttachment.Kind.RESULT
            ).order_by("created_at"),
            to_attr="result_files",
        ),
    ).order_by("updated_at", "pk")


def record(dossier: ServiceRequest) -> dict[str, Any]:
    """One dossier as the portal's record."""
    events = list(dossier.events.all())
    finished = next(
        (event.created_at for event in reversed(events) if event.action in FINISHING_ACTIONS),
        None,
    )
    approved = next((event for event in reversed(events) if event.action == "approve"), None)
    supplements: list[dict[str, Any]] = []
    for event in events:
        if event.action == "request_supplement":
            supplements.append(
                {
                    "NgayYeuCauBoSung": portal_date(event.created_at),
                    "NoiDungBoSung": event.note,
                    "NgayTiepNhanBoSung": "",
                    "NgayHenTraTruoc": "",
                    "NgayHenTraMoi": "",
                }
            )
        elif event.action == "supplement" and supplements:
            supplements[-1].update(
                NgayTiepNhanBoSung=portal_date(event.created_at),
                NgayHenTraTruoc=portal_date(event.details.get("due_before")),
                NgayHenTraMoi=portal_date(event.details.get("due_after")),
            )
    return {
        "MaHoSo": dossier.tracking_code,
        "MaTTHC": dossier.service.national_code,
        "TenTTHC": _name(dossier.service.name),
        "ChuHoSo": dossier.applicant_display_name,
        "SoDienThoai": dossier.applicant_display_phone,
        "MaDonViXuLy": dossier.agency.code,
        "DonViXuLy": dossier.agency.name,
        "NgayTiepNhan": portal_date(dossier.received_at),
        "NgayHenTra": portal_date(dossier.due_at),
        "NgayKetThucXuLy": portal_date(finished),
        "TrangThaiHoSo": STATUS_CODES.get(Status(dossier.status), 0),
        "DanhSachHoSoBoSung": supplements,
        "KetQuaXuLy": approved.note if approved is not None else "",
        "DanhSachGiayToKetQua": [
            {"TenGiayTo": file.name, "LoaiTep": file.content_type}
            for file in getattr(dossier, "result_files", [])
        ],
        "NgayCapNhat": portal_date(dossier.updated_at),
    }


def _name(name: Any) -> str:
    if isinstance(name, dict):
        return str(name.get("vi") or next(iter(name.values()), ""))
    return str(name or "")


def records(dossiers: Iterable[ServiceRequest]) -> Iterator[dict[str, Any]]:
    for dossier in dossiers:
        yield record(dossier)


def to_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2)


def write_csv(rows: Iterable[dict[str, Any]], stream: Any) -> int:
    """Write `rows` as CSV (UTF-8, header row; list columns as JSON); returns how many."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(
            {
                column: json.dumps(row[column], ensure_ascii=False)
                if column in LIST_COLUMNS
                else row[column]
                for column in COLUMNS
            }
        )
        count += 1
    return count


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    stream = io.StringIO()
    write_csv(rows, stream)
    return stream.getvalue()


def read_csv(text: str) -> list[dict[str, Any]]:
    """The records of a CSV written by `write_csv`, as `record` gives them."""
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = dict(raw)
        for column in LIST_COLUMNS:
            row[column] = json.loads(row[column] or "[]")
        for column in INT_COLUMNS:
            row[column] = int(row[column])
        rows.append(row)
    return rows


def audit_export(actor: Any, dossiers: Iterable[ServiceRequest], details: dict[str, Any]) -> None:
    """One audit entry per agency whose dossiers are in the export (the export holds
    applicants' names and phones)."""
    by_agency: dict[Any, tuple[Any, int]] = {}
    for dossier in dossiers:
        agency, count = by_agency.get(dossier.agency_id, (dossier.agency, 0))
        by_agency[dossier.agency_id] = (agency, count + 1)
    for agency_id, (agency, count) in by_agency.items():
        audit.record(
            actor,
            "export_national_portal",
            agency,
            agency_id=agency_id,
            details={**details, "count": count},
        )
