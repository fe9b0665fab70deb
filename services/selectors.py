"""Every read of services and dossiers a user may make, already scoped."""

import hmac
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from agencies import calendar
from agencies.models import AdministrativeUnit, Agency
from agencies.selectors import serving_agency
from casework.access import cases_actionable_by, cases_visible_to
from common import refcache
from common.i18n import DEFAULT_LANGUAGE, TranslationTally
from common.i18n.translations import counted_translations
from common.text import fold
from common.tracking import normalize_tracking_code
from services.models import PublicService, ServiceCategory, ServiceRequest, ServiceRequestEvent

TRACKING_PREFIX = ServiceRequest.TRACKING_PREFIX


def categories() -> QuerySet[ServiceCategory]:
    return ServiceCategory.objects.all()


def active_services() -> QuerySet[PublicService]:
    return PublicService.objects.filter(is_active=True).select_related("category")


def active_service(code: str) -> PublicService | None:
    """The active service of `code`, from the process's reference cache (common.refcache)."""
    return refcache.cached(
        "services.active", code, lambda: active_services().filter(code=code).first()
    )


refcache.forget_on_change("services.active", PublicService, ServiceCategory)


def search_services(
    services: QuerySet[PublicService], text: str, language: str
) -> QuerySet[PublicService]:
    """`services` whose code, national code or name (in Vietnamese or in `language`) holds
    every word of `text`, ignoring case and diacritics (`khai sinh`, `Khai Sinh`, `birth`).

    Matched in Python over `services` (the catalog: a few hundred rows at most), then
    filtered by code in the database: a folded search column would need a migration of the
    catalog, and SQLite and PostgreSQL fold diacritics differently (docs/decisions.md).
    """
    words = fold(text).split()
    if not words:
        return services
    matching = []
    for code, national_code, name in services.values_list("code", "national_code", "name"):
        names = name if isinstance(name, dict) else {}
        haystack = fold(
            " ".join(
                (
                    code,
                    national_code,
                    str(names.get(DEFAULT_LANGUAGE, "")),
                    str(names.get(language, "")),
                )
            )
        )
        if all(word in haystack for word in words):
            matching.append(code)
    return services.filter(code__in=matching)


def _with_refs(dossiers: QuerySet[ServiceRequest]) -> QuerySet[ServiceRequest]:
    return dossiers.select_related(
        "service", "agency", "administrative_unit", "administrative_unit__parent"
    )


def applicant_sees(dossier: ServiceRequest, user: Any) -> bool:
    """Whether the applicant's account sees `dossier`: always one it filed itself; one filed
    for its phone at a public office only once the account has proven it holds the phone
    (a code sent to it succeeded). Until then the account may belong to someone who
    registered a neighbour's number; the dossier waits for whoever proves the phone."""
    return dossier.submitted_by_id is None or user.phone_verified_at is not None


def requests_visible_to(user) -> QuerySet[ServiceRequest]:  # type: ignore[no-untyped-def]
    """Dossiers the user filed or that were filed for them (`applicant_sees`), those the
    user filed for someone else (assisted submission), plus those the user may act on as
    staff (`requests_actionable_by`)."""
    own = Q(submitted_by=user) | Q(applicant=user, submitted_by__isnull=True)
    if getattr(user, "phone_verified_at", None) is not None:
        own |= Q(applicant=user)
    return _with_refs(cases_visible_to(user, ServiceRequest.objects.all(), own=own))


def requests_actionable_by(user) -> QuerySet[ServiceRequest]:  # type: ignore[no-untyped-def]
    """Dossiers the user may act on as staff: all for a superuser, otherwise those routed to
    an agency in the user's scope (`agencies.selectors.agencies_in_scope`).

    The staff UI (the admin) starts here; a citizen's own dossiers are not in it. The same
    rule decides staff actions (`casework.access.may_act`).
    """
    return _with_refs(cases_actionable_by(user, ServiceRequest.objects.all()))


