"""The GeoReport v2 endpoints. Plain Django views: the standard fixes their formats and
errors, so the project's API conventions (error shape, JWT) do not apply here."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import User
from agencies.models import AdministrativeUnit
from common.exceptions import DomainError
from common.phones import normalize_phone
from common.text import check_text
from common.tracking import normalize_tracking_code
from feedback.actions import submit_feedback
from feedback.models import Feedback, FeedbackCategory
from onestop.models import Open311Client, Open311Request
from onestop.open311 import clients, georeport

LIST_LIMIT = 200
DEFAULT_DAYS = 90
TITLE_MAX = 80
MEDIA_URL_MAX = 500
LEAP_SECOND = re.compile(r"(T\d{2}:\d{2}):60")


logger = logging.getLogger(__name__)


class GeoReportError(Exception):
    def __init__(
        self, status: int, description: Any, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(str(description))
        self.status = status
        self.description = description
        self.headers = headers or {}


def _format(request: HttpRequest, fmt: str | None) -> str:
    chosen = (fmt or request.GET.get("format") or "json").lower()
    return chosen if chosen in ("json", "xml") else "json"


def _language(request: HttpRequest) -> str:
    return (request.GET.get("lang") or request.GET.get("locale") or "vi")[:12].lower()


def georeport_view(methods: list[str]) -> Any:
    """CSRF-exempt (no cookies: the key is the credential), the methods the standard
    names, and every refusal in GeoReport's error format."""

    def wrap(view: Any) -> Any:
        @csrf_exempt
        @require_http_methods(methods)
        def wrapped(request: HttpRequest, fmt: str | None = None, **kwargs: Any) -> HttpResponse:
            chosen = _format(request, fmt)
            try:
                try:
                    check_text(dict(request.GET.lists()))
                    if request.method == "POST":
                        check_text(dict(request.POST.lists()))
                except Exception as exc:
                    raise GeoReportError(
                        400, _("The request holds characters not allowed.")
                    ) from exc
                return view(request, chosen, **kwargs)  # type: ignore[no-any-return]
            except GeoReportError as exc:
                response = georeport.errors([(exc.status, exc.description)], chosen, exc.status)
                for name, value in exc.headers.items():
                    response[name] = value
                return response
            except Exception:
                # Still GeoReport's shape: a client of this standard reads no other.
                logger.exception("open311 view failed")
                return georeport.errors([(500, _("A server error occurred."))], chosen, 500)

        return wrapped

    return wrap


def _client(request: HttpRequest, *, required: bool) -> Open311Client | None:
    api_key = (
        request.POST.get("api_key") if request.method == "POST" else None
    ) or request.GET.get("api_key", "")
    if not api_key:
        if required:
            raise GeoReportError(403, _("api_key is required."))
        return None
    client = clients.client_for_key(api_key)
    if client is None:
        raise GeoReportError(403, _("api_key is not valid."))
    if clients.over_limit(client):
        raise GeoReportError(
            429,
            _("Too many requests for this api_key; retry in a minute."),
            headers={"Retry-After": "60"},
        )
    return client


def _categories() -> QuerySet[FeedbackCategory]:
    return FeedbackCategory.objects.order_by("position", "code")


@georeport_view(["GET"])
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": "2026-01-01T00:00:00+07:00",
        "contact": "Dịch vụ công vùng cao",
        "key_service": "api_key issued by the operator in the admin",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-01-01T00:00:00+07:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return georeport.render(data, fmt, "discovery")


@georeport_view(["GET"])
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    language = _language(request)
    data = [georeport.service(category, language) for category in _categories()]
    return georeport.render(data, fmt, "services")


@georeport_view(["GET"])
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = _categories().filter(code=code).first()
    if category is None:
        raise GeoReportError(404, _("No service with this service_code."))
    return georeport.render(georeport.definition(category), fmt, "service_definition")


