"""The two peers `bench/http_bench.py` measures our endpoints against, on the same server.

- bare: plain Django function views behind the same middleware, running the same queries
  (`.values()` of the columns shown, the user behind the token by primary key) and writing
  the body with `json.dumps`; the create inserts the same rows (dossier, event, audit entry,
  notification) with the ORM and answers the new id; the detail writes a body of its own.
- textbook: DRF as its tutorial writes it: a `ModelViewSet` with nested `ModelSerializer`s,
  simplejwt authentication, the default renderer and pagination of 20.

The bare peers of the dossier lists (a citizen's and an officer's), the public feedback feed,
the inbox, `me/`, the unread count and the inbox sync write the same bytes as the API (dates as
DRF writes them, `next` links to the API's own path) and run the same statements: the same
`WHERE` as `services.selectors.requests_visible_to` (the scope is `agencies_in_scope` itself),
the same audit entries for a staff member's page.

Served only by the benchmark (`bench.settings` mounts them under /bench/); never in the app.
"""

from __future__ import annotations

import json
import uuid
from base64 import b64encode
from datetime import datetime, timedelta
from typing import Any
from urllib import parse

import jwt
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from rest_framework import pagination, permissions, serializers, viewsets
from rest_framework.utils.urls import replace_query_param

from accounts.models import User
from agencies.models import AdministrativeUnit, Agency
from agencies.selectors import agencies_in_scope, serving_agency
from common.models import AuditLogEntry, SyncRemoval
from feedback.models import Feedback, FeedbackCategory
from notifications.models import Notification
from services.models import PublicService, ServiceRequest, ServiceRequestEvent


def _user(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    claims = jwt.decode(
        header[7:],
        settings.JWT_SIGNING_KEY,
        algorithms=["HS256"],
        audience=settings.SIMPLE_JWT["AUDIENCE"],
        issuer=settings.SIMPLE_JWT["ISSUER"],
    )
    return User.objects.filter(pk=claims["user_id"], is_active=True).first()


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, default=str),
        content_type="application/json",
        status=status,
    )


DOSSIER_COLUMNS = (
    "id",
    "tracking_code",
    "status",
    "service__code",
    "service__name",
    "agency__id",
    "agency__code",
    "agency__name",
    "administrative_unit__code",
    "administrative_unit__name",
    "administrative_unit__level",
    "due_at",
    "created_at",
    "updated_at",
)


def _dossier(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "tracking_code": row["tracking_code"],
        "status": row["status"],
        "service": {"code": row["service__code"], "name": row["service__name"].get("vi", "")},
        "agency": {
            "id": row["agency__id"],
            "code": row["agency__code"],
            "name": row["agency__name"],
        },
        "administrative_unit": {
            "code": row["administrative_unit__code"],
            "name": row["administrative_unit__name"],
            "level": row["administrative_unit__level"],
        },
        "due_at": row["due_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def bare_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    row = (
        ServiceRequest.objects.filter(applicant=user, pk=pk)
        .values(*DOSSIER_COLUMNS, "form_data", "note")
        .first()
    )
    if row is None:
        return JsonResponse({"detail": "not found"}, status=404)
    data = _dossier(row)
    data["form_data"] = row["form_data"]
    data["note"] = row["note"]
    data["events"] = list(
        ServiceRequestEvent.objects.filter(request_id=pk)
        .order_by("created_at")
        .values("id", "action", "note", "from_status", "to_status", "created_at")
    )
    data["attachments"] = list(
        ServiceRequest.objects.get(pk=pk).attachments.values("id", "kind", "name", "size")
    )
    return _json(data)


@csrf_exempt
def bare_list_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    if request.method == "POST":
        return _bare_create(request, user)
    return _dossier_page(request, user)


def _bare_create(request: HttpRequest, user: User) -> HttpResponse:
    body = json.loads(request.body)
    service = PublicService.objects.filter(is_active=True, code=body["service"]).first()
    commune = AdministrativeUnit.objects.filter(code=body["administrative_unit"]).first()
    if service is None or commune is None:
        return JsonResponse({"detail": "bad"}, status=400)
    agency = serving_agency(commune, service.level)
    if agency is None:
        return JsonResponse({"detail": "no agency"}, status=400)
    with transaction.atomic():
        dossier = ServiceRequest.objects.create(
            tracking_code=f"BB{uuid.uuid4().hex[:16]}",
            applicant=user,
            service=service,
            administrative_unit=commune,
            agency=agency,
            form_data=body["form_data"],
        )
        ServiceRequestEvent.objects.create(
            request=dossier, actor=user, action="submit", to_status=dossier.status
        )
        AuditLogEntry.objects.create(
            actor=user,
            action="submit",
            object_type="services.servicerequest",
            object_id=str(dossier.pk),
            agency_id=dossier.agency_id,
        )
        Notification.objects.create(
            user=user, kind="service_request.submitted", title="Hồ sơ đã nộp", body=""
        )
    return _json({"id": dossier.pk, "tracking_code": dossier.tracking_code}, status=201)


def bare_catalog(request: HttpRequest) -> HttpResponse:
    rows = (
        PublicService.objects.filter(is_active=True)
        .order_by("code")
        .values(
            "code",
            "name",
            "category__code",
            "category__name",
            "level",
            "processing_days",
            "fee",
            "online_level",
        )[:20]
    )
    return _json(
        {
            "next": None,
            "results": [
                {
                    "code": row["code"],
                    "name": row["name"].get("vi", ""),
                    "category": {
                        "code": row["category__code"],
                        "name": row["category__name"].get("vi", ""),
                    },
                    "level": row["level"],
                    "processing_days": row["processing_days"],
                    "fee": row["fee"],
                    "online_level": row["online_level"],
                }
                for row in rows
            ],
        }
    )


# -- bare peers with the API's own bytes ------------------------------------------------------

SYNC_MARGIN = timedelta(seconds=60)


def _at(value: datetime | None) -> str | None:
    """A date-time as DRF's `DateTimeField` writes it: local time, ISO 8601, `Z` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _compact(data: Any, status: int = 200) -> HttpResponse:
    """JSON as the API's renderer writes it: compact, UTF-8."""
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
        status=status,
    )


