"""The two peers `bench/http_bench.py` measures our endpoints against, on the same server.

- bare: plain Django function views behind the same middleware, running the same queries
  (`.values()` of the columns shown, the user behind the token by primary key) and writing
  the body with `json.dumps`; the create inserts the same rows (dossier, event, audit entry,
  notification) with the ORM and answers the new id.
- textbook: DRF as its tutorial writes it: a `ModelViewSet` with nested `ModelSerializer`s,
  simplejwt authentication, the default renderer and pagination of 20.

Served only by the benchmark (`bench.settings` mounts them under /bench/); never in the app.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import pagination, serializers, viewsets

from accounts.models import User
from agencies.models import AdministrativeUnit, Agency
from agencies.selectors import serving_agency
from common.models import AuditLogEntry
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


def bare_detail(request: HttpRequest, pk: str) -> HttpResponse:
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
    rows = (
        ServiceRequest.objects.filter(applicant=user)
        .order_by("-created_at", "-id")
        .values(*DOSSIER_COLUMNS)[:20]
    )
    return _json({"next": None, "results": [_dossier(row) for row in rows]})


def _bare_create(request: HttpRequest, user: User) -> HttpResponse:
    body = json.loads(request.body)
    service = PublicService.objects.filter(is_active=True, code=body["service"]).first()
    commune = AdministrativeUnit.objects.filter(code=body["administrative_unit"]).first()
    if service is None or commune is None:
        return JsonResponse({"detail": "bad"}, status=400)
    agency = serving_agency(commune, service.level)
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
        fields = (*TextbookDossierSerializer.Meta.fields, "note", "events")


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
            request=dossier, actor=self.request.user, action="submit", to_status=dossier.status
        )
