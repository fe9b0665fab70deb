"""`?updated_since=` sync of the lists a phone keeps: results, `removed`, `server_time`."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from common.api.sync import record_removal
from common.models import SyncRemoval
from notifications.models import Notification
from services.actions import (
    offer_service,
    submit_request,
    transition_request,
    withdraw_service,
)
from services.models import PublicService, ServiceCategory
from tests import factories as f
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

EPOCH = "1970-01-01T00:00:00Z"
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}


class Clock:
    """A hand-driven `timezone.now()`: stamps and `server_time` both read it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    clock = Clock(T0)
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


def stamp(obj, when):
    """Set `updated_at` as a transaction stamped at `when` would have."""
    type(obj).objects.filter(pk=obj.pk).update(updated_at=when)


def sync(client, url, since, **params):
    response = client.get(url, {"updated_since": since, **params})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def services(world):
    """Three services stamped an hour apart (the world's own is the oldest)."""
    first = world["service"]
    second = f.ServiceFactory(code="marriage-registration", category=first.category)
    third = f.ServiceFactory(code="death-registration", category=first.category)
    for hours, service in enumerate((first, second, third)):
        stamp(service, T0 + timedelta(hours=hours))
    return first, second, third


def test_only_later_items_oldest_first_with_server_time(clock, services):
    clock.now = T0 + timedelta(days=1)
    body = sync(APIClient(), "/api/v1/services/", T0.isoformat())

    assert [item["code"] for item in body["results"]] == [
        "marriage-registration",
        "death-registration",
    ]
    assert body["removed"] == []
    assert body["next"] is None and body["previous"] is None
    # now minus the safety margin, with the offset of the server's time zone
    assert body["server_time"] == "2026-05-02T14:59:00+07:00"
    assert parse_datetime(body["server_time"]) == clock.now - timedelta(seconds=60)


def test_strictly_later_and_any_offset(services):
    second = T0 + timedelta(hours=1)
    api = APIClient()
    assert [i["code"] for i in sync(api, "/api/v1/services/", second.isoformat())["results"]] == [
        "death-registration"
    ]
    local = second.astimezone(timezone.get_fixed_timezone(7 * 60)).isoformat()
    assert len(sync(api, "/api/v1/services/", local)["results"]) == 1
    assert len(sync(api, "/api/v1/services/", "2026-05-01T09:00:00Z")["results"]) == 1


def test_the_plain_list_has_no_sync_envelope(services):
    body = APIClient().get("/api/v1/services/").json()
    assert set(body) == {"next", "previous", "results"}
    assert [i["code"] for i in body["results"]] == [
        "birth-registration",
        "death-registration",
        "marriage-registration",
    ]


def test_a_withdrawn_service_is_reported_removed_to_everyone(clock, services, citizen_a):
    since = (T0 + timedelta(hours=5)).isoformat()
    clock.now = T0 + timedelta(hours=6)

    withdraw_service(services[1])

    for client in (APIClient(), client_for(citizen_a)):
        body = sync(client, "/api/v1/services/", since)
        assert body["removed"] == ["marriage-registration"]
        assert body["results"] == []
    # A phone that synced after the withdrawal hears nothing more of it.
    assert sync(APIClient(), "/api/v1/services/", clock.now.isoformat())["removed"] == []
    services[1].refresh_from_db()
    assert services[1].is_active is False
    assert APIClient().get("/api/v1/services/marriage-registration/").status_code == 404


def test_withdrawing_twice_records_one_removal(services):
    withdraw_service(services[0])
    withdraw_service(services[0])
    assert SyncRemoval.objects.filter(kind="service", object_id="birth-registration").count() == 1


def test_a_service_withdrawn_and_offered_again_is_in_results_not_removed(clock, services):
    since = (T0 + timedelta(hours=5)).isoformat()
    clock.now = T0 + timedelta(hours=6)
    withdraw_service(services[2])
    clock.advance(minutes=5)
    offer_service(services[2])

    body = sync(APIClient(), "/api/v1/services/", since)

    assert [i["code"] for i in body["results"]] == ["death-registration"]
    assert body["removed"] == []