def _api_url(request: HttpRequest, path: str) -> str:
    """The absolute URL of the API's `path` with this request's query string: the base of
    the `next` links, which name the API, not the peer."""
    query = request.META.get("QUERY_STRING", "")
    return request.build_absolute_uri(f"{path}?{query}" if query else path)


def _next(request: HttpRequest, path: str, rows: list[dict[str, Any]], field: str) -> str | None:
    """DRF's cursor link after `rows` (21 fetched for a page of 20): `p` is the position."""
    if len(rows) <= 20:
        return None
    position = str(rows[19][field])
    encoded = b64encode(parse.urlencode({"p": position}).encode("ascii")).decode("ascii")
    return replace_query_param(_api_url(request, path), "cursor", encoded)


def _overdue(row: dict[str, Any], now: datetime) -> bool:
    return (
        row["due_at"] is not None
        and row["status"] not in ServiceRequest.FINAL
        and row["status"] != ServiceRequest.Status.RESULT_READY
        and now > row["due_at"]
    )


def bare_officer_list(request: HttpRequest) -> HttpResponse:
    """`GET /api/v1/requests/` of a staff member (`_dossier_page`)."""
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    return _dossier_page(request, user)


def _dossier_page(request: HttpRequest, user: User) -> HttpResponse:
    """`GET /api/v1/requests/`: what `services.selectors.requests_visible_to` lets the user
    see (their own dossiers; a staff member's also those of the agencies in their scope),
    newest first, 20 a page; a staff member's page audited as staff reads are."""
    own = Q(submitted_by=user) | Q(applicant=user, submitted_by__isnull=True)
    if user.phone_verified_at is not None:
        own |= Q(applicant=user)
    if user.is_staff:
        own |= Q(agency__in=agencies_in_scope(user))
    rows = list(
        ServiceRequest.objects.filter(own)
        .order_by("-created_at", "-id")
        .values(*DOSSIER_COLUMNS, "applicant_id", "submitted_by_id")[:21]
    )
    now = timezone.now()
    results = [
        {
            "id": str(row["id"]),
            "tracking_code": row["tracking_code"],
            "status": row["status"],
            "service": {"code": row["service__code"], "name": row["service__name"].get("vi", "")},
            "agency": {
                "id": str(row["agency__id"]),
                "code": row["agency__code"],
                "name": row["agency__name"],
            },
            "administrative_unit": {
                "code": row["administrative_unit__code"],
                "name": row["administrative_unit__name"],
                "level": row["administrative_unit__level"],
            },
            "due_at": _at(row["due_at"]),
            "is_overdue": _overdue(row, now),
            "created_at": _at(row["created_at"]),
            "updated_at": _at(row["updated_at"]),
        }
        for row in rows[:20]
    ]
    if user.is_staff:
        AuditLogEntry.objects.bulk_create(
            AuditLogEntry(
                actor=user,
                action="view_personal_data",
                object_type="services.servicerequest",
                object_id=str(row["id"]),
                agency_id=row["agency__id"],
                details={"list": "api"},
            )
            for row in rows[:20]
            if row["applicant_id"] != user.pk
        )
    body = {
        "next": _next(request, "/api/v1/requests/", rows, "created_at"),
        "previous": None,
        "results": results,
    }
    return _compact(body)


