from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import AdministrativeUnit
from common.api import LanguageMixin
from common.openapi import CONFLICT_RESPONSE
from common.pagination import CursorPagination
from services import actions, selectors
from services.api import serializers as s
from services.models import PublicService, ServiceRequest


@extend_schema_view(
    get=extend_schema(summary="List service categories", tags=["catalog"]),
)
class ServiceCategoryListView(LanguageMixin, generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.ServiceCategoryOutput
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.categories()


class CatalogPagination(CursorPagination):
    ordering = ("code",)


@extend_schema_view(
    get=extend_schema(
        summary="List public services",
        tags=["catalog"],
        parameters=[
            OpenApiParameter("category", str, description="Category code."),
            OpenApiParameter("level", str, enum=PublicService.Level.values),
        ],
    ),
)
class PublicServiceListView(LanguageMixin, generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.PublicServiceOutput
    pagination_class = CatalogPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        services = selectors.active_services()
        params = self.request.query_params
        if params.get("category"):
            services = services.filter(category__code=params["category"])
        if params.get("level"):
            if params["level"] not in PublicService.Level.values:
                raise ValidationError({"level": ["Unknown level."]})
            services = services.filter(level=params["level"])
        return services


@extend_schema_view(get=extend_schema(summary="Show a public service", tags=["catalog"]))
class PublicServiceDetailView(LanguageMixin, generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.PublicServiceDetailOutput
    lookup_field = "code"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.active_services()


class ServiceRequestListCreateView(LanguageMixin, generics.GenericAPIView):
    serializer_class = s.ServiceRequestOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        dossiers = selectors.requests_visible_to(self.request.user)
        params = self.request.query_params
        if params.get("status"):
            if params["status"] not in ServiceRequest.Status.values:
                raise ValidationError({"status": ["Unknown status."]})
            dossiers = dossiers.filter(status=params["status"])
        if params.get("service"):
            dossiers = dossiers.filter(service__code=params["service"])
        return dossiers

    @extend_schema(
        summary="List my dossiers (or those of my agencies)",
        operation_id="requests_list",
        responses=s.ServiceRequestOutput(many=True),
        tags=["requests"],
        parameters=[
            OpenApiParameter("status", str, enum=ServiceRequest.Status.values),
            OpenApiParameter("service", str, description="Service code."),
        ],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = s.ServiceRequestOutput(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Submit a dossier",
        operation_id="requests_create",
        tags=["requests"],
        request=s.ServiceRequestInput,
        responses={
            201: s.ServiceRequestDetailOutput,
            200: s.ServiceRequestDetailOutput,
            409: CONFLICT_RESPONSE,
        },
    )
    def post(self, request: Request) -> Response:
        body = s.ServiceRequestInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        service = selectors.active_services().filter(code=data["service"]).first()
        if service is None:
            raise ValidationError({"service": ["Unknown service."]}, code="does_not_exist")
        commune = AdministrativeUnit.objects.filter(
            level=AdministrativeUnit.Level.COMMUNE, code=data["administrative_unit"]
        ).first()
        if commune is None:
            raise ValidationError(
                {"administrative_unit": ["Unknown commune code."]}, code="does_not_exist"
            )
        dossier, created = actions.submit_request(
            applicant=request.user,
            service=service,
            commune=commune,
            form_data=data["form_data"],
            note=data["note"],
            request_id=data.get("id"),
        )
        return Response(
            detail_data(self, fetch_detail(self, dossier.pk)),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def fetch_detail(view: Any, pk: Any) -> ServiceRequest:
    """The dossier with everything its detail shows: one query, plus one for the events."""
    return get_object_or_404(
        selectors.requests_visible_to(view.request.user).prefetch_related("events"), pk=pk
    )


def detail_data(view: Any, dossier: ServiceRequest) -> dict[str, Any]:
    user = view.request.user
    context = view.get_serializer_context()
    context["allowed_actions"] = actions.allowed_actions(user, dossier)
    context["show_internal"] = user.is_superuser or dossier.agency_id in actions.staff_agency_ids(
        user
    )
    return s.ServiceRequestDetailOutput(dossier, context=context).data


class ServiceRequestDetailView(LanguageMixin, generics.GenericAPIView):
    serializer_class = s.ServiceRequestDetailOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.requests_visible_to(self.request.user)

    @extend_schema(summary="Show a dossier", tags=["requests"], operation_id="requests_retrieve")
    def get(self, request: Request, pk: str) -> Response:
        return Response(detail_data(self, fetch_detail(self, pk)))


class ServiceRequestTransitionView(LanguageMixin, generics.GenericAPIView):
    serializer_class = s.ServiceRequestDetailOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.requests_visible_to(self.request.user)

    @extend_schema(
        summary="Apply an action of the dossier state table",
        operation_id="requests_transition",
        tags=["requests"],
        request=s.ServiceRequestTransitionInput,
        responses={200: s.ServiceRequestDetailOutput, 409: CONFLICT_RESPONSE},
    )
    def post(self, request: Request, pk: str) -> Response:
        dossier = get_object_or_404(self.get_queryset(), pk=pk)
        body = s.ServiceRequestTransitionInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        note = data.get("reason") or data.get("result") or data.get("note", "")
        actions.transition_request(
            request.user, dossier, data["action"], note=note, internal=data["internal"]
        )
        return Response(detail_data(self, fetch_detail(self, pk)))