def overdue_filter(dossiers: QuerySet[ServiceRequest], overdue: bool) -> QuerySet[ServiceRequest]:
    """Keep the dossiers that are (or are not) overdue, as `ServiceRequest.is_overdue` says."""
    late = Q(due_at__isnull=False, due_at__lt=timezone.now()) & ~Q(
        status__in=[*ServiceRequest.FINAL, ServiceRequest.Status.RESULT_READY]
    )
    return dossiers.filter(late) if overdue else dossiers.exclude(late)


def request_by_tracking_code(tracking_code: str, phone_last4: str) -> ServiceRequest | None:
    """The dossier a public lookup may show, or None.

    `tracking_code` is read forgivingly (case, hyphens, O for 0, I/L for 1). A code that is
    malformed, has a wrong check character or is unknown, and a wrong `phone_last4` (last 4
    digits of the applicant's phone), all give None alike, so the answer reveals nothing
    about which codes exist.
    """
    code = normalize_tracking_code(tracking_code, TRACKING_PREFIX)
    if code is None:
        return None
    dossier = (
        ServiceRequest.objects.select_related("service", "applicant")
        .only(
            "tracking_code",
            "status",
            "updated_at",
            "due_at",
            "service__code",
            "service__name",
            "applicant__phone",
            "applicant_phone_snapshot",
            "applicant_erased_at",
        )
        .filter(tracking_code=code)
        .first()
    )
    if dossier is None:
        return None
    # A closed account's number is the copy kept on the dossier.
    phone = dossier.applicant_display_phone
    if not phone or not hmac.compare_digest(phone[-4:].encode(), phone_last4.encode()):
        return None
    return dossier


def handling_agency(service: PublicService, commune: AdministrativeUnit) -> Agency | None:
    """The agency that handles `service` for `commune`.

    The agency of the service's level serving that place takes it; where none exists at that
    level, the nearest agency above it in the same province does; a ministry-level service
    goes to the ministry (the root).
    """
    return serving_agency(commune, service.level)


def translation_tally() -> TranslationTally:
    """The catalog's translatable texts for `GET languages/` (two queries): category names,
    and the names, descriptions and required documents' names of active services.

    Sample texts (`translation_status` `sample`: unchecked demo text) are not counted.
    """
    tally = TranslationTally()
    for name, status in ServiceCategory.objects.values_list("name", "translation_status"):
        tally.add(counted_translations(name, status))
    services = PublicService.objects.filter(is_active=True).values_list(
        "name", "description", "required_documents", "translation_status"
    )
    for name, description, documents, status in services:
        tally.add(counted_translations(name, status))
        tally.add(counted_translations(description, status))
        for document in documents if isinstance(documents, list) else []:
            if isinstance(document, dict):
                tally.add(counted_translations(document.get("name"), status))
    return tally


def staff_queue(user) -> QuerySet[ServiceRequest]:  # type: ignore[no-untyped-def]
    """The admin's dossier queue: `requests_actionable_by` with what its rows show joined
    (the applicant's name), so a page costs the same queries however many rows it holds."""
    return requests_actionable_by(user).select_related("applicant")


def with_completed_at(dossiers: QuerySet[ServiceRequest]) -> QuerySet[ServiceRequest]:
    """Annotate `completed_at`: when the result was handed over (the `return_result` event)."""
    handed_over = ServiceRequestEvent.objects.filter(
        request=OuterRef("pk"), action="return_result"
    ).order_by("-created_at")
    return dossiers.annotate(completed_at=Subquery(handed_over.values("created_at")[:1]))


def due_soon_limit(now: datetime | None = None) -> datetime:
    """Dossiers due up to this moment (and not yet overdue) are due soon: 17:00 of the second
    working day from today, counting today when it is one (today and the next working day)."""
    today = timezone.localtime(now or timezone.now(), calendar.LOCAL_TZ).date()
    last_day = calendar.add_working_days(calendar.add_working_days(today, 0), 1)
    return datetime.combine(last_day, calendar.CLOSING_TIME, tzinfo=calendar.LOCAL_TZ)


def assignable_staff(dossier: ServiceRequest) -> QuerySet[Any]:
    """Active staff members of the dossier's agency, whom `assign` accepts."""
    User = get_user_model()
    return (
        User.objects.filter(is_active=True, is_staff=True, memberships__agency_id=dossier.agency_id)
        .distinct()
        .order_by("full_name", "phone")
    )
