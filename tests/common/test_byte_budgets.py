"""Byte budgets of the screens a phone opens most, as the wire carries them (gzip).

Sizes are measured on the middleware's real output (`Accept-Encoding: gzip`), with realistic
Vietnamese data: the demo catalog, a birth registration with full parents' details, the
notifications its handling really produces. `bench/payload_sizes.py` runs these same
scenarios and prints every size (identity, gzip, Brotli).

Budgets (bodies, gzip): catalog page of 20 services ≤ 4 KB; dossier detail with 5 events
≤ 3 KB; inbox page of 20 ≤ 4 KB; "home sync" (`me/` + `notifications/unread-count/` + first
inbox page) ≤ 8 KB in total.
"""

import gzip
import uuid
from datetime import timedelta
from unittest import mock

import brotli
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from onestop.demo.dossiers import SERVICES as DEMO_SERVICES
from onestop.demo.dossiers import seed_demo
from services.actions import submit_request, transition_request
from services.models import PublicService
from tests import factories as f
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

KB = 1024

# name -> {"identity": n, "gzip": n, "br": n}; bench/payload_sizes.py prints it.
MEASURED: dict[str, dict[str, int]] = {}

BIRTH_FORM = {
    "child": {
        "full_name": "Hoàng Thị Ngọc Ánh",
        "birth_date": "2026-10-14",
        "sex": "female",
        "birth_place": "Trạm Y tế xã Lâm Bình, tỉnh Tuyên Quang",
        "ethnicity": "Tày",
        "nationality": "Việt Nam",
    },
    "mother": {
        "full_name": "Hoàng Thị Mai",
        "birth_date": "1998-03-22",
        "ethnicity": "Tày",
        "id_number": "008198001234",
    },
    "father": {
        "full_name": "Ma Văn Thắng",
        "birth_date": "1996-07-09",
        "ethnicity": "Tày",
        "id_number": "008096004321",
    },
    "declarant_relationship": "Mẹ đẻ",
}

# Services beyond the demo catalog, named as on the National Public Service Portal.
MORE_SERVICES = [
    ("child-death-registration", "Đăng ký khai sinh, khai tử cho trẻ em chết sơ sinh"),
    ("guardianship-registration", "Đăng ký giám hộ cho trẻ em chưa thành niên"),
    ("civil-status-change", "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch"),
    ("paternity-recognition", "Đăng ký nhận cha, mẹ, con tại Ủy ban nhân dân cấp xã"),
    ("late-birth-registration", "Đăng ký khai sinh quá hạn cho người đã có hồ sơ, giấy tờ"),
    ("temporary-residence", "Đăng ký tạm trú cho công dân đến sinh sống tại thôn, bản"),
]


def sizes(client: APIClient, url: str, **params: str) -> dict[str, int]:
    """The body's size as sent, gzip and Brotli, checking each decodes to the same JSON."""
    plain = client.get(url, params)
    assert plain.status_code == 200, plain.content
    assert "Content-Encoding" not in plain
    result = {"identity": len(plain.content)}
    for encoding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        response = client.get(url, params, HTTP_ACCEPT_ENCODING=encoding)
        assert response.status_code == 200
        body = response.content
        if response.get("Content-Encoding") == encoding:
            body = decode(body)
        else:  # too small to be worth it: sent as it is
            assert len(body) <= KB
        assert body == plain.content
        result[encoding] = len(response.content)
    return result


def measure(name: str, client: APIClient, url: str, **params: str) -> dict[str, int]:
    MEASURED[name] = sizes(client, url, **params)
    return MEASURED[name]


@pytest.fixture
def catalog(world):
    seed_demo()
    category = world["service"].category
    for code, name in MORE_SERVICES:
        f.ServiceFactory(
            code=code,
            national_code="",
            name={"vi": name},
            category=category,
            fee=25000,
            processing_days=5,
        )
    assert PublicService.objects.filter(is_active=True).count() >= 20


