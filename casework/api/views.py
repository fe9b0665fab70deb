"""API views every kind of case shares: detail, transitions, rating, attachments.

A concrete view names its `CaseApi` (the selector, the workflow, the writes and the shapes
of its kind of case) and documents itself with `extend_schema_view`; the views here parse,
call one function and serialise. Scope comes first: a case outside the caller's selector
is a 404 before anything else is looked at.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import AdministrativeUnit
from agencies.selectors import commune_by_code
from casework.access import handles, record_personal_data_list, record_personal_data_read
from casework.actions import attach_file, rate_case
from casework.api.serializers import action_bodies
from casework.engine import NOTE_FIELDS, STAFF, Workflow
from common.api.idempotency import idempotent
from common.api.mixins import ETagMixin, FieldsMixin, LanguageMixin
from common.api.openapi import CONFLICT_RESPONSE, FILE_TOO_LARGE_RESPONSE
from common.api.pagination import SyncCursorPagination
from common.api.parsers import JSONParser, MultiPartParser
from common.api.throttling import GenerousAnonRateThrottle, UserWriteThrottle
from common.exceptions import SecondFactorRequired
from common.files import uploads


class CaseApi:
    """What the shared views need to know of a kind of case: its workflow, the selector of
    what a user sees, and its serializers, found in `shapes` by the names
    `<prefix>Output` (lists), `<prefix>Input` (creates), `<prefix>DetailOutput`,
    `<prefix>TransitionInput`, `<prefix>RatingInput`/`Output`,
    `<prefix>AttachmentInput`/`UploadInput`/`Output`."""

    def __init__(
        self,
        workflow: Workflow,
        visible_to: Callable[[Any], QuerySet[Any]],
        shapes: ModuleType,
        prefix: str,
        detail_joins: tuple[str, ...] = (),
    ) -> None:
        self.workflow = workflow
        self.visible_to = visible_to
        self.prefix = prefix
        # Joined for the detail besides what the selector joins.
        self.detail_joins = detail_joins
        self.list_output = getattr(shapes, f"{prefix}Output")
        # Lists as a phone keeps them: removals reported under the kind's name.
        self.list_pagination = type(
            f"{prefix}Pagination", (SyncCursorPagination,), {"sync_kind": workflow.push_type}
        )
        self.create_input = getattr(shapes, f"{prefix}Input")
        self.detail_output = getattr(shapes, f"{prefix}DetailOutput")
        self.transition_input = getattr(shapes, f"{prefix}TransitionInput")
        self.rating_input = getattr(shapes, f"{prefix}RatingInput")
        self.rating_output = getattr(shapes, f"{prefix}RatingOutput")
        self.attachment_input = getattr(shapes, f"{prefix}AttachmentInput")
        self.attachment_upload_input = getattr(shapes, f"{prefix}AttachmentUploadInput")
        self.attachment_output = getattr(shapes, f"{prefix}AttachmentOutput")


class CategoryPagination(SyncCursorPagination):
    """Categories as a phone keeps them: by position, removals named by code."""

    ordering = ("position", "code")
    sync_id_field = "code"


class CategoryListView(ETagMixin, FieldsMixin, LanguageMixin, generics.ListAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    permission_classes = [AllowAny]


def case_list_schema(
    api: CaseApi,
    *,
    tag: str,
    list_summary: str,
    create_summary: str,
    create_description: str | None = None,
    filters: tuple[OpenApiParameter, ...] = (),
) -> Callable[[Any], Any]:
    """Documents a `CaseListCreateView`: `<tag>_list` (filtered by `status` and `filters`)
    and `<tag>_create`, which answers the detail (201, or 200 for a known client id)."""
    return extend_schema_view(
        get=extend_schema(
            summary=list_summary,
            operation_id=f"{tag}_list",
            responses=api.list_output(many=True),
            tags=[tag],
            parameters=[
                OpenApiParameter("status", str, enum=api.workflow.model.Status.values),
                *filters,
            ],
        ),
        post=extend_schema(
            summary=create_summary,
            description=create_description
            or (
                "Answers the new item (201). Send a UUID `id` chosen by the app to make a "
                "resend harmless: the same `id` again answers the item already made (200), "
                "the same `id` for another item is a 409 `id_taken`."
            ),
            operation_id=f"{tag}_create",
            tags=[tag],
            request=api.create_input,
            responses={
                201: api.detail_output,
                200: api.detail_output,
                409: CONFLICT_RESPONSE,
            },
        ),
    )


def known_or_400(rows: QuerySet[Any], field: str, code: str, message: str) -> Any:
    """The row of `rows` whose `code` a create body names in `field`, or a 400 on it."""
    row = rows.filter(code=code).first()
    if row is None:
        raise ValidationError({field: [message]}, code="does_not_exist")
    return row


def commune_or_400(code: int) -> AdministrativeUnit:
    """The commune of a create body's `administrative_unit`, or a 400 on that field."""
    commune = commune_by_code(code)
    if commune is None:
        raise ValidationError(
            {"administrative_unit": ["Unknown commune code."]}, code="does_not_exist"
        )
    return commune


