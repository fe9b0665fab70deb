from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from casework.api import views as shared
from common import refcache
from common.api.mixins import ETagMixin, FieldsMixin, LanguageMixin
from common.api.openapi import ErrorResponse403, ErrorResponse404
from common.api.pagination import SyncCursorPagination
from common.api.throttling import (
    GenerousAnonRateThrottle,
    TrackingCodeRateThrottle,
)
from services import actions, audio_help, selectors
from services.api import serializers as s
from services.models import PublicService, ServiceCategory

DOSSIER_API = shared.CaseApi(
    actions.DOSSIERS, selectors.requests_visible_to, s, "ServiceRequest", ("assignee",)
)


class ServiceCategoryPagination(shared.CategoryPagination):
    sync_kind = "service_category"


@extend_schema_view(
    get=extend_schema(summary="List service categories", tags=["catalog"]),
)
class ServiceCategoryListView(shared.CategoryListView):
    """Categories of the catalog, in the order the catalog shows them. A phone keeps them."""

    serializer_class = s.ServiceCategoryListOutput
    pagination_class = ServiceCategoryPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return audio_help.with_audio_help(selectors.categories(), self.get_language())


# Columns of a service the lists (the catalog, a dossier's `service`) never show: JSON that
# would be parsed for every row of a page.
CATALOG_LIST_DEFERRED = ("description", "required_documents", "form_schema", "translation_status")
DOSSIER_LIST_DEFERRED = (
    "form_data",
    "note",
    "supplement_items",
    *(f"service__{name}" for name in CATALOG_LIST_DEFERRED),
)

# Catalog pages kept per process (PublicServiceListView.list), and what they may ask.
CATALOG_PAGES = "services.catalog-pages"
CATALOG_PAGES_KEPT = 500
CATALOG_PAGE_PARAMS = frozenset({"lang", "page_size", "category", "level"})
refcache.forget_on_change(CATALOG_PAGES, PublicService, ServiceCategory)

# Longer input is no name of a service, only work for the server.
SEARCH_MAX_LENGTH = 100


class CatalogPagination(SyncCursorPagination):
    ordering = ("code",)
    sync_kind = actions.SERVICE_SYNC_KIND
    sync_id_field = "code"


@extend_schema_view(
    get=extend_schema(
        summary="List public services",
        tags=["catalog"],
        parameters=[
            OpenApiParameter("category", str, description="Category code."),
            OpenApiParameter("level", str, enum=PublicService.Level.values),
            OpenApiParameter(
                "search",
                str,
                description=(
                    "Words to find in the name (Vietnamese or the answer's language), the code "
                    "or the national code; case and diacritics do not matter "
                    f"(`khai sinh` finds “Đăng ký khai sinh”). At most {SEARCH_MAX_LENGTH} "
                    "characters."
                ),
            ),
        ],
    ),
)
class PublicServiceListView(ETagMixin, FieldsMixin, LanguageMixin, generics.ListAPIView):
    """The catalog: public services on offer, by code. A phone keeps it."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A first page that only picks language, size, category or level (what every phone
        opening the catalog asks) is kept in the process, like the services themselves
        (`services.active`): forgotten when a service or category is saved here, at most
        `REFERENCE_CACHE_SECONDS` old elsewhere. Throttles, language, ETag and 304 still
        run on every request; the query and the serialising do not."""
        if not set(request.query_params) <= CATALOG_PAGE_PARAMS:
            return super().list(request, *args, **kwargs)
        key = (request.build_absolute_uri(), self.get_language())

        def page() -> Any:
            return super(PublicServiceListView, self).list(request, *args, **kwargs).data

        return Response(
            refcache.cached(CATALOG_PAGES, key, page, namespace_limit=CATALOG_PAGES_KEPT)
        )

    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True

    permission_classes = [AllowAny]
    serializer_class = s.PublicServiceOutput
    pagination_class = CatalogPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        # A list shows no description, documents or form: not read, not parsed.
        services = selectors.active_services().defer(*CATALOG_LIST_DEFERRED)
        params = self.request.query_params
        if params.get("category"):
            services = services.filter(category__code=params["category"])
        if params.get("level"):
            if params["level"] not in PublicService.Level.values:
                raise ValidationError({"level": ["Unknown level."]})
            services = services.filter(level=params["level"])
        if params.get("search"):
            if len(params["search"]) > SEARCH_MAX_LENGTH:
                message = _("Ensure this field has no more than %(max)d characters.") % {
                    "max": SEARCH_MAX_LENGTH
                }
                raise ValidationError({"search": [ErrorDetail(message, code="max_length")]})
            services = selectors.search_services(services, params["search"], self.get_language())
        return services


@extend_schema_view(get=extend_schema(summary="Show a public service", tags=["catalog"]))
class PublicServiceDetailView(ETagMixin, FieldsMixin, LanguageMixin, generics.RetrieveAPIView):
    """A public service on offer, with its required documents and the form to fill in."""

    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True

    permission_classes = [AllowAny]
    serializer_class = s.PublicServiceDetailOutput
    lookup_field = "code"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return audio_help.with_audio_help(selectors.active_services(), self.get_language())