def test_the_admin_withdraws_and_offers_again_through_the_actions(client, superuser, services):
    client.force_login(superuser)
    changelist = "/admin/services/publicservice/"
    selected = {"_selected_action": [services[0].pk, services[1].pk]}

    client.post(changelist, {"action": "withdraw_from_catalog", **selected})

    assert set(SyncRemoval.objects.values_list("object_id", flat=True)) == {
        "birth-registration",
        "marriage-registration",
    }
    assert not PublicService.objects.filter(pk=services[0].pk, is_active=True).exists()
    client.post(changelist, {"action": "offer_again", "_selected_action": [services[0].pk]})
    assert PublicService.objects.get(pk=services[0].pk).is_active
    # The form cannot switch it behind the sync's back.
    page = client.get(f"{changelist}{services[0].pk}/change/")
    assert b'name="is_active"' not in page.content


def test_a_removal_for_one_user_is_invisible_to_others(citizen_a, citizen_b):
    record_removal("notification", "5d7a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a", user=citizen_a)
    record_removal("notification", "0b9a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a")
    record_removal("service_request", "1c9a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a", user=citizen_a)

    mine = sync(client_for(citizen_a), "/api/v1/notifications/", EPOCH)["removed"]
    theirs = sync(client_for(citizen_b), "/api/v1/notifications/", EPOCH)["removed"]

    assert mine == [
        "5d7a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a",
        "0b9a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a",
    ]
    assert theirs == ["0b9a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a"]
    requests = sync(client_for(citizen_a), "/api/v1/requests/", EPOCH)["removed"]
    assert requests == ["1c9a1f0e-8a53-4c55-9a0b-6f1e2d3c4b5a"]


def test_my_dossiers_sync_and_a_transition_moves_one_to_the_end(
    clock, world, citizen_a, citizen_b, officer_commune
):
    mine = []
    for minutes in range(3):
        clock.now = T0 + timedelta(minutes=minutes)
        dossier, _ = submit_request(
            applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=FORM
        )
        mine.append(dossier)
    submit_request(
        applicant=citizen_b, service=world["service"], commune=world["lam_binh"], form_data=FORM
    )
    client = client_for(citizen_a)
    clock.advance(minutes=5)  # past the safety margin: nothing comes twice
    first = sync(client, "/api/v1/requests/", EPOCH)
    assert [i["id"] for i in first["results"]] == [str(d.pk) for d in mine]

    clock.now = T0 + timedelta(hours=1)
    transition_request(officer_commune, mine[0], "receive")
    clock.advance(minutes=2)

    later = sync(client, "/api/v1/requests/", first["server_time"])
    assert [(i["id"], i["status"]) for i in later["results"]] == [(str(mine[0].pk), "received")]
    # The officer's own view syncs too: all four, oldest first.
    staff = sync(client_for(officer_commune), "/api/v1/requests/", EPOCH)
    assert len(staff["results"]) == 4


def test_reading_a_notification_brings_it_back_in_the_sync(clock, citizen_a):
    note = Notification.objects.create(user=citizen_a, kind="k", title="Xin chào", body="b")
    client = client_for(citizen_a)
    clock.advance(minutes=5)
    first = sync(client, "/api/v1/notifications/", EPOCH)
    assert [i["read_at"] for i in first["results"]] == [None]

    assert client.post(f"/api/v1/notifications/{note.pk}/read/").status_code == 204

    again = sync(client, "/api/v1/notifications/", first["server_time"])
    assert [i["id"] for i in again["results"]] == [str(note.pk)]
    assert again["results"][0]["read_at"] is not None


def test_categories_sync(clock, world):
    category = ServiceCategory.objects.get()
    clock.advance(hours=1)
    late = f.CategoryFactory(code="land", name={"vi": "Đất đai"})
    body = sync(APIClient(), "/api/v1/service-categories/", (T0 + timedelta(minutes=1)).isoformat())
    assert [i["code"] for i in body["results"]] == [late.code]
    assert category.code not in body["removed"]


