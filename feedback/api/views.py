from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from casework.api import views as shared
from common.api.idempotency import idempotent
from common.api.mixins import FieldsMixin, LanguageMixin
from common.api.openapi import CONFLICT_RESPONSE
from common.api.pagination import CursorPagination
from common.api.throttling import GenerousAnonRateThrottle, UserWriteThrottle
from feedback import actions, data_rights, selectors
from feedback.api import serializers as s

FEEDBACK_API = shared.CaseApi(actions.FEEDBACK, selectors.feedback_visible_to, s, "Feedback")


CODE_SCHEMA = {"type": "integer", "minimum": 0}


class FeedbackCategoryPagination(shared.CategoryPagination):
    sync_kind = "feedback_category"


@extend_schema_view(get=extend_schema(summary="List feedback categories", tags=["feedback"]))
class FeedbackCategoryListView(shared.CategoryListView):
    """What feedback may be about, with the level that handles it by default."""

    serializer_class = s.FeedbackCategoryOutput
    pagination_class = FeedbackCategoryPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.categories()


@shared.case_list_schema(
    FEEDBACK_API,
    tag="feedback",
    list_summary="List my feedback (or that of my agencies)",
    create_summary="Send a feedback",
    create_description=(
        "Routed to the commune's office for a commune-level category, else to the "
        "province's board. Coordinates, both or neither, must lie in Vietnam; they are "
        "stored only while the author's `location` consent is active (otherwise dropped, "
        "the commune stays). `is_public` takes effect only with an active `publish` "
        "consent (otherwise stored as false). Consents: `me/consents/`."
    ),
    filters=(OpenApiParameter("category", str, description="Category code."),),
)
class FeedbackListCreateView(shared.CaseListCreateView):
    """My feedback (a phone keeps it), or the feedback routed to my agencies (staff)."""

    api = FEEDBACK_API

    def filter_cases(self, cases: QuerySet[Any], params: QueryDict) -> QuerySet[Any]:
        if params.get("category"):
            cases = cases.filter(category__code=params["category"])
        return cases

    def open_case(self, user: Any, data: dict[str, Any]) -> tuple[Any, bool]:
        category = shared.known_or_400(
            selectors.categories(), "category", data["category"], "Unknown category."
        )
        commune = shared.commune_or_400(data["administrative_unit"])
        # Coordinates and publishing only as far as the author's consents go.
        data = data_rights.allowed_by_consent(user, data)
        return actions.submit_feedback(  # type: ignore[no-any-return]
            author=user,
            category=category,
            commune=commune,
            title=data["title"],
            content=data["content"],
            village=data["village"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            is_anonymous=data["is_anonymous"],
            is_public=data["is_public"],
            client_created_at=data["client_created_at"],
            feedback_id=data.get("id"),
        )


class PublicFeedbackPagination(CursorPagination):
    ordering = ("-created_at", "-id")


PUBLIC_FEED_COLUMNS = (
    "id",
    "tracking_code",
    "status",
    "title",
    "content",
    "answer",
    "answered_at",
    "support_count",
    "created_at",
    "category__code",
    "category__name",
    "agency__id",
    "agency__code",
    "agency__name",
    "administrative_unit__code",
    "administrative_unit__name",
    "administrative_unit__level",
)


@extend_schema_view(
    get=extend_schema(
        summary="Public feed of feedback",
        description=(
            "Items whose authors agreed to publish them, from acceptance to closing, newest "
            "first. No identity, the commune instead of coordinates."
        ),
        tags=["feedback"],
        parameters=[
            # Codes are never negative; an empty value is no filter.
            OpenApiParameter(
                "province", CODE_SCHEMA, description="Province code.", allow_blank=True
            ),
            OpenApiParameter("commune", CODE_SCHEMA, description="Commune code.", allow_blank=True),
            OpenApiParameter("category", str, description="Category code.", allow_blank=True),
        ],
    )
)
class PublicFeedbackListView(FieldsMixin, LanguageMixin, generics.ListAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    permission_classes = [AllowAny]
    serializer_class = s.PublicFeedbackOutput
    pagination_class = PublicFeedbackPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        # Only the columns the feed shows, and no province (a filter joins it when asked).
        items = (
            selectors.public_feedback()
            .select_related(None)
            .select_related("category", "agency", "administrative_unit")
            .only(*PUBLIC_FEED_COLUMNS)
        )
        params = self.request.query_params
        for name, lookup in (
            ("province", "administrative_unit__parent__code"),
            ("commune", "administrative_unit__code"),
        ):
            if params.get(name):
                if not params[name].isdigit():
                    raise ValidationError({name: ["Enter a whole number."]}, code="invalid")
                items = items.filter(**{lookup: int(params[name])})
        if params.get("category"):
            items = items.filter(category__code=params["category"])
        return items


class FeedbackSupportView(LanguageMixin, generics.GenericAPIView):
    # Supporting one's own feedback is refused (403).
    forbidden_methods = ("POST",)
    throttle_classes = [GenerousAnonRateThrottle, UserWriteThrottle]
    serializer_class = s.FeedbackSupportOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.feedback_supportable_by(self.request.user)

    @extend_schema(
        summary="Support a feedback (“me too”)",
        description=(
            "Once per user: 409 `already_supported` for a repeat; 403 on one's own item; 409 "
            "`invalid_transition` once the item is no longer open."
        ),
        operation_id="feedback_support_create",
        tags=["feedback"],
        request=None,
        responses={201: s.FeedbackSupportOutput, 409: CONFLICT_RESPONSE},
    )
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        item = get_object_or_404(self.get_queryset(), pk=pk)
        actions.support_feedback(request.user, item)
        item.refresh_from_db(fields=["support_count"])
        return Response(s.FeedbackSupportOutput(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Take back one's support",
        description="The support count goes down by one; taking back a support never "
        "given is a 404.",
        operation_id="feedback_support_destroy",
        tags=["feedback"],
        responses={204: None},
    )
    def delete(self, request: Request, pk: str) -> Response:
        item = get_object_or_404(self.get_queryset(), pk=pk)
        actions.unsupport_feedback(request.user, item)
        return Response(status=status.HTTP_204_NO_CONTENT)


(
    FeedbackDetailView,
    FeedbackTransitionView,
    FeedbackRatingView,
    FeedbackAttachmentView,
    FeedbackAttachmentFromUploadView,
) = shared.case_views(
    FEEDBACK_API,
    tag="feedback",
    noun="feedback",
    rating=shared.OperationText(
        "Rate the answer to a feedback",
        "The author only, once, when answered or closed: 409 `invalid_transition` before, "
        "409 `already_rated` for a second rating. A score of 1–2 is flagged to managers.",
    ),
    attachment=shared.OperationText(
        "Attach a photo or the voice note to a feedback",
        "Multipart form with `file` and `kind` (a large file: upload it with `uploads/`, "
        "then `attachments/from-upload/`); the author, while "
        "the item is submitted or in progress (403 for anyone else, 409 "
        "`invalid_transition` in another state). At most 5 photos and 1 voice note (409 "
        "`too_many_attachments`).",
    ),
)
