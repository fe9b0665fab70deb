"""The feedback work queue in the admin: scope, the action pages, anonymity, the export and
the changelist's query count."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.models import AuditLogEntry
from feedback.models import Feedback, FeedbackEvent, FeedbackSupport
from notifications.models import Device, Notification, PushMessage
from tests import factories as f
from tests.feedback.helpers import category, make_feedback

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/feedback/feedback/"
Status = Feedback.Status


def change_url(item):
    return f"{CHANGELIST}{item.pk}/change/"


def action_url(item, action):
    return f"{CHANGELIST}{item.pk}/actions/{action}/"


def rows(response):
    return {item.pk for item in response.context["cl"].result_list}


def messages_of(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def post_action(client, item, action, data=None):
    return client.post(action_url(item, action), {"_confirm": "", **(data or {})}, follow=True)


@pytest.fixture
def staff(client, officer_commune):
    client.force_login(officer_commune)
    return client


@pytest.fixture
def ours(world, citizen_a):
    Device.objects.create(user=citizen_a, token="t" * 40, platform="android")
    return make_feedback(
        world, citizen_a, latitude=Decimal("22.412345"), longitude=Decimal("105.212345")
    )


@pytest.fixture
def anonymous(world, citizen_b):
    return make_feedback(world, citizen_b, is_anonymous=True, title="Đường bản bị sạt lở")


@pytest.fixture
def foreign(world, citizen_b):
    return make_feedback(world, citizen_b, commune=world["muong_phang"], title="Nước sinh hoạt")


def test_the_queue_holds_only_the_officers_agency(staff, ours, anonymous, foreign):
    response = staff.get(CHANGELIST)
    assert rows(response) == {ours.pk, anonymous.pk}
    html = response.content.decode()
    assert foreign.tracking_code not in html
    assert re.search(rf'<a href="{change_url(ours)}">{ours.tracking_code}</a>', html)
    assert rows(staff.get(CHANGELIST, {"q": foreign.tracking_code})) == set()
    assert rows(staff.get(CHANGELIST, {"q": "Nước sinh hoạt"})) == set()
    assert rows(staff.get(CHANGELIST, {"q": "Cầu treo"})) == {ours.pk}


def test_foreign_detail_and_action_urls_show_nothing(staff, foreign):
    response = staff.get(change_url(foreign))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    for action in ("accept", "reject", "answer"):
        assert staff.get(action_url(foreign, action)).status_code == 404
        assert staff.post(action_url(foreign, action), {"reason": "x"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Status.SUBMITTED


def test_an_officers_own_feedback_as_a_citizen_is_not_in_the_queue(
    staff, world, officer_commune, ours
):
    own = make_feedback(world, officer_commune)
    assert own.agency == world["lam_binh_office"]
    # Routed to their own office, so it is theirs to handle; one at the province is not.
    province = make_feedback(world, officer_commune, category=category("environment", "province"))
    assert province.agency == world["tq_board"]
    assert province.pk not in rows(staff.get(CHANGELIST))


def test_an_anonymous_author_stays_hidden(staff, anonymous, ours, citizen_a, citizen_b):
    for url in (CHANGELIST, change_url(anonymous)):
        html = staff.get(url).content.decode()
        assert "Lò Văn Pánh" not in html and "900000002" not in html
    detail = staff.get(change_url(anonymous)).content.decode()
    assert "Ẩn danh" in detail or "Anonymous" in detail
    # Searching by the anonymous author's phone finds nothing; a named author's does.
    assert rows(staff.get(CHANGELIST, {"q": "0900000002"})) == set()
    assert rows(staff.get(CHANGELIST, {"q": "0900 000 001"})) == {ours.pk}
    named = staff.get(change_url(ours)).content.decode()
    assert "Hoàng Thị Mai" in named and "+84900000001" in named
    # Coordinates are never shown.
    assert "22.412345" not in named and "105.212345" not in named
    reads = AuditLogEntry.objects.filter(action="view_personal_data", object_id=str(ours.pk))
    # One read of the detail page; the changelist's rows are audited as list reads.
    assert reads.exclude(details__has_key="list").count() == 1
    assert reads.filter(details__list="admin").count() == 2


def test_the_detail_shows_only_the_actions_allowed_now(staff, ours):
    html = staff.get(change_url(ours)).content.decode()
    assert set(re.findall(r'data-action="(\w+)"', html)) == {
        "accept",
        "reject",
        "mark_duplicate",
        "forward",
        "comment",
    }
    post_action(staff, ours, "accept")
    html = staff.get(change_url(ours)).content.decode()
    assert set(re.findall(r'data-action="(\w+)"', html)) == {
        "answer",
        "reject",
        "mark_duplicate",
        "forward",
        "comment",
    }


def assert_transition(item, action, status, kind=None):
    item.refresh_from_db()
    assert item.status == status
    assert FeedbackEvent.objects.filter(feedback=item).latest("created_at").action == action
    if kind is not None:
        note = Notification.objects.get(user=item.author, kind=kind)
        assert PushMessage.objects.filter(notification=note).count() == 1
    assert AuditLogEntry.objects.filter(action=action, object_id=str(item.pk)).exists()


def test_accept_then_answer_through_the_admin_forms(staff, ours, citizen_b):
    FeedbackSupport.objects.create(feedback=ours, user=citizen_b)
    page = staff.get(action_url(ours, "accept")).content.decode()
    assert '<form id="workflow-form" method="post"' in page
    response = post_action(staff, ours, "accept")
    assert response.redirect_chain[-1][0] == change_url(ours)
    assert [level for level, _m in messages_of(response)] == ["success"]
    assert '<ul class="messagelist">' in response.content.decode()
    assert_transition(ours, "accept", Status.IN_PROGRESS, "feedback.accepted")

    response = post_action(staff, ours, "answer", {"answer": ""})
    assert "answer" in response.context["form"].errors
    post_action(staff, ours, "answer", {"answer": "Xã đã sửa cầu ngày 20/11."})
    assert_transition(ours, "answer", Status.ANSWERED, "feedback.answered")
    assert ours.answer == "Xã đã sửa cầu ngày 20/11."
    # Supporters hear of the answer too.
    assert Notification.objects.filter(user=citizen_b, kind="feedback.answered").exists()


def test_reject_needs_a_reason(staff, ours):
    response = post_action(staff, ours, "reject", {"reason": ""})
    assert 'name="reason"' in response.content.decode()
    assert "reason" in response.context["form"].errors
    post_action(staff, ours, "reject", {"reason": "Không thuộc thẩm quyền"})
    assert_transition(ours, "reject", Status.REJECTED, "feedback.rejected")


def test_mark_duplicate_by_tracking_code_in_scope(staff, ours, anonymous, foreign):
    response = post_action(
        staff, anonymous, "mark_duplicate", {"duplicate_of": foreign.tracking_code}
    )
    assert "duplicate_of" in response.context["form"].errors
    code = ours.tracking_code.lower().replace("-", " ")
    post_action(staff, anonymous, "mark_duplicate", {"duplicate_of": code})
    assert_transition(anonymous, "mark_duplicate", Status.REJECTED, None)
    assert anonymous.duplicate_of == ours
    assert Notification.objects.filter(user=anonymous.author, kind="feedback.duplicate").exists()


def test_forward_and_comment(staff, ours, world):
    post_action(staff, ours, "comment", {"note": "Đã xuống kiểm tra", "internal": "on"})
    assert_transition(ours, "comment", Status.SUBMITTED)
    page = staff.get(action_url(ours, "forward")).content.decode()
    assert "Sở Nội vụ Tuyên Quang" in page and "Sở Nội vụ Điện Biên" not in page
    response = post_action(
        staff, ours, "forward", {"agency": world["tq_board"].pk, "reason": "Vượt thẩm quyền xã"}
    )
    assert response.redirect_chain[-1][0] == CHANGELIST
    assert_transition(ours, "forward", Status.SUBMITTED, "feedback.forwarded")
    assert ours.agency == world["tq_board"]


def test_accept_selected(staff, ours, anonymous, foreign):
    Feedback.objects.filter(pk=anonymous.pk).update(status=Status.IN_PROGRESS)
    response = staff.post(
        CHANGELIST,
        {
            "action": "accept_selected",
            "index": 0,
            "_selected_action": [str(ours.pk), str(anonymous.pk), str(foreign.pk)],
        },
        follow=True,
    )
    assert [level for level, _m in messages_of(response)] == ["success", "warning"]
    ours.refresh_from_db()
    foreign.refresh_from_db()
    assert ours.status == Status.IN_PROGRESS and foreign.status == Status.SUBMITTED


def test_csv_export_without_identity_or_coordinates(staff, ours, anonymous, world):
    response = staff.post(
        CHANGELIST,
        {"action": "export_csv", "index": 0, "_selected_action": [str(ours.pk), str(anonymous.pk)]},
    )
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {row["tracking_code"] for row in table} == {ours.tracking_code, anonymous.tracking_code}
    assert {row["commune"] for row in table} == {"Xã Lâm Bình"}
    for secret in ("Hoàng Thị Mai", "Lò Văn Pánh", "900000001", "900000002", "22.41", "105.21"):
        assert secret not in text
    entry = AuditLogEntry.objects.get(action="export_csv")
    assert entry.details["model"] == "feedback.feedback" and entry.details["count"] == 2


def changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    return len(queries)


def test_the_changelist_costs_the_same_queries_for_1_or_30_rows(staff, world, citizen_a):
    make_feedback(world, citizen_a)
    one = changelist_queries(staff)
    for index in range(29):
        make_feedback(world, f.UserFactory(phone=f"+8491300{index:04d}"))
    assert Feedback.objects.count() == 30
    assert changelist_queries(staff) == one


def test_no_url_lookup_unmasks_an_anonymous_author(staff, world, anonymous, citizen_b):
    """An officer who knows a citizen's id (from a named item) cannot list that citizen's
    anonymous feedback by filtering the changelist on the author or on coordinates."""
    named = make_feedback(world, citizen_b, title="Cầu treo hỏng")
    for params in (
        {"author": str(citizen_b.pk), "is_anonymous": "1"},
        {"author__id__exact": str(citizen_b.pk)},
        {"author__phone": citizen_b.phone},
        {"latitude__gt": "0"},
        {"is_anonymous__exact": "1"},
        {"o": "author"},
    ):
        response = staff.get(CHANGELIST, params)
        listed = rows(response) if response.status_code == 200 and response.context else set()
        assert anonymous.pk not in listed or listed == {anonymous.pk, named.pk}, params
        if not params.get("o"):
            assert response.status_code == 400, params
    # The queue's own filters still work.
    assert rows(staff.get(CHANGELIST, {"status__exact": "submitted"})) == {anonymous.pk, named.pk}
    hierarchy = staff.get(CHANGELIST, {"created_at__year": str(named.created_at.year)})
    assert rows(hierarchy) == {anonymous.pk, named.pk}
