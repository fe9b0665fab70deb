"""The staff admin in a real browser, as an officer and a manager use it.

Citizens act through the API (`client_for`), staff through Chromium against the live server;
the database, the inbox and the push outbox are checked afterwards. Celery is eager and the
push backend is the in-memory one (tests/conftest.py), so a push is recorded by the time the
officer's page has come back.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from notifications import push
from notifications.models import PushMessage
from services.models import ServiceRequest
from tests import factories as f
from tests.conftest import client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
DEVICE_TOKEN = "browser-test-token:APA91bFakeButWellFormed-0001"
BIRTH_CERTIFICATE = "Giấy chứng sinh"
BIRTH_DATE_TITLE = "Ngày, tháng, năm sinh"
SUPPLEMENT_REASON = "Giấy chứng sinh bị mờ, ngày sinh trên tờ khai không khớp."

# What any page of the admin shows that only the Vietnamese translation says.
VIETNAMESE_LOGIN = "Đăng nhập"


# -- data --------------------------------------------------------------------------------------


@pytest.fixture
def service(world):
    """The world's birth registration with documents to attach and titled form fields, so an
    officer's supplement checklist has something to tick."""
    service = world["service"]
    service.required_documents = [
        {
            "name": {"vi": BIRTH_CERTIFICATE, "en": "Medical birth certificate"},
            "required": True,
            "kinds": ["pdf", "image"],
        },
        {
            "name": {
                "vi": "Giấy tờ tùy thân của người nộp",
                "en": "Identity document of the applicant",
            },
            "required": True,
            "kinds": ["pdf", "image"],
        },
    ]
    service.form_schema = {
        "type": "object",
        "title": "Tờ khai đăng ký khai sinh",
        "required": ["child"],
        "properties": {
            "child": {
                "type": "object",
                "title": "Người được khai sinh",
                "required": ["full_name", "birth_date"],
                "properties": {
                    "full_name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 100,
                        "title": "Họ, chữ đệm và tên",
                    },
                    "birth_date": {"type": "string", "format": "date", "title": BIRTH_DATE_TITLE},
                },
            }
        },
    }
    service.save()
    return service


def submit(user: Any, commune_code: int) -> ServiceRequest:
    response = client_for(user).post(
        "/api/v1/requests/",
        {"service": "birth-registration", "administrative_unit": commune_code, "form_data": FORM},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return ServiceRequest.objects.get(pk=response.json()["id"])


@pytest.fixture
def dossiers(service, citizen_a, citizen_b) -> dict[str, ServiceRequest]:
    """One dossier per commune: Lâm Bình (its own office), Thượng Lâm (no office: the
    Tuyên Quang board) and Mường Phăng (Điện Biên)."""
    registered = client_for(citizen_a).post(
        "/api/v1/devices/", {"token": DEVICE_TOKEN, "platform": "android"}, format="json"
    )
    assert registered.status_code == 201, registered.json()
    lam_binh = submit(citizen_a, 2266)
    thuong_lam = submit(citizen_b, 2269)
    muong_phang = submit(citizen_b, 3325)
    assert (lam_binh.agency.code, thuong_lam.agency.code, muong_phang.agency.code) == (
        "lam-binh",
        "tq-board",
        "muong-phang",
    )
    return {"lam_binh": lam_binh, "thuong_lam": thuong_lam, "muong_phang": muong_phang}


# -- browser steps -----------------------------------------------------------------------------


def sign_in(page: Page, base: str, phone: str, password: str = f.PASSWORD) -> None:
    page.goto(f"{base}/admin/login/")
    submit_button = page.locator("input[type=submit]")
    # Chromium asks for English; the admin still speaks Vietnamese.
    expect(submit_button).to_have_value(VIETNAMESE_LOGIN)
    page.fill("#id_username", phone)
    page.fill("#id_password", password)
    submit_button.click()
    expect(page).not_to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("#user-tools")).to_be_visible()


