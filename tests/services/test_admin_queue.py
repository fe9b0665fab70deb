"""The dossier work queue in the admin: scope, the action pages, bulk receive, the export,
the detail and the changelist's query count."""

import copy
import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.models import AuditLogEntry
from notifications.models import Device, Notification, PushMessage
from services.models import ServiceRequest, ServiceRequestAttachment, ServiceRequestEvent
from tests import factories as f
from tests import file_samples as samples
from tests.services.workflow import Status, make_dossier

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/services/servicerequest/"
SUPPLEMENT_SCHEMA_DOCS = [
    {"name": {"vi": "Giấy chứng sinh", "en": "Birth certificate"}, "required": True},
    {"name": {"vi": "Căn cước công dân", "en": "Citizen ID card"}, "required": True},
]


def change_url(dossier):
    return f"{CHANGELIST}{dossier.pk}/change/"


def action_url(dossier, action):
    return f"{CHANGELIST}{dossier.pk}/actions/{action}/"


@pytest.fixture
def staff(client, officer_commune):
    client.force_login(officer_commune)
    return client


@pytest.fixture
def ours(world, citizen_a):
    """A submitted dossier at the officer's own office; the applicant has a phone app."""
    Device.objects.create(user=citizen_a, token="t" * 40, platform="android")
    return make_dossier(world, citizen_a)


@pytest.fixture
def foreign(world, citizen_b):
    return make_dossier(
        world,
        citizen_b,
        agency=world["muong_phang_office"],
        administrative_unit=world["muong_phang"],
    )


def rows(response):
    return {d.pk for d in response.context["cl"].result_list}


def messages_of(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def post_action(client, dossier, action, data=None):
    return client.post(action_url(dossier, action), {"_confirm": "", **(data or {})}, follow=True)


# -- scope -------------------------------------------------------------------------------


def test_the_queue_holds_only_the_officers_agency(staff, ours, foreign):
    response = staff.get(CHANGELIST)
    assert response.status_code == 200
    assert rows(response) == {ours.pk}
    html = response.content.decode()
    assert foreign.tracking_code not in html
    # The tracking code links to the change page (the browser tests rely on it).
    assert re.search(rf'<a href="{change_url(ours)}">{ours.tracking_code}</a>', html)


def test_search_and_filters_stay_in_scope(staff, ours, foreign, world):
    assert rows(staff.get(CHANGELIST, {"q": foreign.tracking_code})) == set()
    assert rows(staff.get(CHANGELIST, {"q": "Lò Văn Pánh"})) == set()
    assert rows(staff.get(CHANGELIST, {"q": "0900000002"})) == set()
    # Asking for the foreign agency by hand shows none of its dossiers.
    filtered = staff.get(CHANGELIST, {"agency__id__exact": world["muong_phang_office"].pk})
    assert foreign.pk not in rows(filtered)


def test_the_agency_filter_lists_only_agencies_in_scope(
    client, manager_province, ours, foreign, world, citizen_a
):
    make_dossier(
        world, citizen_a, agency=world["tq_board"], administrative_unit=world["thuong_lam"]
    )
    client.force_login(manager_province)
    response = client.get(CHANGELIST)
    agency_filter = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "field_path", "") == "agency"
    )
    names = {name for _pk, name in agency_filter.lookup_choices}
    assert names == {"UBND xã Lâm Bình", "Sở Nội vụ Tuyên Quang"}
    assert "UBND xã Mường Phăng" not in response.content.decode()


def test_search_by_code_phone_in_local_format_and_name(staff, ours, citizen_a):
    assert rows(staff.get(CHANGELIST, {"q": ours.tracking_code.lower().replace("-", "")})) == {
        ours.pk
    }
    assert rows(staff.get(CHANGELIST, {"q": "0900 000 001"})) == {ours.pk}
    assert rows(staff.get(CHANGELIST, {"q": "+84900000001"})) == {ours.pk}
    assert rows(staff.get(CHANGELIST, {"q": "0001"})) == {ours.pk}
    assert rows(staff.get(CHANGELIST, {"q": "Thị Mai"})) == {ours.pk}
    assert rows(staff.get(CHANGELIST, {"q": "Nobody"})) == set()


def test_foreign_detail_action_and_receipt_urls_show_nothing(staff, ours, foreign):
    response = staff.get(change_url(foreign))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    for action in ("receive", "reject", "comment"):
        response = staff.get(action_url(foreign, action))
        assert response.status_code == 404
        assert foreign.tracking_code not in response.content.decode()
        assert staff.post(action_url(foreign, action), {"reason": "x"}).status_code == 404
    assert staff.get(f"{CHANGELIST}{foreign.pk}/receipt/").status_code == 404
    assert staff.get(f"{CHANGELIST}not-a-uuid/actions/receive/").status_code == 404
    assert staff.get(action_url(ours, "supplement")).status_code == 404  # the applicant's
    foreign.refresh_from_db()
    assert foreign.status == Status.SUBMITTED
    assert not ServiceRequestEvent.objects.filter(request=foreign).exclude(action="submit")


