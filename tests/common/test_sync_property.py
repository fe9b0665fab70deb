"""A phone following `server_time` builds exactly the server's list: my feedback, my inbox.

The approach of `tests/common/test_sync.py` (a hand-driven clock, rows stamped "late" as by a
transaction that commits up to the safety margin after it stamped them), taken to two more
lists and driven through the real actions. What is checked, precisely:

* **nothing missed** — after the last walk, the phone's copy equals the plain list (every item,
  every field, as the API shows it now), and at the end of every walk each item stamped up to
  that walk's `server_time` is already as the server shows it then (removed ones are gone);
* **nothing foreign** — no item of another person ever reaches the phone, not even as a
  removal;
* **no needless repeat** — the same version of an item (same `updated_at`) comes at most once
  per walk, and comes again in a later walk only if it was stamped after the `server_time` of
  the walk that brought it (within the safety margin, where a late commit may still land):
  an item whose `updated_at` did not change since a walk settled it is never sent again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.utils.dateparse import parse_datetime
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from common.api.sync import record_removal
from common.exceptions import DomainError
from common.models import SyncRemoval
from feedback import actions as feedback_actions
from feedback.models import Feedback
from notifications import actions as inbox_actions
from notifications.models import Notification
from services import actions as services_actions
from services.models import ServiceRequest
from tests.common.test_sync import EPOCH, MARGIN, Clock
from tests.factories import ServiceFactory
from tests.feedback.helpers import category, make_feedback

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
LATE = st.integers(0, MARGIN - 1)  # seconds between a row's stamp and its commit
PAGE_SIZE = st.integers(1, 3)
SETTINGS = hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Phone:
    """What the app does: walk pages, drop `removed`, store results, keep `server_time`."""

    client: APIClient
    url: str
    model: Any  # the list's model class
    replica: dict[str, dict[str, Any]] = field(default_factory=dict)
    since: str = EPOCH
    next: str | None = None
    walks: int = 0
    # id -> (updated_at, server_time of the walk, walk number) of its last delivery
    delivered: dict[str, tuple[datetime, Any, int]] = field(default_factory=dict)
    removed_seen: set[str] = field(default_factory=set)

    def fetch_page(self, page_size: int) -> datetime | None:
        """One page; returns the walk's server_time when this page ended the walk."""
        if self.next is None:
            response = self.client.get(
                self.url, {"updated_since": self.since, "page_size": str(page_size)}
            )
        else:
            response = self.client.get(self.next)
        assert response.status_code == 200, response.content
        body = response.json()
        walk_time = parse_datetime(body["server_time"])
        stamps = dict(
            self.model.objects.filter(pk__in=[i["id"] for i in body["results"]]).values_list(
                "pk", "updated_at"
            )
        )
        for item_id in body["removed"]:
            self.removed_seen.add(item_id)
            self.replica.pop(item_id, None)
        for item in body["results"]:
            stamp = next(v for k, v in stamps.items() if str(k) == item["id"])
            previous = self.delivered.get(item["id"])
            if previous is not None and previous[0] == stamp:
                assert previous[2] != self.walks, f"{item['id']} twice in one walk"
                assert previous[1] < stamp, f"{item['id']} sent again though settled"
            self.delivered[item["id"]] = (stamp, walk_time, self.walks)
            self.replica[item["id"]] = item
        self.next = body["next"]
        if self.next is not None:
            return None
        self.since = body["server_time"]
        self.walks += 1
        return walk_time

    def finish(self) -> None:
        while self.fetch_page(2) is None:
            pass  # a walk in progress
        while self.fetch_page(3) is None:
            pass  # and one more full sync


def plain_list(client: APIClient, url: str) -> dict[str, dict[str, Any]]:
    """The list as the API shows it now, every page."""
    items: dict[str, dict[str, Any]] = {}
    response = client.get(url, {"page_size": "100"})
    while True:
        body = response.json()
        items |= {item["id"]: item for item in body["results"]}
        if body["next"] is None:
            return items
        response = client.get(body["next"])


def check_settled(phone: Phone, settled: datetime, owner: Any, removals: dict[str, datetime]):
    """Whatever a sync from `settled` will not send again must already be right."""
    current = plain_list(phone.client, phone.url)
    stamps = phone.model.objects.filter(updated_at__lte=settled)
    for pk in stamps.values_list("pk", flat=True):
        if str(pk) in current:
            assert phone.replica.get(str(pk)) == current[str(pk)]
    for row_id, when in removals.items():
        if when <= settled:
            assert row_id not in phone.replica