def in_hand(case: Any, **related: list[Any]) -> None:
    """Give `case` its reverse relations as `prefetch_related` would, from rows in hand."""
    cache = case.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in related.items():
        rows_here = getattr(case, name).all()
        rows_here._result_cache = rows
        rows_here._prefetch_done = True
        cache[name] = rows_here


class CaseView(LanguageMixin, generics.GenericAPIView):
    api: CaseApi

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return self.api.visible_to(self.request.user)

    def fetch_detail(self, pk: Any) -> Any:
        """The case with everything its detail shows: one query, plus one each for the
        events and the attachments, however many there are."""
        return get_object_or_404(
            self.api.visible_to(self.request.user)
            .select_related(*self.api.detail_joins)
            .prefetch_related("events", "attachments"),
            pk=pk,
        )

    def detail_data(self, case: Any) -> dict[str, Any]:
        user = self.request.user
        context = self.get_serializer_context()
        context["allowed_actions"] = self.api.workflow.allowed_actions(user, case)
        context["show_internal"] = handles(user, case)
        return self.api.detail_output(case, context=context).data  # type: ignore[no-any-return]

    def created_response(self, case: Any, created: bool) -> Response:
        """The answer to a create: the detail, 201 (or 200 when the client id was known).

        A new case is answered from the objects in hand (`open_case` leaves its event and
        no attachments where the detail reads them): reading it back cost three queries."""
        if created and getattr(case, "opening_event", None) is not None:
            in_hand(case, events=[case.opening_event], attachments=[])
        else:
            case = self.fetch_detail(case.pk)
        return Response(
            self.detail_data(case),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CaseListCreateView(ETagMixin, FieldsMixin, CaseView):
    """The caller's cases (a phone keeps them), or those of their agencies (staff), by
    `?status=` and what `filter_cases` reads; and the create: the kind's `<prefix>Input`
    validates the body's shape, `open_case` the rest and opens the case."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The kind's list shape and its sync pagination, unless the subclass names others.
        if "serializer_class" not in cls.__dict__:
            cls.serializer_class = cls.api.list_output
        if "pagination_class" not in cls.__dict__:
            cls.pagination_class = cls.api.list_pagination

    def open_case(self, user: Any, data: dict[str, Any]) -> tuple[Any, bool]:
        """Open a case from a validated body: `(case, created)`, `created` False when the
        client's own id named a case it had opened before."""
        raise NotImplementedError

    @idempotent
    def post(self, request: Request) -> Response:
        body = self.api.create_input(data=request.data)
        body.is_valid(raise_exception=True)
        case, created = self.open_case(request.user, body.validated_data)
        return self.created_response(case, created)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        cases = self.api.visible_to(self.request.user)
        params = self.request.query_params
        if params.get("status"):
            if params["status"] not in self.api.workflow.model.Status.values:
                raise ValidationError({"status": ["Unknown status."]})
            cases = cases.filter(status=params["status"])
        return self.filter_cases(cases, params)

    def filter_cases(self, cases: QuerySet[Any], params: QueryDict) -> QuerySet[Any]:
        return cases

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        output = self.get_serializer_class()
        data = output(page, many=True, context=self.get_serializer_context()).data
        # A staff member's list shows other people's data (content, names, coordinates):
        # audited like a detail read, one query for the page.
        if request.user.is_staff:
            record_personal_data_list(request.user, list(page or []), where="api")
        return self.get_paginated_response(data)


class CaseDetailView(ETagMixin, FieldsMixin, CaseView):
    """One case with its events and attachments, as the caller may see it; staff reads are
    audited."""

    def get(self, request: Request, pk: str) -> Response:
        case = self.fetch_detail(pk)
        record_personal_data_read(request.user, case)
        return Response(self.detail_data(case))


class CaseTransitionView(CaseView):
    # Refusals of a role or of separation of duties (403) the spec documents.
    forbidden_methods = ("POST",)

    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        if getattr(request.user, "second_factor_missing", False):
            body: Any = request.data
            name = body.get("action", "") if hasattr(body, "get") else ""
            wanted = self.api.workflow.actions.get(str(name))
            if wanted is not None and wanted.actor == STAFF:
                raise SecondFactorRequired()
        case = get_object_or_404(self.get_queryset(), pk=pk)
        body = self.api.transition_input(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        action = data.pop("action")
        note = next((data[name] for name in NOTE_FIELDS if data.get(name)), "")
        fields = {name: value for name, value in data.items() if name not in NOTE_FIELDS}
        self.api.workflow.apply(request.user, case, action, note=note, **fields)
        if action == "forward" and not self.get_queryset().filter(pk=pk).exists():
            # Forwarded out of the actor's scope: they did it, so they see the outcome once,
            # with nothing left for them to do.
            forwarded = self.api.workflow.model.objects.prefetch_related(
                "events", "attachments"
            ).get(pk=pk)
            context = self.get_serializer_context()
            context["allowed_actions"] = []
            context["show_internal"] = True
            return Response(self.api.detail_output(forwarded, context=context).data)
        return Response(self.detail_data(self.fetch_detail(pk)))


class CaseRatingView(CaseView):
    # Refusals of a role or of separation of duties (403) the spec documents.
    forbidden_methods = ("POST",)
    throttle_classes = [GenerousAnonRateThrottle, UserWriteThrottle]

    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        case = get_object_or_404(self.get_queryset(), pk=pk)
        body = self.api.rating_input(data=request.data)
        body.is_valid(raise_exception=True)
        rating = rate_case(
            self.api.workflow,
            request.user,
            case,
            score=body.validated_data["score"],
            comment=body.validated_data["comment"],
        )
        return Response(self.api.rating_output(rating).data, status=status.HTTP_201_CREATED)


class CaseAttachmentView(CaseView):
    # Refusals of a role or of separation of duties (403) the spec documents.
    forbidden_methods = ("POST",)
    # Multipart carries the file (the API's default parser is JSON); JSON names a finished
    # resumable upload.
    parser_classes = [MultiPartParser, JSONParser]
    throttle_classes = [GenerousAnonRateThrottle, UserWriteThrottle]

    def body_class(self, request: Request) -> Any:
        # JSON naming an upload stays accepted here for the apps that send it; the spec
        # documents it on `attachments/from-upload/`.
        multipart = isinstance(request.data, QueryDict)
        return self.api.attachment_input if multipart else self.api.attachment_upload_input

    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        case = get_object_or_404(self.get_queryset(), pk=pk)
        body = self.body_class(request)(data=request.data)
        body.is_valid(raise_exception=True)
        with uploads.attachment_file(request.user, body.validated_data) as file:
            attachment = attach_file(
                self.api.workflow, request.user, case, kind=body.validated_data["kind"], upload=file
            )
        return Response(
            self.api.attachment_output(attachment, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class CaseAttachmentFromUploadView(CaseAttachmentView):
    """Attach a finished resumable upload (`uploads/`), named in a JSON body."""

    parser_classes = [JSONParser]

    def body_class(self, request: Request) -> Any:
        return self.api.attachment_upload_input


@dataclass(frozen=True)
class OperationText:
    summary: str
    description: str = ""


def case_views(
    api: CaseApi,
    *,
    tag: str,
    noun: str,
    rating: OperationText,
    attachment: OperationText,
    attachment_responses: dict[int, Any] | None = None,
) -> tuple[type[CaseView], ...]:
    """The detail, transition, rating and attachment views of a kind of case (a file in the
    request, or a finished upload named in JSON), documented; named `<prefix>DetailView` and
    so on. Their operationIds are in config/openapi.py."""

    def documented(name: str, base: type[CaseView], output: Any, **schema: Any) -> type[CaseView]:
        method = "get" if base is CaseDetailView else "post"
        attrs = {"api": api, "serializer_class": output, "__module__": base.__module__}
        if base is CaseDetailView:
            attrs["__doc__"] = (
                f"One {noun} with its events and attachments, as the caller may see it."
            )
        view = type(f"{api.prefix}{name}View", (base,), attrs)
        return extend_schema_view(**{method: extend_schema(tags=[tag], **schema)})(view)  # type: ignore[no-any-return]

    detail = documented(
        "Detail",
        CaseDetailView,
        api.detail_output,
        summary=f"Show a {noun}",
        operation_id=f"{tag}_retrieve",
    )
    transition = documented(
        "Transition",
        CaseTransitionView,
        api.detail_output,
        summary=f"Apply an action of the {noun} state table",
        description=(
            f"One body per action (`action` tells which), with the fields that action "
            f"requires; `allowed_actions` in the {noun}'s detail lists those the caller may "
            "take now. An action the caller may not take is 403; one the state does not "
            "allow, 409 `invalid_transition`."
        ),
        request=action_bodies(api.prefix, api.workflow.actions, api.transition_input),
        responses={200: api.detail_output, 409: CONFLICT_RESPONSE},
    )
    rated = documented(
        "Rating",
        CaseRatingView,
        api.rating_output,
        summary=rating.summary,
        description=rating.description,
        operation_id=f"{tag}_rating_create",
        request=api.rating_input,
        responses={201: api.rating_output, 409: CONFLICT_RESPONSE},
    )
    attach = documented(
        "Attachment",
        CaseAttachmentView,
        api.attachment_output,
        summary=attachment.summary,
        description=attachment.description,
        operation_id=f"{tag}_attachments_create",
        request={"multipart/form-data": api.attachment_input},
        responses={
            201: api.attachment_output,
            **(attachment_responses or {}),
            409: CONFLICT_RESPONSE,
            413: FILE_TOO_LARGE_RESPONSE,
        },
    )
    attach = extend_validation_errors(
        ["unsupported_file_type", "image_too_large", "audio_too_long"],
        field_name="file",
        methods=["post"],
    )(attach)
    from_upload = documented(
        "AttachmentFromUpload",
        CaseAttachmentFromUploadView,
        api.attachment_output,
        summary=f"Attach a finished resumable upload to a {noun}",
        description=(
            "`{upload_id, kind}` names an upload finished through `uploads/` (tus), which is "
            "then used up. The same rules as a file sent with the request: who may attach "
            "what, in which state, how many; an upload not finished or already attached is a "
            "409 (`upload_incomplete`, `upload_already_attached`)."
        ),
        request=api.attachment_upload_input,
        responses={
            201: api.attachment_output,
            **(attachment_responses or {}),
            409: CONFLICT_RESPONSE,
            413: FILE_TOO_LARGE_RESPONSE,
        },
    )
    from_upload = extend_validation_errors(
        ["unsupported_file_type", "image_too_large", "audio_too_long"],
        field_name="upload_id",
        methods=["post"],
    )(from_upload)
    return detail, transition, rated, attach, from_upload