def test_no_adding_editing_or_deleting_dossiers(client, superuser, ours):
    client.force_login(superuser)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.get(f"{CHANGELIST}{ours.pk}/delete/").status_code == 403
    response = client.post(change_url(ours), {"status": Status.COMPLETED})
    assert response.status_code == 403
    ours.refresh_from_db()
    assert ours.status == Status.SUBMITTED


# -- the detail --------------------------------------------------------------------------


def test_the_detail_shows_only_the_actions_allowed_now(staff, ours):
    html = staff.get(change_url(ours)).content.decode()
    shown = set(re.findall(r'class="button workflow-action[^"]*" data-action="(\w+)"', html))
    assert shown == {"receive", "request_supplement", "reject", "assign", "forward", "comment"}
    assert f'href="{action_url(ours, "receive")}"' in html

    ours.status = Status.IN_PROGRESS
    ours.save()
    html = staff.get(change_url(ours)).content.decode()
    shown = set(re.findall(r'data-action="(\w+)"', html))
    assert shown == {"request_supplement", "approve", "reject", "assign", "forward", "comment"}


def test_the_detail_is_readable_and_its_read_is_audited_once(
    staff, ours, officer_commune, citizen_a
):
    schema = copy.deepcopy(ours.service.form_schema)  # the factory's dict is shared
    schema["properties"]["child"]["title"] = "Người được khai sinh"
    schema["properties"]["child"]["properties"]["full_name"]["title"] = "Họ tên"
    ours.service.form_schema = schema
    ours.service.save()
    ServiceRequestEvent.objects.create(
        request=ours, actor=officer_commune, action="comment", note="Gọi lại sau", internal=True
    )
    response = staff.get(change_url(ours))
    html = response.content.decode()
    assert "Người được khai sinh › Họ tên" in html
    assert "Hoàng Văn An" in html
    assert "Gọi lại sau" in html  # staff see internal notes
    assert "+84900000001" in html  # the applicant's phone, to call them
    assert f"{CHANGELIST}{ours.pk}/receipt/" in html
    reads = AuditLogEntry.objects.filter(action="view_personal_data", object_id=str(ours.pk))
    assert reads.count() == 1


def test_attachments_are_signed_download_links(staff, ours, citizen_a, client):
    from services import actions

    upload = SimpleUploadedFile("giay.pdf", samples.pdf_bytes(), "application/pdf")
    attachment = actions.add_request_attachment(citizen_a, ours, kind="document", upload=upload)
    html = staff.get(change_url(ours)).content.decode()
    link = re.search(r'href="(/api/v1/files/[^"]+)">giay.pdf<', html) or re.search(
        r'href="([^"]+)">giay.pdf<', html
    )
    assert link, html
    download = client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == attachment_bytes(attachment)


def attachment_bytes(attachment):
    from common.files import private_storage

    with private_storage.open(attachment.storage_name) as handle:
        return handle.read()


def test_the_admin_receipt_is_the_api_receipt(staff, ours):
    from services.api.receipt_views import render_receipt

    response = staff.get(f"{CHANGELIST}{ours.pk}/receipt/")
    assert response.status_code == 200
    assert response.content.decode() == render_receipt(ours)
    assert "no-store" in response["Cache-Control"]
    assert AuditLogEntry.objects.filter(action="view_personal_data").count() == 1


# -- the actions -------------------------------------------------------------------------


def applicant_kinds(user):
    return set(Notification.objects.filter(user=user).values_list("kind", flat=True))


def assert_transition(dossier, action, status, kind=None):
    dossier.refresh_from_db()
    assert dossier.status == status
    event = ServiceRequestEvent.objects.filter(request=dossier).latest("created_at")
    assert event.action == action
    if kind is not None:
        note = Notification.objects.get(user=dossier.applicant, kind=kind)
        assert PushMessage.objects.filter(notification=note).count() == 1
    assert AuditLogEntry.objects.filter(action=action, object_id=str(dossier.pk)).exists()