@dataclass
class Run:
    """One example: the clock, the phone of citizen_a, and what left its view when."""

    clock: Clock
    phone: Phone
    owner: Any
    removals: dict[str, datetime] = field(default_factory=dict)

    def late(self, seconds: int) -> datetime:
        # Stamped `seconds` ago, committed now: a transaction that ran that long.
        return self.clock.now - timedelta(seconds=seconds)

    def page(self, page_size: int) -> None:
        settled = self.phone.fetch_page(page_size)
        if settled is not None:
            check_settled(self.phone, settled, self.owner, self.removals)

    def finish_and_compare(self, others_ids: Callable[[], set[str]]) -> None:
        self.phone.finish()
        assert self.phone.replica == plain_list(self.phone.client, self.phone.url)
        foreign = others_ids()
        assert not foreign & set(self.phone.replica)
        assert not foreign & self.phone.removed_seen


def run_in_rollback(user, url: str, model: Any, body: Callable[[Run], None]) -> None:
    clock = Clock(T0)
    with mock.patch("django.utils.timezone.now", clock), transaction.atomic():
        client = APIClient()
        client.force_authenticate(user)
        body(Run(clock=clock, phone=Phone(client, url, model), owner=user))
        transaction.set_rollback(True)


# --- My feedback: created (mine and others'), handled by staff, forwarded, withdrawn -------

STAFF_ACTIONS = ["accept", "answer", "comment", "forward", "reject"]
AUTHOR_ACTIONS = ["withdraw", "close", "reopen"]
feedback_ops = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(0, 90)),
        st.tuples(st.just("create"), st.sampled_from(["a", "b"]), LATE),
        st.tuples(st.just("staff"), st.integers(0, 30), st.sampled_from(STAFF_ACTIONS), LATE),
        st.tuples(st.just("author"), st.integers(0, 30), st.sampled_from(AUTHOR_ACTIONS), LATE),
        st.tuples(st.just("page"), PAGE_SIZE),
    ),
    max_size=30,
)


@SETTINGS
@given(ops=feedback_ops)
def test_my_feedback_on_the_phone_is_the_servers(world, citizen_a, citizen_b, superuser, ops):
    owners = {"a": citizen_a, "b": citizen_b}
    infrastructure = category()
    agencies = [world["lam_binh_office"], world["tq_board"]]

    def pick(index: int) -> Feedback | None:
        rows = list(Feedback.objects.order_by("created_at", "pk"))
        return rows[index % len(rows)] if rows else None

    def body(run: Run) -> None:
        for number, op in enumerate(ops):
            kind = op[0]
            if kind == "tick":
                run.clock.advance(seconds=op[1])
            elif kind == "create":
                item = make_feedback(
                    world,
                    owners[op[1]],
                    category=infrastructure,
                    title=f"Đèn đường thôn Nà Khà hỏng ({number})",
                )
                Feedback.objects.filter(pk=item.pk).update(
                    created_at=run.late(op[2]), updated_at=run.late(op[2])
                )
            elif kind in ("staff", "author") and (item := pick(op[1])) is not None:
                actor = superuser if kind == "staff" else item.author
                target = next(a for a in agencies if a.pk != item.agency_id)
                try:
                    feedback_actions.transition_feedback(
                        actor, item, op[2], note=f"Ý kiến số {number}", agency=target.pk
                    )
                except DomainError:
                    continue  # not allowed in this state: nothing changed
                Feedback.objects.filter(pk=item.pk).update(updated_at=run.late(op[3]))
            elif kind == "page":
                run.page(op[1])
        run.finish_and_compare(
            lambda: {str(pk) for pk in Feedback.objects.filter(author=citizen_b).values_list("pk")}
        )

    run_in_rollback(citizen_a, "/api/v1/feedback/", Feedback, body)


# --- My inbox: new rows (mine and others'), edits, reads one by one or all, removals -------

inbox_ops = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(0, 90)),
        st.tuples(st.just("create"), st.sampled_from(["a", "b"]), LATE),
        st.tuples(st.just("update"), st.integers(0, 40), LATE),
        st.tuples(st.just("read"), st.integers(0, 40)),
        st.tuples(st.just("read_all"), st.sampled_from(["a", "b"]), LATE),
        st.tuples(st.just("remove"), st.integers(0, 40), LATE),
        st.tuples(st.just("page"), PAGE_SIZE),
    ),
    max_size=40,
)


