"""Public reference data: administrative units and agencies. Anyone may read them."""

from django_filters import FilterSet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny

from agencies import selectors
from agencies.api.filters import AdministrativeUnitFilter, AgencyFilter
from agencies.api.pagination import AdministrativeUnitPagination, AgencyPagination
from agencies.api.serializers import AdministrativeUnitOutput, AgencyOutput
from common.api.mixins import ETagMixin, FieldsMixin, LanguageMixin

TAGS = ["reference data"]


def code_parameter(filterset: type[FilterSet], name: str) -> OpenApiParameter:
    """A code filter documented as a plain integer: derived from the model field, its range
    would depend on the database vendor, and the committed schema must not."""
    help_text = filterset.base_filters[name].extra["help_text"]
    # Codes are never negative (the filter refuses them); an empty value is no filter.
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 0}, description=help_text, allow_blank=True
    )


@extend_schema_view(
    get=extend_schema(
        summary="List provinces and communes",
        description=(
            "The 34 provinces and 3,321 communes in force since 1 July 2025, ordered by "
            "(level, code). Province and commune codes overlap, so a unit is known by both."
        ),
        tags=TAGS,
        parameters=[code_parameter(AdministrativeUnitFilter, "parent")],
    )
)
class AdministrativeUnitListView(FieldsMixin, LanguageMixin, ListAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    permission_classes = [AllowAny]
    serializer_class = AdministrativeUnitOutput
    filterset_class = AdministrativeUnitFilter
    pagination_class = AdministrativeUnitPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.administrative_units()


@extend_schema_view(
    get=extend_schema(
        summary="List agencies",
        description="Active agencies (ministries, provincial boards, commune offices).",
        tags=TAGS,
        parameters=[
            code_parameter(AgencyFilter, "administrative_unit"),
            OpenApiParameter(
                "parent",
                OpenApiTypes.UUID,
                description=AgencyFilter.base_filters["parent"].extra["help_text"],
                allow_blank=True,
            ),
        ],
    )
)
class AgencyListView(FieldsMixin, LanguageMixin, ListAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    permission_classes = [AllowAny]
    serializer_class = AgencyOutput
    filterset_class = AgencyFilter
    pagination_class = AgencyPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.public_agencies()


@extend_schema_view(
    get=extend_schema(
        summary="Get an agency",
        description="An active agency with its contact details; otherwise 404.",
        tags=TAGS,
        parameters=[OpenApiParameter("agency_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
)
class AgencyDetailView(ETagMixin, FieldsMixin, LanguageMixin, RetrieveAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    permission_classes = [AllowAny]
    serializer_class = AgencyOutput
    # A malformed id fails UUID validation inside get_object_or_404 and answers 404, like an
    # unknown one, instead of the HTML 404 a `<uuid:>` converter would leave to Django.
    lookup_url_kwarg = "agency_id"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.public_agencies()