def test_the_whole_path_through_the_admin_forms(staff, ours, citizen_a):
    page = staff.get(action_url(ours, "receive"))
    html = page.content.decode()
    assert '<form id="workflow-form" method="post"' in html
    assert '<button type="submit" name="_confirm"' in html

    response = post_action(staff, ours, "receive")
    assert response.redirect_chain[-1][0] == change_url(ours)
    [(level, message)] = messages_of(response)
    assert level == "success" and ours.tracking_code in message
    assert '<ul class="messagelist">' in response.content.decode()
    assert_transition(ours, "receive", Status.RECEIVED, "service_request.received")
    assert ours.due_at is not None

    post_action(staff, ours, "start")
    assert_transition(ours, "start", Status.IN_PROGRESS, "service_request.in_progress")

    result = SimpleUploadedFile("ket-qua.pdf", samples.pdf_bytes("Ket qua"), "application/pdf")
    response = post_action(
        staff, ours, "approve", {"result": "Đã cấp giấy khai sinh", "result_file": result}
    )
    assert_transition(ours, "approve", Status.RESULT_READY, "service_request.result_ready")
    assert ServiceRequestAttachment.objects.filter(request=ours, kind="result").count() == 1
    assert ours.events.get(action="approve").note == "Đã cấp giấy khai sinh"

    post_action(staff, ours, "return_result")
    assert_transition(ours, "return_result", Status.COMPLETED, "service_request.completed")
    # Nothing left to do: no buttons.
    assert "data-action=" not in staff.get(change_url(ours)).content.decode()


def test_request_supplement_with_two_ticked_items(staff, ours, world):
    service = world["service"]
    service.required_documents = SUPPLEMENT_SCHEMA_DOCS
    service.save()
    page = staff.get(action_url(ours, "request_supplement")).content.decode()
    values = re.findall(r'<input type="checkbox" name="items" value="([^"]+)"', page)
    assert values == ["document:0", "document:1", "field:child.full_name", "field:child.birth_date"]
    assert "Giấy chứng sinh" in page and "<textarea" in page and 'name="reason"' in page

    response = post_action(
        staff,
        ours,
        "request_supplement",
        {"reason": "Thiếu giấy tờ", "items": ["document:0", "field:child.birth_date"]},
    )
    assert response.status_code == 200
    assert_transition(
        ours,
        "request_supplement",
        Status.SUPPLEMENT_REQUESTED,
        "service_request.supplement_requested",
    )
    items = [(i["kind"], i["label"], i["field"]) for i in ours.supplement_items]
    assert items == [
        ("document", "Giấy chứng sinh", ""),
        ("field", "child › birth_date", "child.birth_date"),
    ]