@shared.case_list_schema(
    DOSSIER_API,
    tag="requests",
    list_summary="List my dossiers (or those of my agencies)",
    create_summary="Submit a dossier",
    filters=(
        OpenApiParameter("service", str, description="Service code."),
        OpenApiParameter(
            "overdue", bool, description="Only dossiers past (true) or within (false) due."
        ),
    ),
)
class ServiceRequestListCreateView(shared.CaseListCreateView):
    """My dossiers (a citizen's phone keeps them), or those of my agencies (staff)."""

    # Filing for someone else (assisted) is for staff only (403).
    forbidden_methods = ("POST",)

    api = DOSSIER_API

    def filter_cases(self, cases: QuerySet[Any], params: QueryDict) -> QuerySet[Any]:
        cases = cases.defer(*DOSSIER_LIST_DEFERRED)
        if params.get("service"):
            cases = cases.filter(service__code=params["service"])
        if "overdue" in params:
            flag = {"true": True, "false": False}.get(str(params.get("overdue", "")).lower())
            if flag is None:
                raise ValidationError({"overdue": [_("Use true or false.")]}, code="invalid")
            cases = selectors.overdue_filter(cases, flag)
        return cases

    def open_case(self, user: Any, data: dict[str, Any]) -> tuple[Any, bool]:
        service = selectors.active_service(data["service"])
        if service is None:
            raise ValidationError({"service": ["Unknown service."]}, code="does_not_exist")
        commune = shared.commune_or_400(data["administrative_unit"])
        if data["assisted"]:
            return actions.submit_assisted_request(  # type: ignore[no-any-return]
                officer=user,
                applicant_phone=data["applicant_phone"],
                applicant_name=data["applicant_name"],
                service=service,
                commune=commune,
                form_data=data["form_data"],
                note=data["note"],
                request_id=data.get("id"),
            )
        return actions.submit_request(  # type: ignore[no-any-return]
            applicant=user,
            service=service,
            commune=commune,
            form_data=data["form_data"],
            note=data["note"],
            request_id=data.get("id"),
        )


@extend_validation_errors(
    ["required", "blank", "max_length"], field_name="tracking_code", methods=["get"]
)
@extend_validation_errors(
    ["required", "blank", "invalid"], field_name="phone_last4", methods=["get"]
)
class ServiceRequestLookupView(LanguageMixin, generics.GenericAPIView):
    # No authentication: anyone holding the paper receipt may ask, and a stale token in the
    # app must not turn the lookup into a 401.
    authentication_classes = ()
    permission_classes = [AllowAny]
    throttle_classes = [GenerousAnonRateThrottle, TrackingCodeRateThrottle]
    serializer_class = s.ServiceRequestLookupOutput
    tracking_code_prefix = selectors.TRACKING_PREFIX

    @extend_schema(
        summary="Look up a dossier's status by its tracking code",
        description=(
            "For anyone holding the receipt. The code may be typed in any case, with or "
            "without hyphens, O for 0 and I/L for 1. A wrong code and wrong phone digits "
            "answer the same 404. Throttled per tracking code."
        ),
        operation_id="requests_lookup",
        tags=["requests"],
        parameters=[s.ServiceRequestLookupInput],
        responses={
            200: s.ServiceRequestLookupOutput,
            404: OpenApiResponse(
                ErrorResponse404,
                description="No dossier has this code with these phone digits.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = s.ServiceRequestLookupInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        dossier = selectors.request_by_tracking_code(
            query.validated_data["tracking_code"], query.validated_data["phone_last4"]
        )
        if dossier is None:
            raise NotFound()
        return Response(self.get_serializer(dossier).data)


(
    ServiceRequestDetailView,
    ServiceRequestTransitionView,
    ServiceRequestRatingView,
    ServiceRequestAttachmentView,
    ServiceRequestAttachmentFromUploadView,
) = shared.case_views(
    DOSSIER_API,
    tag="requests",
    noun="dossier",
    rating=shared.OperationText(
        "Rate a completed dossier",
        "The applicant only, once, when the dossier is completed: 409 `invalid_transition` "
        "before that, 409 `already_rated` for a second rating.",
    ),
    attachment=shared.OperationText(
        "Attach a file to a dossier",
        "Multipart form with `file` and `kind` (a large file: upload it with `uploads/`, "
        "then `attachments/from-upload/`). The type is "
        "detected from the content; "
        "a file that is not what it claims is refused (400 `unsupported_file_type`), as is "
        "one over the size cap (413 `file_too_large`). The applicant attaches documents, "
        "photos and voice notes while the dossier is open; staff of the handling agency "
        "attach `result` files while it is in progress or its result is ready (403 for "
        "anyone else, 409 `invalid_transition` in another state, 409 "
        "`too_many_attachments` past 20 of the applicant's files or 20 results).",
    ),
    attachment_responses={
        403: OpenApiResponse(
            ErrorResponse403,
            description="This kind of attachment is not yours to add on this dossier.",
        )
    },
)