PUBLIC_FEEDBACK_COLUMNS = (
    "id",
    "tracking_code",
    "status",
    "category__code",
    "category__name",
    "administrative_unit__code",
    "administrative_unit__name",
    "administrative_unit__level",
    "agency__id",
    "agency__code",
    "agency__name",
    "title",
    "content",
    "answer",
    "answered_at",
    "support_count",
    "created_at",
)


def bare_public_feedback(request: HttpRequest) -> HttpResponse:
    """`GET /api/v1/feedback/public/`: published items whose authors agreed, newest first."""
    rows = list(
        Feedback.objects.filter(is_public=True, status__in=Feedback.PUBLISHED)
        .order_by("-created_at", "-pk")
        .values(*PUBLIC_FEEDBACK_COLUMNS)[:21]
    )
    results = [
        {
            "id": str(row["id"]),
            "tracking_code": row["tracking_code"],
            "status": row["status"],
            "category": {
                "code": row["category__code"],
                "name": row["category__name"].get("vi", ""),
            },
            "administrative_unit": {
                "code": row["administrative_unit__code"],
                "name": row["administrative_unit__name"],
                "level": row["administrative_unit__level"],
            },
            "agency": {
                "id": str(row["agency__id"]),
                "code": row["agency__code"],
                "name": row["agency__name"],
            },
            "title": row["title"],
            "content": row["content"],
            "answer": row["answer"],
            "answered_at": _at(row["answered_at"]),
            "support_count": row["support_count"],
            "created_at": _at(row["created_at"]),
        }
        for row in rows[:20]
    ]
    body = {
        "next": _next(request, "/api/v1/feedback/public/", rows, "created_at"),
        "previous": None,
        "results": results,
    }
    return _compact(body)


INBOX_COLUMNS = ("id", "kind", "title", "body", "data", "read_at", "created_at")


def _inbox_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "title": row["title"],
        "body": row["body"],
        "data": {key: str(value) for key, value in row["data"].items()},
        "read_at": _at(row["read_at"]),
        "created_at": _at(row["created_at"]),
    }


def bare_inbox(request: HttpRequest) -> HttpResponse:
    """`GET /api/v1/notifications/`, and with `?updated_since=` the sync walk's first page."""
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    mine = Notification.objects.filter(user=user)
    since_raw = request.GET.get("updated_since")
    if not since_raw:
        rows = list(mine.order_by("-created_at", "-id").values(*INBOX_COLUMNS)[:21])
        body: dict[str, Any] = {
            "next": _next(request, "/api/v1/notifications/", rows, "created_at"),
            "previous": None,
            "results": [_inbox_item(row) for row in rows[:20]],
        }
        return _compact(body)
    since = parse_datetime(since_raw.replace(" ", "+"))
    if since is None or timezone.is_naive(since):
        return JsonResponse({"detail": "bad updated_since"}, status=400)
    server_time = timezone.now() - SYNC_MARGIN
    rows = list(
        mine.filter(updated_at__gt=since)
        .order_by("updated_at", "pk")
        .values(*INBOX_COLUMNS, "updated_at")[:21]
    )
    removed = list(
        dict.fromkeys(
            SyncRemoval.objects.filter(
                Q(user__isnull=True) | Q(user=user),
                kind="notification",
                removed_at__gt=since,
            )
            .order_by("removed_at", "id")
            .values_list("object_id", flat=True)
        )
    )
    link = None
    if len(rows) > 20:
        last = rows[19]
        tokens = {
            "s": server_time.isoformat(),
            "p": last["updated_at"].isoformat(),
            "i": str(last["id"]),
        }
        encoded = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        link = replace_query_param(_api_url(request, "/api/v1/notifications/"), "cursor", encoded)
    body = {
        "next": link,
        "previous": None,
        "results": [_inbox_item(row) for row in rows[:20]],
        "removed": removed,
        "server_time": _at(server_time),
    }
    return _compact(body)


def bare_unread_count(request: HttpRequest) -> HttpResponse:
    """`GET /api/v1/notifications/unread-count/`."""
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    count = Notification.objects.filter(user=user, read_at__isnull=True).count()
    return _compact({"count": count})