@georeport_view(["GET", "POST"])
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    client = _client(request, required=False)
    items = _visible(client)
    ids = [part for part in request.GET.get("service_request_id", "").split(",") if part.strip()]
    if ids:
        codes = [normalize_tracking_code(part, "PA") for part in ids]
        items = items.filter(tracking_code__in=[code for code in codes if code])
    else:
        items = _filtered(request, items)
    language = _language(request)
    data = [
        georeport.request(item, language, own=_own(client, item))
        for item in items.order_by("-created_at")[:LIST_LIMIT]
    ]
    return georeport.render(data, fmt, "service_requests")


@georeport_view(["GET"])
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    client = _client(request, required=False)
    code = normalize_tracking_code(request_id, "PA")
    item = _visible(client).filter(tracking_code=code).first() if code else None
    if item is None:
        raise GeoReportError(404, _("No service request with this id."))
    data = [georeport.request(item, _language(request), own=_own(client, item))]
    return georeport.render(data, fmt, "service_requests")


@georeport_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
    """Any other path under /open311/v2/ (a suffix other than .json or .xml, an id with
    characters no id has): GeoReport's 404."""
    raise GeoReportError(404, _("No such Open311 resource."))


@georeport_view(["GET"])
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    row = Open311Request.objects.filter(token=token).select_related("feedback").first()
    if row is None:
        raise GeoReportError(404, _("No service request with this token."))
    data = [{"service_request_id": row.feedback.tracking_code, "token": row.token}]
    return georeport.render(data, fmt, "service_requests")


# -- reading -----------------------------------------------------------------------------


def _visible(client: Open311Client | None) -> QuerySet[Feedback]:
    """What `client` may read: what it filed, and the public feed's items."""
    public = Q(is_public=True, status__in=Feedback.PUBLISHED)
    scope = public | Q(open311__client=client) if client is not None else public
    return Feedback.objects.filter(scope).select_related(
        "category", "agency", "administrative_unit", "administrative_unit__parent", "open311"
    )


def _own(client: Open311Client | None, item: Feedback) -> bool:
    if client is None:
        return False
    try:
        row = item.open311  # type: ignore[attr-defined]
    except Open311Request.DoesNotExist:
        return False
    return bool(row.client_id == client.pk)


def _date(request: HttpRequest, name: str) -> datetime | None:
    # A `+` of the offset arrives as a space when the client did not encode it; `t`/`z`
    # are as good as `T`/`Z`, and a leap second (`:60`) is valid RFC 3339: read as `:59`.
    raw = request.GET.get(name, "").strip().replace(" ", "+").upper()
    if not raw:
        return None
    raw = LEAP_SECOND.sub(r"\1:59", raw)
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise GeoReportError(400, _("%(name)s is not a W3C date-time.") % {"name": name})
    value = value if timezone.is_aware(value) else timezone.make_aware(value)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # Within a day of the first or last instant Python holds: as far as dates go.
        return (
            datetime.min.replace(tzinfo=UTC)
            if value.year == 1
            else datetime.max.replace(tzinfo=UTC)
        )


def _filtered(request: HttpRequest, items: QuerySet[Feedback]) -> QuerySet[Feedback]:
    codes = [
        part.strip() for part in request.GET.get("service_code", "").split(",") if part.strip()
    ]
    if codes:
        items = items.filter(category__code__in=codes)
    start, end = _date(request, "start_date"), _date(request, "end_date")
    if start is None and end is None:
        start = timezone.now() - timedelta(days=DEFAULT_DAYS)
    if start is not None:
        items = items.filter(created_at__gte=start)
    if end is not None:
        items = items.filter(created_at__lte=end)
    raw_status = request.GET.get("status", "")
    statuses = raw_status.split(",") if raw_status else []
    if statuses:
        if any(value not in georeport.STATES_OF for value in statuses):
            raise GeoReportError(400, _("status is open, closed, or both comma-separated."))
        items = items.filter(
            status__in=[state for value in statuses for state in georeport.STATES_OF[value]]
        )
    return items


