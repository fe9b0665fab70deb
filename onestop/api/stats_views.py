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
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
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
from common.api.throttling import GenerousAnonRateThrottle
from feedback.models import Feedback
from onestop.stats import dossiers as dossier_stats
from onestop.stats import feedback as feedback_stats
from onestop.stats.tallies import day_bounds, total_on_time, total_ratings
from services.models import ServiceRequest

DEFAULT_DAYS = 30
MAX_DAYS = 366
# The figures change slowly and the endpoint is public: five minutes of staleness spares the
# database a crowd of identical aggregate queries.
CACHE_SECONDS = 300


class AgencyStatsInput(serializers.Serializer):
    """`?from=&to=`: calendar days in Vietnam's time zone, both included."""

    # `from` is a Python keyword, so the fields are named here rather than as attributes.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(
                required=False,
                help_text=(
                    f"First day (ISO 8601 date). Default: {DEFAULT_DAYS - 1} days before `to`."
                ),
            ),
            "to": serializers.DateField(
                required=False,
                help_text="Last day, included (ISO 8601 date). Default: today in Asia/Ho_Chi_Minh.",
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, date]:
        last = attrs.get("to") or timezone.localdate()
        first = attrs.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
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


def _status_counts(name: str, statuses: Any, what: str) -> type[serializers.Serializer]:
    # One integer per status, every status present: clients read `by_status.completed`
    # without guarding against a missing key.
    fields = {
        value: serializers.IntegerField(help_text=f"{what} whose status is now `{value}`.")
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
    total = serializers.IntegerField(help_text="Dossiers submitted in the period.")
    by_status = AgencyStatsRequestStatusOutput()
    on_time_rate = serializers.FloatField(
        allow_null=True,
        help_text=(
            "Percentage 0–100, one decimal: of the dossiers completed (result handed over) in "
            "the period, those completed by their due date. Null when none was completed."
        ),
    )
    overdue = serializers.IntegerField(
        help_text="Dossiers submitted in the period that are open and past their due date now."
    )
    average_rating = serializers.FloatField(
        allow_null=True,
        help_text="Mean of the applicants' ratings (1–5) given in the period; null without any.",
    )


class AgencyStatsFeedbackOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Feedback sent in the period.")
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
        }


def agency_stats(agency: Agency, first: date, last: date) -> dict[str, Any]:
    """The figures of `agency` and every agency below it, for the days `first`..`last`."""
    start, end = day_bounds(first, last)
    agencies = subtree(agency)
    requests = dossier_stats.dossiers_submitted(agencies, start, end, timezone.now())
    on_time = total_on_time(dossier_stats.on_time_by_agency(agencies, start, end).values())
    ratings = total_ratings(dossier_stats.ratings_by_agency(agencies, start, end).values())
    feedback = feedback_stats.feedback_submitted(agencies, start, end)
    feedback_ratings = total_ratings(
        feedback_stats.ratings_by_agency(agencies, start, end).values()
    )
    return {
        "agency": agency,
        "from": first,
        "to": last,
        "requests": {
            "total": requests.total,
            "by_status": requests.by_status,
            "on_time_rate": on_time.rate,
            "overdue": requests.overdue,
            "average_rating": ratings.average,
        },
        "feedback": {
            "total": feedback.total,
            "by_status": feedback.by_status,
            "average_rating": feedback_ratings.average,
        },
    }


@extend_validation_errors(
    ["invalid", "from_after_to", "period_too_long"], field_name="from", methods=["get"]
)
@extend_validation_errors(["invalid"], field_name="to", methods=["get"])
class AgencyStatsView(LanguageMixin, generics.GenericAPIView):
    # Public figures: no token needed, and a stale one in the app must not become a 401.
    authentication_classes = ()
    permission_classes = [AllowAny]
    throttle_classes = [GenerousAnonRateThrottle]
    serializer_class = AgencyStatsOutput

    @extend_schema(
        summary="Statistics of an agency and the agencies under it",
        description=(
            "Aggregates only, for anyone: dossiers and feedback routed to the agency or any "
            "agency below it (a provincial board includes its communes' offices), over the "
            "days `from`..`to` (both included, Vietnam time; default the last 30 days, at "
            f"most {MAX_DAYS} days). Counts are of items submitted in the period, by their "
            "status now; the on-time rate is of dossiers completed in the period; ratings "
            "are those given in the period. Figures may be up to five minutes old."
        ),
        operation_id="stats_agency_retrieve",
        tags=["stats"],
        parameters=[AgencyStatsInput],
        responses={
            200: AgencyStatsOutput,
            404: OpenApiResponse(
                ErrorResponse404Serializer, description="No active agency has this id."
            ),
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
