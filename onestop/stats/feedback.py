"""Aggregates of feedback (PAKN), for the staff dashboard and the public statistics API.

Like `onestop.stats.dossiers`: one query per function whatever the number of rows, agencies given
as a queryset (a subquery), plain tallies back. Feedback has no due date, so there is no
on-time rate; how much was answered recently stands in for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet, Sum

from agencies.models import Agency
from feedback.models import Feedback, FeedbackRating
from onestop.stats.tallies import RatingTally, from_outside

Status = Feedback.Status


@dataclass(frozen=True)
class FeedbackWorkload:
    new: int
    in_progress: int
    answered_recently: int


def feedback_workload(agencies: QuerySet[Agency], answered_since: datetime) -> FeedbackWorkload:
    """Feedback routed to `agencies`: new (submitted, not yet accepted), in progress, and
    answered since `answered_since` (whatever happened to it afterwards). One query."""
    counts = Feedback.objects.filter(agency__in=agencies).aggregate(
        new=Count("pk", filter=Q(status=Status.SUBMITTED)),
        in_progress=Count("pk", filter=Q(status=Status.IN_PROGRESS)),
        answered_recently=Count("pk", filter=Q(answered_at__gte=answered_since)),
    )
    return FeedbackWorkload(**counts)


@dataclass(frozen=True)
class FeedbackCounts:
    total: int
    by_status: dict[str, int]


def feedback_submitted(
    agencies: QuerySet[Agency], start: datetime, end: datetime
) -> FeedbackCounts:
    """Feedback routed to `agencies` and sent in `[start, end)`, by current status (every
    status named, 0 for the empty ones). One query."""
    rows = (
        Feedback.objects.filter(agency__in=agencies, created_at__gte=start, created_at__lt=end)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_status = dict.fromkeys(Status.values, 0)
    for row in rows:
        by_status[row["status"]] = row["n"]
    return FeedbackCounts(total=sum(by_status.values()), by_status=by_status)


def ratings_by_agency(
    agencies: QuerySet[Agency], start: datetime, end: datetime
) -> dict[UUID, RatingTally]:
    """Per agency of `agencies`: authors' ratings of answers given in `[start, end)`.
    Agencies without any are left out. One query."""
    rows: Any = (
        from_outside(
            FeedbackRating.objects.filter(
                feedback__agency__in=agencies, created_at__gte=start, created_at__lt=end
            ),
            "feedback",
        )
        .values("feedback__agency_id")
        .annotate(count=Count("pk"), total=Sum("score"))
        .order_by()
    )
    return {row["feedback__agency_id"]: RatingTally(row["count"], row["total"]) for row in rows}
