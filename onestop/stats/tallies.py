"""Tallies the statistics of several apps share: a rating average and an on-time rate.

Apps count in the database and hand back these small sums; adding two tallies gives the
tally of both (a province is the sum of its communes), and only the final figure is a ratio,
so no average of averages is ever taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, Exists, ExpressionWrapper, F, OuterRef, QuerySet
from django.utils import timezone

from agencies.models import StaffMembership


@dataclass(frozen=True)
class RatingTally:
    """`count` ratings whose scores add up to `total`."""

    count: int = 0
    total: int = 0

    def __add__(self, other: RatingTally) -> RatingTally:
        return RatingTally(self.count + other.count, self.total + other.total)

    @property
    def average(self) -> float | None:
        """The mean score with two decimals, or None without ratings."""
        return round(self.total / self.count, 2) if self.count else None


@dataclass(frozen=True)
class OnTimeTally:
    """`completed` items that had a due date, `on_time` of them finished by it."""

    completed: int = 0
    on_time: int = 0

    def __add__(self, other: OnTimeTally) -> OnTimeTally:
        return OnTimeTally(self.completed + other.completed, self.on_time + other.on_time)

    @property
    def rate(self) -> float | None:
        """Percentage 0–100 with one decimal, or None when nothing was completed."""
        return round(100 * self.on_time / self.completed, 1) if self.completed else None


def total_ratings(tallies: Iterable[RatingTally]) -> RatingTally:
    return sum(tallies, RatingTally())


def total_on_time(tallies: Iterable[OnTimeTally]) -> OnTimeTally:
    return sum(tallies, OnTimeTally())


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """`[start, end)` covering the local calendar days `first` to `last`, both included."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def from_outside(ratings: QuerySet, case_field: str) -> QuerySet:  # type: ignore[type-arg]
    """`ratings` without those given by staff of the agency that handled the case (or of an
    agency above it): an officer who filed a case for themselves must not rate their own
    office into the statistics."""
    in_house = (
        StaffMembership.objects.filter(user=OuterRef("author"))
        .annotate(
            case_path=ExpressionWrapper(
                OuterRef(f"{case_field}__agency__path"), output_field=CharField()
            )
        )
        .filter(case_path__startswith=F("agency__path"))
    )
    return ratings.exclude(Exists(in_house))