def test_a_walk_over_rows_stamped_alike_visits_each_once(clock, world):
    for i in range(7):
        f.ServiceFactory(code=f"service-{i}", category=world["service"].category)
    # One bulk update: eight rows with the very same stamp.
    PublicService.objects.update(updated_at=T0)
    record_removal("service", "retired-service")
    clock.advance(minutes=10)
    api = APIClient()

    body = sync(api, "/api/v1/services/", EPOCH, page_size=3)
    seen, server_times, removed = [], set(), [body["removed"]]
    while True:
        seen += [i["code"] for i in body["results"]]
        server_times.add(body["server_time"])
        assert body["previous"] is None
        if body["next"] is None:
            break
        clock.advance(minutes=1)  # the walk takes time; server_time does not move
        body = api.get(body["next"]).json()
        removed.append(body["removed"])

    assert sorted(seen) == sorted(PublicService.objects.values_list("code", flat=True))
    assert len(seen) == 8
    assert len(server_times) == 1
    assert removed == [["retired-service"], [], []]


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-05-01",
        "2026-13-01T00:00:00Z",
        "2026-05-01T25:00:00+07:00",
        "0001-01-01T00:00:00+07:00",
        "9999-12-31T23:59:59-05:00",
        "1714550400",
    ],
)
def test_a_malformed_updated_since_is_a_400(services, value):
    response = APIClient().get("/api/v1/services/", {"updated_since": value})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [(e["attr"], e["code"]) for e in body["errors"]] == [("updated_since", "invalid")]


def test_a_time_without_offset_is_a_400_that_says_so(world, citizen_a):
    response = client_for(citizen_a).get(
        "/api/v1/notifications/",
        {"updated_since": "2026-05-01T08:00:00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "offset" in response.json()["errors"][0]["detail"]


def test_an_unencoded_plus_is_read_as_one(services):
    # `?updated_since=2026-05-01T08:30:00+07:00` typed by hand: the + arrives as a space.
    response = APIClient().get("/api/v1/services/?updated_since=2026-05-01T08:30:00+07:00")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3  # 01:30Z is before all of them


def test_a_blank_updated_since_is_the_plain_list(services):
    assert set(APIClient().get("/api/v1/services/?updated_since=").json()) == {
        "next",
        "previous",
        "results",
    }


# A phone that follows `server_time` misses nothing, whatever the interleaving of writes,
# late commits and syncs, and whatever the page size.

MARGIN = 60  # seconds: SYNC_SAFETY_MARGIN_SECONDS
LATE = st.integers(0, MARGIN - 1)  # how long before its commit a row was stamped
operations = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(0, 90)),
        st.tuples(st.just("create"), st.sampled_from(["a", "b"]), LATE),
        st.tuples(st.just("update"), st.integers(0, 40), LATE),
        st.tuples(st.just("read"), st.integers(0, 40)),
        st.tuples(st.just("remove"), st.integers(0, 40), LATE),
        st.tuples(st.just("page"), st.integers(1, 3)),
    ),
    max_size=40,
)


class Phone:
    """What the app does: walk pages, drop `removed`, store results, keep `server_time`."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.replica: dict[str, tuple[str, object]] = {}
        self.since = EPOCH
        self.next: str | None = None
        self.removed_seen: set[str] = set()

    def fetch_page(self, page_size: int) -> str | None:
        """One page; returns the walk's server_time when this page ended the walk."""
        if self.next is None:
            response = self.client.get(
                "/api/v1/notifications/", {"updated_since": self.since, "page_size": str(page_size)}
            )
        else:
            response = self.client.get(self.next)
        assert response.status_code == 200, response.content
        body = response.json()
        for item_id in body["removed"]:
            self.removed_seen.add(item_id)
            self.replica.pop(item_id, None)
        for item in body["results"]:
            self.replica[item["id"]] = (item["title"], item["read_at"])
        self.next = body["next"]
        if self.next is None:
            self.since = body["server_time"]
            return body["server_time"]
        return None