@SETTINGS
@given(ops=inbox_ops)
def test_my_inbox_on_the_phone_is_the_servers(world, citizen_a, citizen_b, ops):
    owners = {"a": citizen_a, "b": citizen_b}
    removed_of_b: set[str] = set()

    def pick(index: int) -> Notification | None:
        rows = list(Notification.objects.order_by("created_at", "pk"))
        return rows[index % len(rows)] if rows else None

    def body(run: Run) -> None:
        for number, op in enumerate(ops):
            kind = op[0]
            if kind == "tick":
                run.clock.advance(seconds=op[1])
            elif kind == "create":
                new = Notification.objects.create(
                    user=owners[op[1]],
                    kind="service_request.status_changed",
                    title=f"Hồ sơ DV-7K3M-9QX2-H có cập nhật mới ({number})",
                    body="Trạng thái hồ sơ của bạn: Đã tiếp nhận.",
                    data={"type": "service_request", "status": "received"},
                )
                Notification.objects.filter(pk=new.pk).update(
                    created_at=run.late(op[2]), updated_at=run.late(op[2])
                )
            elif kind == "update" and (row := pick(op[1])) is not None:
                Notification.objects.filter(pk=row.pk).update(
                    title=f"Hồ sơ đã được cập nhật ({number})", updated_at=run.late(op[2])
                )
            elif kind == "read" and (row := pick(op[1])) is not None:
                inbox_actions.mark_read(row)
            elif kind == "read_all":
                unread = list(
                    Notification.objects.filter(
                        user=owners[op[1]], read_at__isnull=True
                    ).values_list("pk", flat=True)
                )
                inbox_actions.mark_all_read(owners[op[1]])
                Notification.objects.filter(pk__in=unread).update(updated_at=run.late(op[2]))
            elif kind == "remove" and (row := pick(op[1])) is not None:
                row_id, owner = str(row.pk), row.user
                row.delete()
                removal = record_removal("notification", row_id, user=owner)
                SyncRemoval.objects.filter(pk=removal.pk).update(removed_at=run.late(op[2]))
                if owner == citizen_a:
                    run.removals[row_id] = run.late(op[2])
                else:
                    removed_of_b.add(row_id)
            elif kind == "page":
                run.page(op[1])
        run.finish_and_compare(
            lambda: (
                removed_of_b
                | {str(pk) for pk in Notification.objects.filter(user=citizen_b).values_list("pk")}
            )
        )

    run_in_rollback(citizen_a, "/api/v1/notifications/", Notification, body)


# --- Changes that only show through a count or a change of scope ---------------------------


def test_a_new_support_reaches_the_authors_phone(world, citizen_a, citizen_b):
    clock = Clock(T0)
    with mock.patch("django.utils.timezone.now", clock):
        item = make_feedback(world, citizen_a, status="in_progress")
        clock.advance(minutes=5)
        phone = Phone(_client(citizen_a), "/api/v1/feedback/", Feedback)
        phone.finish()
        assert phone.replica[str(item.pk)]["support_count"] == 0

        clock.advance(minutes=5)
        feedback_actions.support_feedback(citizen_b, item)
        clock.advance(minutes=5)
        phone.finish()

        assert phone.replica[str(item.pk)]["support_count"] == 1


def test_feedback_forwarded_away_leaves_the_officers_phone(
    world, citizen_a, officer_commune, manager_province
):
    clock = Clock(T0)
    with mock.patch("django.utils.timezone.now", clock):
        item = make_feedback(world, citizen_a)
        clock.advance(minutes=5)
        phone = Phone(_client(officer_commune), "/api/v1/feedback/", Feedback)
        phone.finish()
        assert str(item.pk) in phone.replica

        feedback_actions.transition_feedback(
            manager_province,
            item,
            "forward",
            note="Thuộc thẩm quyền tỉnh",
            agency=world["tq_board"].pk,
        )
        clock.advance(minutes=5)
        phone.finish()

        assert phone.replica == plain_list(phone.client, phone.url)


def test_dossier_forwarded_away_leaves_the_officers_phone(
    world, citizen_a, officer_commune, manager_province
):
    clock = Clock(T0)
    with mock.patch("django.utils.timezone.now", clock):
        dossier, _created = services_actions.submit_request(
            applicant=citizen_a,
            service=ServiceFactory(),
            commune=world["lam_binh"],
            form_data={"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}},
        )
        clock.advance(minutes=5)
        phone = Phone(_client(officer_commune), "/api/v1/requests/", ServiceRequest)
        phone.finish()
        assert str(dossier.pk) in phone.replica

        services_actions.transition_request(
            manager_province,
            dossier,
            "forward",
            note="Thuộc thẩm quyền tỉnh",
            agency=world["tq_board"].pk,
        )
        clock.advance(minutes=5)
        phone.finish()

        assert str(dossier.pk) not in phone.replica
        assert phone.replica == plain_list(phone.client, phone.url)
        # The applicant still follows it.
        applicant = Phone(_client(citizen_a), "/api/v1/requests/", ServiceRequest)
        applicant.finish()
        assert str(dossier.pk) in applicant.replica


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
