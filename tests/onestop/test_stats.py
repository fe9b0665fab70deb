"""Public statistics of an agency (`GET stats/agencies/{id}/`) and the aggregates behind it."""

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency
from common.tracking import new_tracking_code
from feedback.models import Feedback, FeedbackRating
from onestop.stats import dossiers as dossier_stats
from onestop.stats import feedback as feedback_stats
from onestop.stats.tallies import OnTimeTally, RatingTally
from services.models import ServiceRequest, ServiceRequestEvent, ServiceRequestRating
from tests.conftest import client_for
from tests.feedback.helpers import category
from tests.spec import parameters as spec_parameters

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
Status = ServiceRequest.Status
JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}


def at(day: int, hour: int = 10, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=VN)


def dossier(
    world,
    applicant,
    agency="lam_binh_office",
    status=Status.SUBMITTED,
    *,
    created=None,
    due=None,
    completed=None,
    rating=None,
):
    """A dossier written straight to the database; `completed` is when `return_result` ran."""
    item = ServiceRequest.objects.create(
        tracking_code=new_tracking_code("DV"),
        service=world["service"],
        applicant=applicant,
        administrative_unit=world["lam_binh"],
        agency=world[agency],
        status=Status.COMPLETED if completed else status,
        due_at=due,
    )
    ServiceRequest.objects.filter(pk=item.pk).update(created_at=created or at(10))
    if completed:
        event = ServiceRequestEvent.objects.create(
            request=item,
            action="return_result",
            from_status=Status.RESULT_READY,
            to_status=Status.COMPLETED,
        )
        ServiceRequestEvent.objects.filter(pk=event.pk).update(created_at=completed)
    if rating:
        given = ServiceRequestRating.objects.create(request=item, author=applicant, score=rating)
        ServiceRequestRating.objects.filter(pk=given.pk).update(
            created_at=(completed or created or at(10)) + timedelta(hours=1)
        )
    return item


def feedback(
    world, author, agency="lam_binh_office", status="submitted", *, created=None, rating=None
):
    item = Feedback.objects.create(
        tracking_code=new_tracking_code("PA"),
        author=author,
        category=category(),
        administrative_unit=world["lam_binh"],
        title="Đường vào bản bị sạt lở",
        content="Sạt lở sau mưa lớn, xe máy không đi được.",
        agency=world[agency],
        status=status,
        answered_at=at(12) if status in ("answered", "closed") else None,
    )
    Feedback.objects.filter(pk=item.pk).update(created_at=created or at(10))
    if rating:
        given = FeedbackRating.objects.create(feedback=item, author=author, score=rating)
        FeedbackRating.objects.filter(pk=given.pk).update(created_at=at(13))
    return item


def client_for_anonymous():
    return APIClient()


