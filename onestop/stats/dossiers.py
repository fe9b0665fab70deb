"""Aggregates of dossiers, for the staff dashboard and the public statistics API.

Every function here is one query whatever the number of rows (COUNT/SUM with a filter,
grouped by agency where it says so), takes the agencies as a queryset (used as a subquery,
so the caller's scope costs no round trip of its own) and returns plain tallies.

A dossier is completed when `return_result` took it to `completed`; that moment is the
event row of the transition (a final state is left by no action, so there is one such row).
It is on time when that moment is not later than its `due_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, F, Q, QuerySet, Sum

from agencies.models import Agency
from onestop.stats.tallies import OnTimeTally, RatingTally, from_outside
from services.models import ServiceRequest, ServiceRequestEvent, ServiceRequestRating

Status = ServiceRequest.Status

# Statuses whose clock no longer runs for the agency: as `ServiceRequest.is_overdue` says.
_NOT_RUNNING = (*ServiceRequest.FINAL, Status.RESULT_READY)


def _late(now: datetime) -> Q:
    """Open and past due: the rule of `ServiceRequest.is_overdue`."""
    return Q(due_at__isnull=False, due_at__lt=now) & ~Q(status__in=_NOT_RUNNING)


@dataclass(frozen=True)
class DossierWorkload:
    """What is on the desks of some agencies right now."""

    new: int
    in_progress: int
    awaiting_supplement: int
    overdue: int
    due_this_week: int


def dossier_workload(
    agencies: QuerySet[Agency], now: datetime, week_end: datetime
) -> DossierWorkload:
    """Counts of the dossiers routed to `agencies`: new (submitted), in progress (received or
    in progress), awaiting the applicant's supplement, overdue, and open ones falling due
    between `now` and `week_end`. One query."""
    counts = ServiceRequest.objects.filter(agency__in=agencies).aggregate(
        new=Count("pk", filter=Q(status=Status.SUBMITTED)),
        in_progress=Count("pk", filter=Q(status__in=(Status.RECEIVED, Status.IN_PROGRESS))),
        awaiting_supplement=Count("pk", filter=Q(status=Status.SUPPLEMENT_REQUESTED)),
        overdue=Count("pk", filter=_late(now)),
        due_this_week=Count(
            "pk",
            filter=Q(due_at__gte=now, due_at__lt=week_end) & ~Q(status__in=_NOT_RUNNING),
        ),
    )
    return DossierWorkload(**counts)


@dataclass(frozen=True)
class DossierCounts:
    """Dossiers submitted in a period: how many, by current status, and how many of them are
    overdue now."""

    total: int
    by_status: dict[str, int]
    overdue: int


def dossiers_submitted(
    agencies: QuerySet[Agency], start: datetime, end: datetime, now: datetime
) -> DossierCounts:
    """Dossiers routed to `agencies` and submitted in `[start, end)`. One query.

    `by_status` names every status, with 0 for those no dossier is in.
    """
    rows = (
        ServiceRequest.objects.filter(
            agency__in=agencies, created_at__gte=start, created_at__lt=end
        )
        .values("status")
        .annotate(n=Count("pk"), late=Count("pk", filter=_late(now)))
        .order_by()
    )
    by_status = dict.fromkeys(Status.values, 0)
    overdue = 0
    for row in rows:
        by_status[row["status"]] = row["n"]
        overdue += row["late"]
    return DossierCounts(total=sum(by_status.values()), by_status=by_status, overdue=overdue)


def on_time_by_agency(
    agencies: QuerySet[Agency], start: datetime, end: datetime
) -> dict[UUID, OnTimeTally]:
    """Per agency of `agencies`: dossiers completed in `[start, end)` that had a due date,
    and how many of them by that date. Agencies without any are left out. One query."""
    rows = (
        ServiceRequestEvent.objects.filter(
            to_status=Status.COMPLETED,
            created_at__gte=start,
            created_at__lt=end,
            request__agency__in=agencies,
            request__due_at__isnull=False,
        )
        .values("request__agency_id")
        .annotate(
            completed=Count("pk"),
            on_time=Count("pk", filter=Q(created_at__lte=F("request__due_at"))),
        )
        .order_by()
    )
    return {
        row["request__agency_id"]: OnTimeTally(row["completed"], row["on_time"]) for row in rows
    }


def ratings_by_agency(
    agencies: QuerySet[Agency], start: datetime, end: datetime
) -> dict[UUID, RatingTally]:
    """Per agency of `agencies`: applicants' ratings given in `[start, end)`. Agencies
    without any are left out. One query."""
    rows: Any = (
        from_outside(
            ServiceRequestRating.objects.filter(
                request__agency__in=agencies, created_at__gte=start, created_at__lt=end
            ),
            "request",
        )
        .values("request__agency_id")
        .annotate(count=Count("pk"), total=Sum("score"))
        .order_by()
    )
    return {row["request__agency_id"]: RatingTally(row["count"], row["total"]) for row in rows}