def bare_me(request: HttpRequest) -> HttpResponse:
    """`GET /api/v1/me/`: the user's row and their home commune's, as the API reads them."""
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    unit = (
        AdministrativeUnit.objects.filter(pk=user.administrative_unit_id)
        .values("code", "name", "level")
        .first()
        if user.administrative_unit_id is not None
        else None
    )
    body = {
        "id": str(user.pk),
        "phone": user.phone,
        "full_name": user.full_name,
        "preferred_language": user.preferred_language,
        "administrative_unit": unit,
        "is_staff": user.is_staff,
        "phone_verified_at": _at(user.phone_verified_at),
        "ethnic_group": user.ethnic_group or None,
    }
    return _compact(body)


# -- textbook DRF ----------------------------------------------------------------------------


class TextbookServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PublicService
        fields = ("code", "name")


class TextbookAgencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ("id", "code", "name")


class TextbookUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdministrativeUnit
        fields = ("code", "name", "level")


class TextbookEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceRequestEvent
        fields = ("id", "action", "note", "from_status", "to_status", "created_at")


class TextbookDossierSerializer(serializers.ModelSerializer):
    service = TextbookServiceSerializer(read_only=True)
    agency = TextbookAgencySerializer(read_only=True)
    administrative_unit = TextbookUnitSerializer(read_only=True)
    service_code = serializers.SlugRelatedField(
        source="service",
        slug_field="code",
        queryset=PublicService.objects.filter(is_active=True),
        write_only=True,
    )
    commune = serializers.SlugRelatedField(
        source="administrative_unit",
        slug_field="code",
        queryset=AdministrativeUnit.objects.all(),
        write_only=True,
    )

    class Meta:
        model = ServiceRequest
        fields = (
            "id",
            "tracking_code",
            "status",
            "service",
            "agency",
            "administrative_unit",
            "due_at",
            "created_at",
            "updated_at",
            "form_data",
            "service_code",
            "commune",
        )
        read_only_fields = ("tracking_code", "status", "due_at")


class TextbookDossierDetailSerializer(TextbookDossierSerializer):
    events = TextbookEventSerializer(many=True, read_only=True)

    class Meta(TextbookDossierSerializer.Meta):
        fields = (*TextbookDossierSerializer.Meta.fields, "note", "events")  # type: ignore[assignment]


class TextbookPagination(pagination.CursorPagination):
    page_size = 20
    ordering = "-created_at"


class TextbookDossierViewSet(viewsets.ModelViewSet):
    pagination_class = TextbookPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        dossiers = ServiceRequest.objects.filter(applicant=self.request.user).select_related(
            "service", "agency", "administrative_unit"
        )
        if self.action == "retrieve":
            dossiers = dossiers.prefetch_related("events")
        return dossiers

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        if self.action == "retrieve":
            return TextbookDossierDetailSerializer
        return TextbookDossierSerializer

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        agency = serving_agency(data["administrative_unit"], data["service"].level)
        dossier = serializer.save(
            applicant=self.request.user,
            agency=agency,
            tracking_code=f"TB{uuid.uuid4().hex[:16]}",
        )
        ServiceRequestEvent.objects.create(
            request=dossier,
            actor=self.request.user,  # type: ignore[misc]
            action="submit",
            to_status=dossier.status,
        )


class TextbookOfficerDossierViewSet(viewsets.ReadOnlyModelViewSet):
    """A staff member's dossiers as a tutorial would scope them: the agencies in scope."""

    serializer_class = TextbookDossierSerializer
    pagination_class = TextbookPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ServiceRequest.objects.filter(
            agency__in=agencies_in_scope(self.request.user)
        ).select_related("service", "agency", "administrative_unit")


class TextbookFeedbackCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = FeedbackCategory
        fields = ("code", "name")


class TextbookPublicFeedbackSerializer(serializers.ModelSerializer):
    category = TextbookFeedbackCategorySerializer(read_only=True)
    administrative_unit = TextbookUnitSerializer(read_only=True)
    agency = TextbookAgencySerializer(read_only=True)

    class Meta:
        model = Feedback
        fields = (
            "id",
            "tracking_code",
            "status",
            "category",
            "administrative_unit",
            "agency",
            "title",
            "content",
            "answer",
            "answered_at",
            "support_count",
            "created_at",
        )


class TextbookPublicFeedbackViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.AllowAny]
    serializer_class = TextbookPublicFeedbackSerializer
    pagination_class = TextbookPagination
    queryset = Feedback.objects.filter(
        is_public=True, status__in=Feedback.PUBLISHED
    ).select_related("category", "administrative_unit", "agency")


class TextbookNotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ("id", "kind", "title", "body", "data", "read_at", "created_at")


class TextbookInboxViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TextbookNotificationSerializer
    pagination_class = TextbookPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Notification.objects.filter(user=self.request.user)