@pytest.fixture
def dossiers(world, citizen_a, officer_commune):
    """Four birth registrations of citizen_a, each taken through five steps.

    Each dossier ends with five events and each step tells citizen_a, so the inbox holds
    twenty real notifications.
    """
    service = world["service"]
    demo = next(row for row in DEMO_SERVICES if row["code"] == service.code)
    service.form_schema = demo["form_schema"]
    service.required_documents = demo["required_documents"]
    service.save()
    created = []
    for number in range(4):
        dossier, _ = submit_request(
            applicant=citizen_a,
            service=world["service"],
            commune=world["lam_binh"],
            form_data=BIRTH_FORM,
            note="Nộp hồ sơ cho con gái thứ hai, xin nhận kết quả tại xã.",
            # Chosen by the phone, as offline phones do: random-looking, yet the same each run.
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"budget-dossier-{number}"),
        )
        transition_request(officer_commune, dossier, "receive")
        transition_request(
            officer_commune,
            dossier,
            "request_supplement",
            note="Ảnh chụp Giấy chứng sinh bị mờ, đề nghị chụp lại rõ nét cả hai mặt.",
            items=[{"kind": "field", "label": "Số định danh của cha", "field": "father.id_number"}],
        )
        dossier.refresh_from_db()
        item_id = dossier.supplement_items[0]["id"]
        transition_request(
            citizen_a,
            dossier,
            "supplement",
            responses=[{"item_id": item_id, "note": "Đã bổ sung số định danh của cha."}],
            form_data=BIRTH_FORM,
            note="Em đã bổ sung theo yêu cầu.",
        )
        transition_request(officer_commune, dossier, "start")
        created.append(dossier)
    return created


def test_catalog_page_of_20_services_fits_4_kb(catalog):
    measured = measure("catalog page (20 services)", APIClient(), "/api/v1/services/")
    assert measured["gzip"] <= 4 * KB


def test_dossier_detail_with_5_events_fits_3_kb(dossiers, citizen_a):
    dossier = dossiers[0]
    client = client_for(citizen_a)
    body = client.get(f"/api/v1/requests/{dossier.pk}/").json()
    assert len(body["events"]) == 5

    measured = measure("dossier detail (5 events)", client, f"/api/v1/requests/{dossier.pk}/")
    assert measured["gzip"] <= 3 * KB


def test_inbox_page_of_20_fits_4_kb(dossiers, citizen_a):
    client = client_for(citizen_a)
    assert len(client.get("/api/v1/notifications/").json()["results"]) == 20

    measured = measure("inbox page (20)", client, "/api/v1/notifications/")
    assert measured["gzip"] <= 4 * KB


def test_home_sync_fits_8_kb(dossiers, citizen_a):
    client = client_for(citizen_a)
    total = {"identity": 0, "gzip": 0, "br": 0}
    for name, url in (
        ("me", "/api/v1/me/"),
        ("unread count", "/api/v1/notifications/unread-count/"),
        ("inbox first page", "/api/v1/notifications/"),
    ):
        for encoding, size in measure(f"home sync: {name}", client, url).items():
            total[encoding] += size
    MEASURED["home sync (total)"] = total
    assert total["gzip"] <= 8 * KB


def test_a_phone_in_sync_pays_for_the_envelope_only(dossiers, citizen_a):
    client = client_for(citizen_a)
    # Five minutes on: everything is older than the safety margin.
    later = timezone.now() + timedelta(minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=later):
        first = client.get("/api/v1/notifications/", {"updated_since": "1970-01-01T00:00:00Z"})
        measured = measure(
            "inbox sync, nothing new",
            client,
            "/api/v1/notifications/",
            updated_since=first.json()["server_time"],
        )
    assert measured["identity"] <= 128
    # The plain page unchanged: a 304 with no body at all.
    tag = client.get("/api/v1/notifications/")["ETag"]
    assert client.get("/api/v1/notifications/", HTTP_IF_NONE_MATCH=tag).content == b""


def test_the_openapi_document_travels_compressed_under_60_kb(db):
    # Shared parts are `$ref`s now, so the ratio fell (less repetition to squeeze) while the
    # bytes on the wire fell too: the budget is what a phone downloads.
    measured = measure(
        "OpenAPI JSON (schema/?format=json)", APIClient(), "/api/v1/schema/", format="json"
    )
    assert measured["gzip"] < 60 * KB
    assert measured["br"] < measured["gzip"]