def stats(agency, **params):
    response = client_for_anonymous().get(f"/api/v1/stats/agencies/{agency.pk}/", params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def january(world, citizen_a, citizen_b):
    """Dossiers and feedback of January 2026 in two provinces.

    Lâm Bình office (Tuyên Quang): 3 completed (2 on time, 1 late; rated 5, 4, 2), one
    overdue in progress, one new. Tuyên Quang board: 1 completed on time (rated 3).
    Mường Phăng office (Điện Biên): 1 completed late (rated 1), one new.
    """
    due = at(20)
    made = {
        "on_time_1": dossier(world, citizen_a, completed=at(18), due=due, rating=5),
        "on_time_2": dossier(world, citizen_a, completed=at(20, hour=9), due=due, rating=4),
        "late": dossier(world, citizen_b, completed=at(22), due=due, rating=2),
        "overdue": dossier(world, citizen_a, status=Status.IN_PROGRESS, due=due),
        "new": dossier(world, citizen_b),
        "board": dossier(world, citizen_a, "tq_board", completed=at(15), due=due, rating=3),
        "other_province_late": dossier(
            world, citizen_b, "muong_phang_office", completed=at(25), due=due, rating=1
        ),
        "other_province_new": dossier(world, citizen_b, "muong_phang_office"),
    }
    feedback(world, citizen_a, status="answered", rating=4)
    feedback(world, citizen_b, status="closed", rating=5)
    feedback(world, citizen_a, status="in_progress")
    feedback(world, citizen_b, "muong_phang_office", status="answered", rating=1)
    return made


# -- the aggregate functions -------------------------------------------------------------------


def test_on_time_and_ratings_are_tallied_per_agency(world, january):
    agencies = Agency.objects.all()
    start, end = at(1, 0), at(1, 0, month=2)

    on_time = dossier_stats.on_time_by_agency(agencies, start, end)
    ratings = dossier_stats.ratings_by_agency(agencies, start, end)

    assert on_time == {
        world["lam_binh_office"].pk: OnTimeTally(completed=3, on_time=2),
        world["tq_board"].pk: OnTimeTally(completed=1, on_time=1),
        world["muong_phang_office"].pk: OnTimeTally(completed=1, on_time=0),
    }
    assert ratings[world["lam_binh_office"].pk] == RatingTally(count=3, total=11)
    assert ratings[world["muong_phang_office"].pk].average == 1.0
    assert OnTimeTally(3, 2).rate == 66.7
    assert OnTimeTally().rate is None
    assert (RatingTally(3, 11) + RatingTally(1, 3)).average == 3.5


def test_completion_on_the_due_instant_is_on_time(world, citizen_a):
    dossier(world, citizen_a, completed=at(20), due=at(20))
    tally = dossier_stats.on_time_by_agency(Agency.objects.all(), at(1, 0), at(31, 0))
    assert tally[world["lam_binh_office"].pk] == OnTimeTally(completed=1, on_time=1)


def test_workload_counts_what_is_on_the_desks(world, citizen_a):
    now = timezone.now()
    week_end = now + timedelta(days=3)
    dossier(world, citizen_a, status=Status.SUBMITTED)
    dossier(world, citizen_a, status=Status.RECEIVED, due=now + timedelta(days=1))
    dossier(world, citizen_a, status=Status.IN_PROGRESS, due=now + timedelta(days=10))
    dossier(world, citizen_a, status=Status.SUPPLEMENT_REQUESTED, due=now - timedelta(days=1))
    dossier(world, citizen_a, status=Status.IN_PROGRESS, due=now - timedelta(hours=1))
    # Done, or waiting only for the applicant to collect it: never overdue, never due.
    dossier(world, citizen_a, status=Status.RESULT_READY, due=now - timedelta(days=1))
    dossier(world, citizen_a, status=Status.REJECTED, due=now + timedelta(days=1))
    dossier(world, citizen_a, "muong_phang_office", status=Status.SUBMITTED)

    workload = dossier_stats.dossier_workload(
        Agency.objects.filter(pk=world["lam_binh_office"].pk),
        now,
        week_end,
    )

    assert workload == dossier_stats.DossierWorkload(
        new=1, in_progress=3, awaiting_supplement=1, overdue=2, due_this_week=1
    )


# -- the endpoint ------------------------------------------------------------------------------


def test_a_provincial_board_counts_its_subtree_and_nothing_else(world, january):
    body = stats(world["tq_board"], **JANUARY)

    assert body["agency"] == {
        "id": str(world["tq_board"].pk),
        "code": "tq-board",
        "name": "Sở Nội vụ Tuyên Quang",
    }
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-31")
    requests = body["requests"]
    assert requests["total"] == 6
    # Figures resting on 1–4 items are withheld (a commune is small: they could point at a
    # person); zeros and larger figures are shown.
    assert requests["by_status"] == {
        "submitted": None,
        "received": 0,
        "supplement_requested": 0,
        "in_progress": None,
        "result_ready": 0,
        "completed": None,
        "rejected": 0,
        "cancelled": 0,
    }
    # 3 of 4 completed by their due date, 4 ratings: too few to publish.
    assert requests["on_time_rate"] is None
    assert requests["overdue"] is None
    assert requests["average_rating"] is None
    assert body["feedback"] == {
        "total": None,
        "by_status": {
            "submitted": 0,
            "in_progress": None,
            "answered": None,
            "closed": None,
            "rejected": 0,
            "withdrawn": 0,
        },
        "average_rating": None,
    }
    assert set(body["suppressed"]) == {
        "requests.by_status.submitted",
        "requests.by_status.in_progress",
        "requests.by_status.completed",
        "requests.on_time_rate",
        "requests.overdue",
        "requests.average_rating",
        "feedback.total",
        "feedback.by_status.in_progress",
        "feedback.by_status.answered",
        "feedback.by_status.closed",
        "feedback.average_rating",
    }


def test_a_commune_office_counts_only_itself(world, january):
    requests = stats(world["lam_binh_office"], **JANUARY)["requests"]
    assert requests["total"] == 5
    # 3 completed, 3 ratings: withheld.
    assert requests["on_time_rate"] is None
    assert requests["average_rating"] is None


def test_the_other_province_and_the_root(world, january):
    other = stats(world["db_board"], **JANUARY)
    assert other["requests"]["total"] is None
    assert other["requests"]["on_time_rate"] is None
    assert other["requests"]["average_rating"] is None
    assert other["feedback"]["total"] is None

    everything = stats(world["ministry"], **JANUARY)
    assert everything["requests"]["total"] == 8
    assert everything["requests"]["on_time_rate"] == 60.0  # 3 of 5
    assert everything["requests"]["average_rating"] == 3.0  # (5 + 4 + 2 + 3 + 1) / 5
    assert everything["feedback"]["total"] is None


def test_the_period_is_whole_local_days(world, citizen_a):
    for _ in range(3):
        dossier(world, citizen_a, created=datetime(2026, 2, 1, 0, 0, tzinfo=VN))  # first instant
        dossier(world, citizen_a, created=datetime(2026, 2, 28, 23, 59, tzinfo=VN))  # last minute
        dossier(world, citizen_a, created=datetime(2026, 1, 31, 23, 59, tzinfo=VN))  # day before
        dossier(world, citizen_a, created=datetime(2026, 3, 1, 0, 0, tzinfo=VN))  # day after
    # Completed in the period, submitted before it: counts for the on-time rate only.
    for _ in range(5):
        dossier(world, citizen_a, created=at(5), completed=at(3, month=2), due=at(2, month=2))

    body = stats(world["lam_binh_office"], **{"from": "2026-02-01", "to": "2026-02-28"})

    assert body["requests"]["total"] == 6
    assert body["requests"]["on_time_rate"] == 0.0


def test_without_dates_last_month(world, citizen_a):
    last_day = timezone.localdate().replace(day=1) - timedelta(days=1)
    first_day = last_day.replace(day=1)
    inside = datetime(first_day.year, first_day.month, 2, 10, tzinfo=VN)
    for _ in range(5):
        dossier(world, citizen_a, created=inside)
    dossier(world, citizen_a, created=timezone.now())  # this month: not in the period

    body = stats(world["lam_binh_office"])

    assert (body["from"], body["to"]) == (first_day.isoformat(), last_day.isoformat())
    assert body["requests"]["total"] == 5
    assert body["requests"]["on_time_rate"] is None
    assert body["requests"]["average_rating"] is None
    assert body["feedback"]["average_rating"] is None
    assert body["suppressed"] == []


def test_only_from_or_only_to_means_that_month(world, citizen_a):
    body = stats(world["lam_binh_office"], to="2026-02-28")
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-02-28")
    body = stats(world["lam_binh_office"], **{"from": "2024-02-01"})
    assert (body["from"], body["to"]) == ("2024-02-01", "2024-02-29")


def test_the_answer_holds_no_personal_data(world, january):
    body = stats(world["tq_board"], **JANUARY)
    assert set(body) == {"agency", "from", "to", "requests", "feedback", "suppressed"}
    text = str(body)
    for needle in ("+8490", "Hoàng Thị Mai", "Lò Văn Pánh", "DV-", "PA-"):
        assert needle not in text


@pytest.mark.parametrize(
    ("params", "code", "attr"),
    [
        ({"from": "2026-02-01", "to": "2026-01-31"}, "from_after_to", "from"),
        ({"from": "2026-13-01"}, "invalid", "from"),
        ({"from": "yesterday"}, "invalid", "from"),
        ({"to": "2026-01-01T10:00:00"}, "invalid", "to"),
        ({"from": "2025-01-01", "to": "2026-01-31"}, "period_too_long", "from"),
        # Only whole months are published: a day or a week of one office could point at a
        # person.
        ({"from": "2026-01-02", "to": "2026-01-31"}, "whole_months", "from"),
        ({"from": "2026-01-01", "to": "2026-01-30"}, "whole_months", "to"),
        ({"to": "2026-02-27"}, "whole_months", "to"),
    ],
)
def test_bad_periods_are_400_on_the_field(world, params, code, attr):
    response = client_for_anonymous().get(f"/api/v1/stats/agencies/{world['tq_board'].pk}/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [(code, attr)]


def test_a_year_and_a_day_is_the_longest_period(world):
    body = stats(world["tq_board"], **{"from": "2024-01-01", "to": "2024-12-31"})  # leap year
    assert body["requests"]["total"] == 0


def test_unknown_or_inactive_agencies_are_404(world):
    api = client_for_anonymous()
    assert api.get(f"/api/v1/stats/agencies/{uuid4()}/").status_code == 404
    assert api.get("/api/v1/stats/agencies/not-a-uuid/").status_code == 404
    closed = world["muong_phang_office"]
    closed.is_active = False
    closed.save()
    response = api.get(f"/api/v1/stats/agencies/{closed.pk}/")
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"


def test_no_authentication_needed_and_a_stale_token_does_not_matter(world, citizen_a):
    api = client_for_anonymous()
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert api.get(f"/api/v1/stats/agencies/{world['tq_board'].pk}/").status_code == 200
    signed_in = client_for(citizen_a).get(f"/api/v1/stats/agencies/{world['tq_board'].pk}/")
    assert signed_in.status_code == 200


def test_a_fixed_number_of_queries_and_then_the_cache(
    world, citizen_a, citizen_b, django_assert_num_queries
):
    url = f"/api/v1/stats/agencies/{world['ministry'].pk}/"
    api = client_for_anonymous()
    dossier(world, citizen_a, completed=at(18), due=at(20), rating=5)
    feedback(world, citizen_a, status="answered", rating=4)
    # The agency, dossiers by status, completions, ratings, feedback by status, its ratings.
    with django_assert_num_queries(6):
        small = api.get(url, {"from": "2025-12-01", "to": "2026-01-31"}).json()

    for index in range(12):
        agency = ("lam_binh_office", "tq_board", "muong_phang_office")[index % 3]
        dossier(world, citizen_b, agency, completed=at(19), due=at(20), rating=1 + index % 5)
        feedback(world, citizen_b, agency, status="closed", rating=1 + index % 5)
    with django_assert_num_queries(6):
        large = api.get(url, JANUARY).json()
    assert (small["requests"]["total"], large["requests"]["total"]) == (None, 13)

    # Asked again within five minutes: only the agency is read (it may have closed since).
    dossier(world, citizen_a, created=at(11))
    with django_assert_num_queries(1):
        again = api.get(url, JANUARY).json()
    assert again == large


def test_feedback_aggregates(world, january):
    agencies = Agency.objects.filter(pk=world["lam_binh_office"].pk)
    counts = feedback_stats.feedback_submitted(agencies, at(1, 0), at(1, 0, month=2))
    assert counts.total == 3
    assert counts.by_status["answered"] == 1
    ratings = feedback_stats.ratings_by_agency(agencies, at(1, 0), at(1, 0, month=2))
    assert ratings == {world["lam_binh_office"].pk: RatingTally(count=2, total=9)}
    workload = feedback_stats.feedback_workload(agencies, at(11))
    assert workload == feedback_stats.FeedbackWorkload(new=0, in_progress=1, answered_recently=2)


def test_the_operation_is_documented(world):
    response = client_for_anonymous().get("/api/v1/schema/", {"format": "json"})
    operation = response.json()["paths"]["/api/v1/stats/agencies/{id}/"]["get"]
    assert operation["operationId"] == "getAgencyStats"
    assert set(spec_parameters(response.json(), operation)) >= {"from", "to", "id", "lang"}
    assert {"200", "400", "404"} <= set(operation["responses"])
    assert operation["security"] == [{}] or "security" not in operation
