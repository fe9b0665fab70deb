from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import FieldsMixin, LanguageMixin
from common.idempotency import idempotent
from common.pagination import SyncCursorPagination
from common.throttling import UserWriteThrottle
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
        tags=["devices"],
        responses={204: NO_CONTENT},
    )
    def delete(self, request: Request, token: str) -> Response:
        if not actions.unregister_device(request.user, token):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxPagination(SyncCursorPagination):
    sync_kind = "notification"


class InboxView(FieldsMixin, LanguageMixin, GenericAPIView):
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
        tags=["notifications"],
        request=None,
        responses={204: NO_CONTENT},
    )
    def post(self, request: Request) -> Response:
        actions.mark_all_read(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
