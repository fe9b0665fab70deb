"""Public statistics of an agency (`GET stats/agencies/{id}/`): aggregates only.

Kept apart from `views.py` because it is the one endpoint that reports on feedback as well
as dossiers: it reads both through their aggregate functions (`onestop.stats.dossiers`,
`onestop.stats.feedback`), the same ones the staff dashboard draws, and nothing else of the feedback
app. No figure names a person.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, serializers
from rest_framework.exceptions import ErrorDetail, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import Agency
from agencies.selectors import public_agencies, subtree
from casework.api.serializers import AgencyRefOutput
from common.api.mixins import LanguageMixin
from common.api.openapi import ErrorResponse404
from common.api.throttling import GenerousAnonRateThrottle
from feedback.models import Feedback
from onestop.stats import dossiers as dossier_stats
from onestop.stats import feedback as feedback_stats
from onestop.stats.tallies import day_bounds, total_on_time, total_ratings
from services.models import ServiceRequest

MAX_DAYS = 366
# The figures change slowly and the endpoint is public: five minutes of staleness spares the
# database a crowd of identical aggregate queries.
CACHE_SECONDS = 300


class AgencyStatsInput(serializers.Serializer):
    """`?from=&to=`: whole calendar months in Vietnam's time zone, both included.

    Public figures of a day or a week for one commune office could point at a person; a
    month of them cannot as easily (and small cells are suppressed besides).
    """

    # `from` is a Python keyword, so the fields are named here rather than as attributes.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(
                required=False,
                help_text=(
                    "First day of a month (ISO 8601 date). Default: the first day of `to`'s "
                    "month, or of last month."
                ),
            ),
            "to": serializers.DateField(
                required=False,
                help_text=(
                    "Last day of a month, included (ISO 8601 date). Default: the last day of "
                    "`from`'s month, or of last month."
                ),
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, date]:
        first, last = attrs.get("from"), attrs.get("to")
        errors: dict[str, list[ErrorDetail]] = {}
        if first is not None and first.day != 1:
            errors["from"] = [ErrorDetail(_("Start on the first day of a month."), "whole_months")]
        if last is not None and last != month_end(last):
            errors["to"] = [ErrorDetail(_("End on the last day of a month."), "whole_months")]
        if errors:
            raise serializers.ValidationError(errors)
        if first is None and last is None:
            last = timezone.localdate().replace(day=1) - timedelta(days=1)
        first = first or last.replace(day=1)  # type: ignore[union-attr]
        last = last or month_end(first)
        if first > last:
            raise serializers.ValidationError(
                {"from": [ErrorDetail(_("Must not be later than `to`."), code="from_after_to")]}
            )
        if (last - first).days + 1 > MAX_DAYS:
            message = _("The period may span at most %(days)d days.") % {"days": MAX_DAYS}
            raise serializers.ValidationError(
                {"from": [ErrorDetail(message, code="period_too_long")]}
            )
        return {"from": first, "to": last}


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _status_counts(name: str, statuses: Any, what: str) -> type[serializers.Serializer]:
    # One integer per status, every status present: clients read `by_status.completed`
    # without guarding against a missing key.
    fields = {
        value: serializers.IntegerField(
            allow_null=True, help_text=f"{what} whose status is now `{value}`; null: suppressed."
        )
        for value in statuses.values
    }
    return type(name, (serializers.Serializer,), fields)


AgencyStatsRequestStatusOutput = _status_counts(
    "AgencyStatsRequestStatusOutput", ServiceRequest.Status, "Dossiers of the period"
)
AgencyStatsFeedbackStatusOutput = _status_counts(
    "AgencyStatsFeedbackStatusOutput", Feedback.Status, "Feedback of the period"
)


class AgencyStatsRequestsOutput(serializers.Serializer):
    total = serializers.IntegerField(
        allow_null=True, help_text="Dossiers submitted in the period; null: suppressed."
    )
    by_status = AgencyStatsRequestStatusOutput()
    on_time_rate = serializers.FloatField(
        allow_null=True,
        help_text=(
            "Percentage 0–100, one decimal: of the dossiers completed (result handed over) in "
            "the period, those completed by their due date. Null when none was completed."
        ),
    )
    overdue = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Dossiers submitted in the period that are open and past their due date now; "
            "null: suppressed."
        ),
    )
    average_rating = serializers.FloatField(
        allow_null=True,
        help_text="Mean of the applicants' ratings (1–5) given in the period; null without any.",
    )


class AgencyStatsFeedbackOutput(serializers.Serializer):
    total = serializers.IntegerField(
        allow_null=True, help_text="Feedback sent in the period; null: suppressed."
    )
    by_status = AgencyStatsFeedbackStatusOutput()
    average_rating = serializers.FloatField(
        allow_null=True,
        help_text="Mean of the authors' ratings (1–5) of answers, given in the period.",
    )


class AgencyStatsOutput(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "agency": AgencyRefOutput(),
            "from": serializers.DateField(help_text="First day of the period."),
            "to": serializers.DateField(help_text="Last day of the period, included."),
            "requests": AgencyStatsRequestsOutput(),
            "feedback": AgencyStatsFeedbackOutput(),
            "suppressed": serializers.ListField(
                child=serializers.CharField(),
                help_text=(
                    f"Figures withheld (null above) because they rest on 1 to "
                    f"{SMALL_CELL - 1} items, which could point at a person: dotted paths such "
                    "as `requests.by_status.rejected` or `feedback.average_rating`."
                ),
            ),
        }


def agency_stats(agency: Agency, first: date, last: date) -> dict[str, Any]:
    """The figures of `agency` and every agency below it, for the days `first`..`last`, with
    the small ones withheld (`suppress`)."""
    start, end = day_bounds(first, last)
    agencies = subtree(agency)
    requests = dossier_stats.dossiers_submitted(agencies, start, end, timezone.now())
    on_time = total_on_time(dossier_stats.on_time_by_agency(agencies, start, end).values())
    ratings = total_ratings(dossier_stats.ratings_by_agency(agencies, start, end).values())
    feedback = feedback_stats.feedback_submitted(agencies, start, end)
    feedback_ratings = total_ratings(
        feedback_stats.ratings_by_agency(agencies, start, end).values()
    )
    figures: dict[str, tuple[Any, int]] = {
        # path: (value, how many items it rests on)
        "requests.total": (requests.total, requests.total),
        **{
            f"requests.by_status.{status}": (count, count)
            for status, count in requests.by_status.items()
        },
        "requests.on_time_rate": (on_time.rate, on_time.completed),
        "requests.overdue": (requests.overdue, requests.overdue),
        "requests.average_rating": (ratings.average, ratings.count),
        "feedback.total": (feedback.total, feedback.total),
        **{
            f"feedback.by_status.{status}": (count, count)
            for status, count in feedback.by_status.items()
        },
        "feedback.average_rating": (feedback_ratings.average, feedback_ratings.count),
    }
    shown, suppressed = suppress(figures)
    return {
        "agency": agency,
        "from": first,
        "to": last,
        "requests": {
            "total": shown["requests.total"],
            "by_status": {s: shown[f"requests.by_status.{s}"] for s in requests.by_status},
            "on_time_rate": shown["requests.on_time_rate"],
            "overdue": shown["requests.overdue"],
            "average_rating": shown["requests.average_rating"],
        },
        "feedback": {
            "total": shown["feedback.total"],
            "by_status": {s: shown[f"feedback.by_status.{s}"] for s in feedback.by_status},
            "average_rating": shown["feedback.average_rating"],
        },
        "suppressed": suppressed,
    }


# Public figures resting on 1 to SMALL_CELL - 1 items are withheld; staff dashboards keep
# exact counts.
SMALL_CELL = 5


def suppress(figures: dict[str, tuple[Any, int]]) -> tuple[dict[str, Any], list[str]]:
    """The figures with those resting on 1–4 items replaced by None, and their paths."""
    shown: dict[str, Any] = {}
    suppressed: list[str] = []
    for path, (value, base) in figures.items():
        if 0 < base < SMALL_CELL:
            shown[path] = None
            suppressed.append(path)
        else:
            shown[path] = value
    return shown, suppressed


@extend_validation_errors(
    ["invalid", "whole_months", "from_after_to", "period_too_long"],
    field_name="from",
    methods=["get"],
)
@extend_validation_errors(["invalid", "whole_months"], field_name="to", methods=["get"])
class AgencyStatsView(LanguageMixin, generics.GenericAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    # Public figures: no token needed, and a stale one in the app must not become a 401.
    authentication_classes = ()
    permission_classes = [AllowAny]
    throttle_classes = [GenerousAnonRateThrottle]
    serializer_class = AgencyStatsOutput

    @extend_schema(
        summary="Statistics of an agency and the agencies under it",
        description=(
            "Aggregates only, for anyone: dossiers and feedback routed to the agency or any "
            "agency below it (a provincial board includes its communes' offices), over whole "
            "months `from`..`to` (both included, Vietnam time; default last month, at most "
            f"{MAX_DAYS} days). Counts are of items submitted in the period, by their status "
            "now; the on-time rate is of dossiers completed in the period; ratings are those "
            f"given in the period. A figure resting on 1 to {SMALL_CELL - 1} items is null "
            "and named in `suppressed`. Figures may be up to five minutes old."
        ),
        operation_id="stats_agency_retrieve",
        tags=["stats"],
        parameters=[AgencyStatsInput],
        responses={
            200: AgencyStatsOutput,
            404: OpenApiResponse(ErrorResponse404, description="No active agency has this id."),
        },
    )
    def get(self, request: Request, pk: UUID) -> Response:
        agency = public_agencies().filter(pk=pk).first()
        if agency is None:
            raise NotFound()
        query = AgencyStatsInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, last = query.validated_data["from"], query.validated_data["to"]
        key = f"stats:agency:{agency.pk}:{first.isoformat()}:{last.isoformat()}"
        data = cache.get(key)
        if data is None:
            data = dict(self.get_serializer(agency_stats(agency, first, last)).data)
            cache.set(key, data, CACHE_SECONDS)
        return Response(data)