# -- filing ------------------------------------------------------------------------------


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _client(request, required=True)
    if client is None:  # `required` raised already; for the type checker
        raise GeoReportError(403, _("api_key is required."))
    data = request.POST
    category = _categories().filter(code=data.get("service_code", "")).first()
    if category is None:
        raise GeoReportError(404, _("service_code is missing or not a service."))
    description = (data.get("description") or "").strip()
    if not description:
        raise GeoReportError(400, _("description is required."))
    commune = _commune(data.get("address_id") or data.get("attribute[commune]") or "")
    latitude, longitude = _coordinates(data.get("lat"), data.get("long"))
    media_url = _media_url(data.get("media_url") or "")
    is_anonymous = _flag(data, "attribute[anonymous]")
    is_public = _flag(data, "attribute[public]")
    author = _author(client, data.get("phone", ""))
    try:
        with transaction.atomic():
            item, _created = submit_feedback(
                author=author,
                category=category,
                commune=commune,
                title=_title(description),
                content=description[:5000],
                village=(data.get("attribute[village]") or "")[:120],
                latitude=latitude,
                longitude=longitude,
                is_anonymous=is_anonymous,
                is_public=is_public,
            )
            row = Open311Request.objects.create(
                feedback=item, client=client, token=secrets.token_hex(16), media_url=media_url
            )
    except DomainError as exc:
        raise GeoReportError(400, " ".join(str(m) for m in exc.messages())) from exc
    answer = [
        {
            "service_request_id": item.tracking_code,
            "token": row.token,
            "service_notice": _("Sent to %(agency)s.") % {"agency": item.agency.name},
            "account_id": None,
        }
    ]
    return georeport.render(answer, fmt, "service_requests", status=201)


def _commune(raw: str) -> AdministrativeUnit:
    """The commune from `address_id` or `attribute[commune]`: coordinates alone cannot be
    placed, since the list of units has no shapes."""
    if not raw.strip():
        raise GeoReportError(
            400,
            _(
                "address_id (or attribute[commune]) is required: the commune's code. "
                "Coordinates alone cannot be placed in a commune."
            ),
        )
    code = raw.strip()
    commune = (
        AdministrativeUnit.objects.filter(level=AdministrativeUnit.Level.COMMUNE, code=int(code))
        .select_related("parent")
        .first()
        if code.isdigit() and len(code) <= 9
        else None
    )
    if commune is None:
        raise GeoReportError(400, _("address_id is not a commune code."))
    return commune


def _coordinates(lat: str | None, long: str | None) -> tuple[Decimal | None, Decimal | None]:
    if not lat and not long:
        return None, None
    refusal = GeoReportError(
        400, _("lat and long must both be decimal degrees (lat -90 to 90, long -180 to 180).")
    )
    try:
        latitude, longitude = Decimal(str(lat).strip()), Decimal(str(long).strip())
    except (InvalidOperation, TypeError) as exc:
        raise refusal from exc
    if not (latitude.is_finite() and longitude.is_finite()):
        raise refusal
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise refusal
    step = Decimal("0.000001")
    return latitude.quantize(step), longitude.quantize(step)


def _media_url(raw: str) -> str:
    """An http(s) link to the photo, kept as sent (the service never fetches it)."""
    value = raw.strip()
    if not value:
        return ""
    try:
        if len(value) > MEDIA_URL_MAX:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError as exc:
        raise GeoReportError(
            400,
            _("media_url must be an http or https link of at most %(max)d characters.")
            % {"max": MEDIA_URL_MAX},
        ) from exc
    return value


def _author(client: Open311Client, phone: str) -> Any:
    """The verified account of `phone`, else the client's system user: an unverified
    account might belong to someone else than whoever typed the number."""
    normalized = normalize_phone(phone) if phone else None
    if normalized:
        account = User.objects.filter(
            phone=normalized, is_active=True, phone_verified_at__isnull=False
        ).first()
        if account is not None:
            return account
    return clients.system_user(client)


def _flag(data: Any, name: str) -> bool:
    """A singlevaluelist attribute: `true`, `false` or absent (false)."""
    value = data.get(name)
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise GeoReportError(400, _("%(name)s is true or false.") % {"name": name})


def _title(description: str) -> str:
    first = description.splitlines()[0].strip()
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1].rstrip() + "…"