def test_request_supplement_needs_an_item_and_a_reason(staff, ours):
    response = post_action(staff, ours, "request_supplement", {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"reason", "__all__"}
    response = post_action(
        staff, ours, "request_supplement", {"reason": "Thiếu", "extra_item": "Sổ hộ khẩu"}
    )
    ours.refresh_from_db()
    assert ours.status == Status.SUPPLEMENT_REQUESTED
    assert [i["label"] for i in ours.supplement_items] == ["Sổ hộ khẩu"]


def test_reject_needs_a_reason_and_tells_the_applicant(staff, ours, citizen_a):
    response = post_action(staff, ours, "reject", {"reason": "  "})
    assert "reason" in response.context["form"].errors
    ours.refresh_from_db()
    assert ours.status == Status.SUBMITTED
    post_action(staff, ours, "reject", {"reason": "Không thuộc thẩm quyền"})
    assert_transition(ours, "reject", Status.REJECTED, "service_request.rejected")


def test_assign_forward_and_comment(staff, ours, world, officer_commune, manager_province):
    colleague = f.MembershipFactory(
        agency=world["lam_binh_office"], user__full_name="Hà Văn Tuấn"
    ).user
    page = staff.get(action_url(ours, "assign")).content.decode()
    assert "Hà Văn Tuấn" in page and "Nông Văn Sáu" in page
    assert "Ma Thị Hoa" not in page  # the provincial manager is not the office's staff
    post_action(staff, ours, "assign", {"assignee": colleague.pk})
    assert_transition(ours, "assign", Status.SUBMITTED)
    assert ours.assignee == colleague

    response = post_action(staff, ours, "comment", {"note": "Đã gọi điện", "internal": "on"})
    assert_transition(ours, "comment", Status.SUBMITTED)
    assert ours.events.get(action="comment").internal is True

    page = staff.get(action_url(ours, "forward")).content.decode()
    assert "Sở Nội vụ Tuyên Quang" in page and "Sở Nội vụ Điện Biên" not in page
    response = post_action(
        staff, ours, "forward", {"agency": world["tq_board"].pk, "reason": "Cấp tỉnh giải quyết"}
    )
    # The dossier left the officer's queue: back to the list, with the success message.
    assert response.redirect_chain[-1][0] == CHANGELIST
    assert any(level == "success" for level, _m in messages_of(response))
    ours.refresh_from_db()
    assert ours.agency == world["tq_board"]
    assert staff.get(change_url(ours)).status_code == 302


def test_a_domain_error_is_a_form_error_not_a_500(staff, ours):
    ours.status = Status.IN_PROGRESS
    ours.save()
    bad = SimpleUploadedFile("ket-qua.pdf", b"not a pdf at all", "application/pdf")
    response = post_action(staff, ours, "approve", {"result": "Xong", "result_file": bad})
    assert response.status_code == 200
    assert response.context["form"].errors
    ours.refresh_from_db()
    assert ours.status == Status.IN_PROGRESS


def test_an_action_not_allowed_now_sends_back_with_a_warning(staff, ours):
    response = staff.get(action_url(ours, "approve"), follow=True)
    assert response.redirect_chain[-1][0] == change_url(ours)
    assert [level for level, _m in messages_of(response)] == ["warning"]


# -- bulk receive ------------------------------------------------------------------------


def test_receive_selected_reports_done_and_skipped(staff, world, citizen_a, foreign):
    waiting = [make_dossier(world, citizen_a) for _ in range(2)]
    received = make_dossier(world, citizen_a, status=Status.RECEIVED)
    selected = [*waiting, received, foreign]
    response = staff.post(
        CHANGELIST,
        {
            "action": "receive_selected",
            "index": 0,
            "_selected_action": [str(d.pk) for d in selected],
        },
        follow=True,
    )
    levels = [level for level, _m in messages_of(response)]
    assert levels == ["success", "warning"]
    warning = messages_of(response)[1][1]
    assert received.tracking_code in warning and foreign.tracking_code not in warning
    for dossier in waiting:
        dossier.refresh_from_db()
        assert dossier.status == Status.RECEIVED
    assert Notification.objects.filter(kind="service_request.received").count() == 2
    foreign.refresh_from_db()
    assert foreign.status == Status.SUBMITTED


# -- export ------------------------------------------------------------------------------


def test_csv_export_has_no_personal_data_and_is_audited(staff, ours, foreign, world):
    overdue = make_dossier(
        world, ours.applicant, status=Status.RECEIVED, due_at=timezone.now() - timedelta(days=1)
    )
    response = staff.post(
        CHANGELIST,
        {
            "action": "export_csv",
            "index": 0,
            "_selected_action": [str(ours.pk), str(overdue.pk), str(foreign.pk)],
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {row["tracking_code"] for row in table} == {ours.tracking_code, overdue.tracking_code}
    assert list(table[0]) == [
        "tracking_code",
        "service_code",
        "agency_code",
        "commune",
        "status",
        "created_at",
        "received_at",
        "due_at",
        "completed_at",
        "is_overdue",
    ]
    by_code = {row["tracking_code"]: row for row in table}
    assert by_code[overdue.tracking_code]["is_overdue"] == "1"
    assert by_code[ours.tracking_code]["commune"] == "Xã Lâm Bình"
    for secret in ("Hoàng Thị Mai", "0900000001", "+84900000001", "Hoàng Văn An", "2026-11-01"):
        assert secret not in text
    entry = AuditLogEntry.objects.get(action="export_csv")
    assert entry.object_id == str(world["lam_binh_office"].pk)
    assert entry.details["model"] == "services.servicerequest"
    assert entry.details["count"] == 2


# -- the changelist ----------------------------------------------------------------------


def test_overdue_and_due_soon_rows_are_marked(staff, world, citizen_a):
    now = timezone.now()
    late = make_dossier(world, citizen_a, status=Status.RECEIVED, due_at=now - timedelta(hours=1))
    soon = make_dossier(world, citizen_a, status=Status.RECEIVED, due_at=now + timedelta(hours=2))
    later = make_dossier(world, citizen_a, status=Status.RECEIVED, due_at=now + timedelta(days=30))
    html = staff.get(CHANGELIST).content.decode()
    assert html.count("workflow-badge workflow-overdue") == 1
    assert html.count("workflow-badge workflow-due-soon") == 1
    assert rows(staff.get(CHANGELIST, {"overdue": "yes"})) == {late.pk}
    assert rows(staff.get(CHANGELIST, {"overdue": "no"})) == {soon.pk, later.pk}


def changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_the_changelist_costs_the_same_queries_for_1_or_30_rows(
    staff, client, world, citizen_a, superuser
):
    make_dossier(world, citizen_a)
    one = changelist_queries(staff)
    for index in range(29):
        applicant = f.UserFactory(phone=f"+8491200{index:04d}")
        make_dossier(world, applicant, status=Status.RECEIVED, assignee=None)
    assert ServiceRequest.objects.count() == 30
    assert changelist_queries(staff) == one