def server_view(user):
    return {
        str(n.pk): (n.title, n.read_at)
        for n in Notification.objects.filter(user=user).order_by("pk")
    }


def as_api(view):
    from rest_framework.fields import DateTimeField

    field = DateTimeField()
    return {
        key: (title, field.to_representation(read_at) if read_at else None)
        for key, (title, read_at) in view.items()
    }


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
# A walk that outlasts the margin while a late commit lands behind its cursor: only a
# server_time fixed when the walk started lets the next sync fetch that row.
@example(
    ops=[
        ("create", "a", 0),
        ("create", "a", 0),
        ("tick", 120),
        ("page", 1),
        ("create", "a", 0),
        ("create", "a", 0),
        ("page", 1),
        ("page", 1),
        ("tick", 50),
        ("create", "a", 59),
        ("tick", 10),
        ("page", 1),
    ]
)
def test_a_phone_following_server_time_never_misses_an_item(world, citizen_a, citizen_b, ops):
    clock = Clock(T0)
    versions = iter(range(10**6))
    with mock.patch("django.utils.timezone.now", clock), transaction.atomic():
        client = APIClient()
        client.force_authenticate(citizen_a)
        phone = Phone(client)
        owners = {"a": citizen_a, "b": citizen_b}
        removed_of_b: set[str] = set()
        removals: dict[str, datetime] = {}  # citizen_a's removed ids and their stamps

        def late(seconds: int) -> datetime:
            # Stamped `seconds` ago, committed now: a transaction that ran that long.
            return clock.now - timedelta(seconds=seconds)

        def pick(index: int) -> Notification | None:
            rows = list(Notification.objects.order_by("created_at", "pk"))
            return rows[index % len(rows)] if rows else None

        for op in ops:
            kind = op[0]
            if kind == "tick":
                clock.advance(seconds=op[1])
            elif kind == "create":
                row = Notification.objects.create(
                    user=owners[op[1]], kind="k", title=f"v{next(versions)}", body="b"
                )
                Notification.objects.filter(pk=row.pk).update(
                    created_at=late(op[2]), updated_at=late(op[2])
                )
            elif kind == "update" and (row := pick(op[1])) is not None:
                Notification.objects.filter(pk=row.pk).update(
                    title=f"v{next(versions)}", updated_at=late(op[2])
                )
            elif kind == "read" and (row := pick(op[1])) is not None and row.read_at is None:
                row.read_at = clock.now
                row.save(update_fields=["read_at", "updated_at"])
            elif kind == "remove" and (row := pick(op[1])) is not None:
                row_id, owner = str(row.pk), row.user
                row.delete()
                removal = record_removal("notification", row_id, user=owner)
                SyncRemoval.objects.filter(pk=removal.pk).update(removed_at=late(op[2]))
                if owner == citizen_a:
                    removals[row_id] = late(op[2])
                else:
                    removed_of_b.add(row_id)
            elif kind == "page":
                server_time = phone.fetch_page(op[1])
                if server_time is not None:
                    # What the next sync will not send again must already be right.
                    settled = parse_datetime(server_time)
                    current = as_api(server_view(citizen_a))
                    for row in Notification.objects.filter(user=citizen_a, updated_at__lte=settled):
                        assert phone.replica.get(str(row.pk)) == current[str(row.pk)]
                    for row_id, when in removals.items():
                        if when <= settled:
                            assert row_id not in phone.replica

        while phone.fetch_page(2) is None:
            pass  # finish a walk in progress
        while phone.fetch_page(3) is None:
            pass  # and one more full sync

        assert phone.replica == as_api(server_view(citizen_a))
        assert not phone.removed_seen & removed_of_b
        transaction.set_rollback(True)


def test_an_offset_postgresql_does_not_take_is_read_as_the_same_moment(services):
    # +17:49 is valid ISO 8601 (and for Python) but past PostgreSQL's ±15:59: it used to be
    # a 500 there. The moment is what counts: 08:30+17:49 is 14:41Z the day before.
    response = APIClient().get("/api/v1/services/", {"updated_since": "2026-05-01T08:30:00+17:49"})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 3