def open_queue(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/services/servicerequest/")
    expect(page.locator("#result_list")).to_be_visible()


def run_action(page: Page, action: str) -> None:
    page.locator(f'a.workflow-action[data-action="{action}"]').click()
    expect(page).to_have_url(re.compile(rf"/actions/{action}/$"))
    expect(page.locator("form#workflow-form")).to_be_visible()


def confirm(page: Page, change_url: str) -> None:
    page.locator('form#workflow-form button[name="_confirm"]').click()
    expect(page).to_have_url(change_url)
    expect(page.locator("ul.messagelist li.success")).to_be_visible()


# -- scenarios ---------------------------------------------------------------------------------


def test_commune_officer_receives_and_requests_a_supplement(
    page: Page, live_server, screenshot, dossiers, citizen_a, officer_commune
):
    base = live_server.url
    dossier = dossiers["lam_binh"]
    sign_in(page, base, "0900 000 101")
    # The admin index and every later page: Vietnamese although the browser asked for English.
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    open_queue(page, base)
    queue = page.locator("#result_list")
    expect(queue).to_contain_text(dossier.tracking_code)
    expect(queue).not_to_contain_text(dossiers["muong_phang"].tracking_code)
    expect(queue).not_to_contain_text(dossiers["thuong_lam"].tracking_code)
    expect(queue.locator("tbody tr")).to_have_count(1)
    screenshot("queue-commune-officer")

    queue.get_by_role("link", name=dossier.tracking_code).click()
    change_url = f"{base}/admin/services/servicerequest/{dossier.pk}/change/"
    expect(page).to_have_url(change_url)
    expect(page.locator("#content")).to_contain_text(dossier.tracking_code)
    screenshot("dossier-detail-submitted")

    run_action(page, "receive")
    confirm(page, change_url)
    dossier.refresh_from_db()
    assert dossier.status == ServiceRequest.Status.RECEIVED
    assert dossier.received_at is not None and dossier.due_at is not None

    run_action(page, "request_supplement")
    form = page.locator("form#workflow-form")
    expect(form.locator('input[name="items"]').first).to_be_visible()
    form.get_by_label(BIRTH_CERTIFICATE).check()
    form.get_by_label(BIRTH_DATE_TITLE).check()
    expect(form.locator('input[name="items"]:checked')).to_have_count(2)
    form.locator('textarea[name="reason"]').fill(SUPPLEMENT_REASON)
    confirm(page, change_url)
    screenshot("dossier-detail-supplement-requested")

    dossier.refresh_from_db()
    assert dossier.status == ServiceRequest.Status.SUPPLEMENT_REQUESTED
    assert dossier.status_before_supplement == ServiceRequest.Status.RECEIVED
    items = dossier.supplement_items
    assert len(items) == 2
    assert sorted(item["kind"] for item in items) == ["document", "field"]
    document = next(item for item in items if item["kind"] == "document")
    field = next(item for item in items if item["kind"] == "field")
    assert BIRTH_CERTIFICATE in document["label"]
    assert field["field"] == "child.birth_date"
    assert all(item["answer"] is None for item in items)
    event = dossier.events.get(action="request_supplement")
    assert (event.actor, event.note) == (officer_commune, SUPPLEMENT_REASON)

    # The citizen's phone was told, with the tracking code, and the inbox has it too.
    outbox = PushMessage.objects.filter(
        device__user=citizen_a, notification__kind="service_request.supplement_requested"
    )
    assert [(m.token, m.data["tracking_code"], m.status) for m in outbox] == [
        (DEVICE_TOKEN, dossier.tracking_code, PushMessage.Status.SENT)
    ]
    sent = [
        m
        for m in push.memory_messages()
        if m.token == DEVICE_TOKEN and m.data.get("status") == "supplement_requested"
    ]
    assert [m.data["tracking_code"] for m in sent] == [dossier.tracking_code]
    inbox = client_for(citizen_a).get("/api/v1/notifications/").json()["results"]
    assert inbox[0]["kind"] == "service_request.supplement_requested"
    assert inbox[0]["data"]["tracking_code"] == dossier.tracking_code


def test_officer_of_another_province_cannot_open_the_dossier(
    page: Page, live_server, dossiers, officer_other_province
):
    base = live_server.url
    foreign = dossiers["lam_binh"]
    sign_in(page, base, "0900 000 301")

    open_queue(page, base)
    queue = page.locator("#result_list")
    expect(queue).to_contain_text(dossiers["muong_phang"].tracking_code)
    expect(queue).not_to_contain_text(foreign.tracking_code)

    change_url = f"{base}/admin/services/servicerequest/{foreign.pk}/change/"
    response = page.goto(change_url)
    assert response is not None
    if response.status != 404:
        # Django's admin answers an object outside the queryset by leaving with a message.
        expect(page).not_to_have_url(change_url)
        expect(page.locator("ul.messagelist li")).to_be_visible()
    assert foreign.tracking_code not in page.content()
    # The action pages are closed as well: nothing but a 404 or a redirect away.
    action_url = f"{base}/admin/services/servicerequest/{foreign.pk}/actions/receive/"
    response = page.goto(action_url)
    assert response is not None
    assert response.status == 404 or page.url != action_url
    assert foreign.tracking_code not in page.content()
    foreign.refresh_from_db()
    assert foreign.status == ServiceRequest.Status.SUBMITTED


def test_province_manager_sees_both_tuyen_quang_communes(
    page: Page, live_server, dossiers, manager_province
):
    base = live_server.url
    sign_in(page, base, "0900000201")
    open_queue(page, base)
    queue = page.locator("#result_list")
    expect(queue).to_contain_text(dossiers["lam_binh"].tracking_code)
    expect(queue).to_contain_text(dossiers["thuong_lam"].tracking_code)
    expect(queue).not_to_contain_text(dossiers["muong_phang"].tracking_code)
    expect(queue.locator("tbody tr")).to_have_count(2)


ANONYMOUS_NAME = "Sùng Thị Dợ"
ANONYMOUS_PHONE = "+84900000777"


def test_anonymous_feedback_never_shows_its_author(page: Page, live_server, world, officer_commune):
    from tests.feedback.helpers import category

    author = f.UserFactory(
        phone=ANONYMOUS_PHONE, full_name=ANONYMOUS_NAME, administrative_unit=world["lam_binh"]
    )
    response = client_for(author).post(
        "/api/v1/feedback/",
        {
            "category": category().code,
            "administrative_unit": 2266,
            "village": "Thôn Khuổi Củng",
            "title": "Đường vào thôn Khuổi Củng sạt lở",
            "content": "Đoạn đường đất gần suối bị sạt, xe máy không qua được.",
            "is_anonymous": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    item = response.json()
    assert item["agency"]["code"] == "lam-binh"

    base = live_server.url
    sign_in(page, base, "0900 000 101")
    page.goto(f"{base}/admin/feedback/feedback/")
    listing = page.locator("#result_list")
    expect(listing).to_contain_text(item["tracking_code"])
    assert_author_hidden(page.content())

    listing.get_by_role("link", name=item["tracking_code"]).click()
    expect(page).to_have_url(re.compile(rf"/admin/feedback/feedback/{item['id']}/"))
    expect(page.locator("#content")).to_contain_text("Đường vào thôn Khuổi Củng sạt lở")
    assert_author_hidden(page.content())


def assert_author_hidden(html: str) -> None:
    compact = re.sub(r"[\s.\-]", "", html)
    assert ANONYMOUS_NAME not in html
    # The number in any format: +84…, 0…, grouped with spaces, dots or dashes.
    assert "900000777" not in compact


def complete(user: Any, dossier: ServiceRequest) -> None:
    """Take a submitted dossier to `completed` through the API, well before its due date."""
    steps: list[dict[str, str]] = [
        {"action": "receive"},
        {"action": "start"},
        {"action": "approve", "result": "Đã cấp Giấy khai sinh"},
        {"action": "return_result"},
    ]
    for body in steps:
        response = client_for(user).post(
            f"/api/v1/requests/{dossier.pk}/transitions/", body, format="json"
        )
        assert response.status_code == 200, (body, response.json())


def test_dashboard_renders_for_the_manager(
    page: Page, live_server, screenshot, dossiers, manager_province, officer_other_province
):
    # The chart plots completed dossiers: one per agency in Tuyên Quang, and one in Điện Biên
    # that the Tuyên Quang manager must not see.
    complete(manager_province, dossiers["lam_binh"])
    complete(manager_province, dossiers["thuong_lam"])
    complete(officer_other_province, dossiers["muong_phang"])

    base = live_server.url
    sign_in(page, base, "0900 000 201")
    page.goto(f"{base}/admin/")
    dashboard = page.locator("section#dashboard")
    expect(dashboard).to_be_visible()
    chart = dashboard.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("UBND xã Lâm Bình")
    expect(chart).to_contain_text("Sở Nội vụ Tuyên Quang")
    expect(chart).not_to_contain_text("Mường Phăng")
    expect(chart.locator("rect")).to_have_count(4)  # two agencies, 30 and 90 days
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    screenshot("dashboard-manager")
