from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.idempotency import idempotent
from common.api.mixins import ETagMixin, FieldsMixin, LanguageMixin
from common.api.pagination import SyncCursorPagination
from common.api.throttling import UserWriteThrottle
from notifications import actions, selectors
from notifications.api import serializers as s
from notifications.models import Notification

NO_CONTENT = OpenApiResponse(None, description="Done.")


class DeviceRegistrationView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Register this device for push notifications",
        description=(
            "Upsert by FCM token. A token already registered (also under another account, "
            "e.g. after someone else logged in on this phone) moves to the caller and is "
            "reactivated. At most 10 active devices per account: the least recently seen "
            "one stops receiving pushes."
        ),
        tags=["devices"],
        request=s.PushDeviceRegistrationSerializer,
        responses={
            201: OpenApiResponse(s.PushDeviceSerializer, description="A new device."),
            200: OpenApiResponse(s.PushDeviceSerializer, description="Registered again."),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.PushDeviceRegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device, created = actions.register_device(request.user, **serializer.validated_data)
        return Response(
            s.PushDeviceSerializer(device).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DeviceDetailView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Stop push notifications to this device",
        description="For sign-out or when the person turns notifications off; the inbox "
        "keeps filling. A token that is not the caller's is a 404.",
        tags=["devices"],
        responses={204: NO_CONTENT},
    )
    def delete(self, request: Request, token: str) -> Response:
        if not actions.unregister_device(request.user, token):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxPagination(SyncCursorPagination):
    sync_kind = "notification"


class InboxView(ETagMixin, FieldsMixin, LanguageMixin, GenericAPIView):
    serializer_class = s.InboxNotificationSerializer
    pagination_class = InboxPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        return selectors.inbox_for(self.request.user)

    @extend_schema(
        summary="My notifications",
        description=(
            "Newest first, cursor-paginated. With `updated_since`, what changed since then "
            "(new rows, rows read), oldest first: the phone keeps its inbox."
        ),
        tags=["notifications"],
        responses={200: s.InboxNotificationSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class InboxUnreadCountView(LanguageMixin, APIView):
    @extend_schema(
        summary="How many of my notifications are unread",
        description="For the badge on the app's bell; cheap enough to ask on every start.",
        tags=["notifications"],
        responses={200: s.InboxUnreadCountSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(
            s.InboxUnreadCountSerializer({"count": selectors.unread_count(request.user)}).data
        )


class InboxReadView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Mark one notification read",
        description="Idempotent: marking a read one again changes nothing. Another person's "
        "notification is a 404.",
        tags=["notifications"],
        request=None,
        responses={204: NO_CONTENT},
    )
    def post(self, request: Request, notification_id: str) -> Response:
        actions.mark_read(selectors.notification_for_user(request.user, notification_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxReadAllView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Mark all my notifications read",
        description="Every unread notification of the caller, at once.",
        tags=["notifications"],
        request=None,
        responses={204: NO_CONTENT},
    )
    def post(self, request: Request) -> Response:
        actions.mark_all_read(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnouncementThrottle(UserWriteThrottle):
    """Per sender: an announcement reaches a whole province, it must not be sent in bursts."""

    scope = "announcement"
    default_rate = "10/hour"

    def get_rate(self) -> str:
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}
        return str(rates.get(self.scope) or self.default_rate)  # type: ignore[attr-defined]


class AnnouncementView(LanguageMixin, APIView):
    # Refusals of a role or of separation of duties (403) the spec documents.
    forbidden_methods = ("POST",)
    throttle_classes = (AnnouncementThrottle,)

    @extend_schema(
        summary="Send an announcement to a province or commune",
        description=(
            "Managers and admins send to their agency's area: a commune office to its "
            "commune, a province board to the province or any of its communes; superusers "
            "anywhere. Everyone whose home commune lies there gets an inbox notification "
            "(kind `announcement`) and a push (data `type: announcement`), written after "
            "the answer, in batches. `administrative_unit` is a code and `level` says "
            "whether it is a province or a commune code (they overlap; default commune). "
            "Officers and citizens: 403 `permission_denied`; a unit outside the sender's "
            "area: 403 `outside_area`; an unknown unit: 400. At most 10 an hour per sender."
        ),
        tags=["notifications"],
        request=s.AnnouncementCreateSerializer,
        responses={201: s.AnnouncementSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.AnnouncementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        unit = selectors.administrative_unit(data["administrative_unit"], data["level"])
        if unit is None:
            raise ValidationError(
                {"administrative_unit": ["No such administrative unit at this level."]},
                code="does_not_exist",
            )
        announcement = actions.send_announcement(
            request.user,
            title=data["title"],
            body=data["body"],
            administrative_unit=unit,
            language=data.get("language") or "vi",
        )
        return Response(s.AnnouncementSerializer(announcement).data, status=status.HTTP_201_CREATED)
