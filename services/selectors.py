"""Every read of services and dossiers a user may make, already scoped."""

from django.db.models import Q, QuerySet

from agencies.models import AdministrativeUnit, Agency
from agencies.selectors import agencies_in_scope
from services.models import PublicService, ServiceCategory, ServiceRequest


def categories() -> QuerySet[ServiceCategory]:
    return ServiceCategory.objects.all()


def active_services() -> QuerySet[PublicService]:
    return PublicService.objects.filter(is_active=True).select_related("category")


def requests_visible_to(user) -> QuerySet[ServiceRequest]:  # type: ignore[no-untyped-def]
    """Dossiers the user filed, plus those routed to agencies in the user's staff scope."""
    if not user.is_authenticated:
        return ServiceRequest.objects.none()
    condition = Q(applicant=user)
    if user.is_superuser:
        condition = Q()
    elif user.is_staff:
        condition |= Q(agency__in=agencies_in_scope(user))
    return ServiceRequest.objects.filter(condition).select_related(
        "service", "agency", "administrative_unit", "administrative_unit__parent"
    )


def handling_agency(service: PublicService, commune: AdministrativeUnit) -> Agency | None:
    """The agency that handles `service` for `commune`.

    The agency of the service's level serving that place takes it; where none exists at that
    level, the nearest agency above it in the same province does; a ministry-level service
    goes to the ministry (the root).
    """
    active = Agency.objects.filter(is_active=True)
    if service.level == PublicService.Level.MINISTRY:
        return active.filter(level=Agency.Level.MINISTRY).order_by("path").first()
    if service.level == PublicService.Level.COMMUNE:
        office = active.filter(level=Agency.Level.COMMUNE, administrative_unit=commune).first()
        if office:
            return office
    return active.filter(
        level=Agency.Level.PROVINCE, administrative_unit_id=commune.parent_id
    ).first()
