"""`webhooks/`: agency admins and superusers subscribe their agency systems to case events."""

from __future__ import annotations

from uuid import UUID

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency
from common.api.idempotency import idempotent
from common.api.throttling import UserWriteThrottle
from common.exceptions import InvalidInput, NotAllowed
from webhooks import actions, selectors
from webhooks.api import serializers as s
from webhooks.models import WebhookSubscription

NO_CONTENT = OpenApiResponse(description="Deleted.")

_DESCRIPTION_BODY = (
    "Deliveries follow the Standard Webhooks specification: `POST` of "
    "`{type, timestamp, data: {kind, id, tracking_code, status, agency}}` with the headers "
    "`webhook-id` (the same on every retry), `webhook-timestamp` and `webhook-signature` "
    "(`v1,<base64 HMAC-SHA256 of id.timestamp.body>`; two entries while a rotated secret "
    "overlaps the new one). A subscription hears of the cases of its agency's whole subtree. "
    "Failed deliveries are retried with backoff for 24 hours; then the subscription is "
    "switched off and the agency's admins are told."
)


class WebhookListView(GenericAPIView):
    serializer_class = s.WebhookSubscriptionSerializer
    throttle_classes = (UserWriteThrottle,)
    forbidden_methods = ("GET", "POST")

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        return selectors.subscriptions_managed_by(self.request.user)

    @extend_schema(
        summary="List webhook subscriptions",
        description=(
            "The subscriptions of the agencies the caller administers (all for a superuser), "
            "newest first. Anyone else: 403 `permission_denied`. " + _DESCRIPTION_BODY
        ),
        tags=["webhooks"],
        responses={200: s.WebhookSubscriptionSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        if not selectors.manages_webhooks(request.user):
            raise NotAllowed()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Subscribe to case events",
        description=(
            "Agency admins and superusers. `agency` defaults to the caller's highest "
            "administered agency; an agency the caller does not administer is a 400 "
            "`invalid_agency` on `agency`. A URL that may not receive webhooks (in production: "
            "not https, or a private, loopback or link-local address) is a 400 `unsafe_url` "
            "on `url`. The answer carries the `secret` (`whsec_…`) once; it is never shown "
            "again. " + _DESCRIPTION_BODY
        ),
        tags=["webhooks"],
        request=s.WebhookSubscriptionCreateSerializer,
        responses={201: s.WebhookSubscriptionCreatedSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        if not selectors.manages_webhooks(request.user):
            raise NotAllowed()
        body = s.WebhookSubscriptionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        agency = None
        if data.get("agency") is not None:
            agency = Agency.objects.filter(pk=data["agency"]).first()
            if agency is None:
                raise InvalidInput({"agency": [_("No such agency.")]}, code="does_not_exist")
        subscription, secret = actions.create_subscription(
            request.user, url=data["url"], events=data["events"], agency=agency
        )
        subscription = selectors.subscriptions_managed_by(request.user).get(pk=subscription.pk)
        subscription.secret = secret
        return Response(
            s.WebhookSubscriptionCreatedSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookDetailView(APIView):
    throttle_classes = (UserWriteThrottle,)
    forbidden_methods = ("DELETE",)

    @extend_schema(
        summary="Delete a webhook subscription",
        description=(
            "Agency admins of the subscription's agency (or above) and superusers. Waiting "
            "deliveries are dropped. Someone else's subscription is a 404; a caller who "
            "administers no agency gets 403 `permission_denied`."
        ),
        tags=["webhooks"],
        request=None,
        responses={204: NO_CONTENT},
    )
    def delete(self, request: Request, id: UUID) -> Response:
        if not selectors.manages_webhooks(request.user):
            raise NotAllowed()
        subscription = selectors.subscriptions_managed_by(request.user).filter(pk=id).first()
        if subscription is None:
            raise NotFound()
        actions.delete_subscription(request.user, subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(APIView):
    throttle_classes = (UserWriteThrottle,)
    forbidden_methods = ("POST",)

    @extend_schema(
        summary="Rotate a webhook subscription's secret",
        description=(
            "Agency admins of the subscription's agency (or above) and superusers. The "
            "answer carries the new `secret` once. Until `previous_secret_until` "
            "(`WEBHOOK_SECRET_OVERLAP_HOURS`, 24 by default) every delivery is signed with "
            "both secrets, so the receiver can switch without losing one. Send an "
            "`Idempotency-Key`: a retry with it gets the same secret back instead of "
            "rotating again. Someone else's subscription is a 404; a caller who administers "
            "no agency gets 403 `permission_denied`."
        ),
        tags=["webhooks"],
        request=None,
        responses={200: s.WebhookSecretRotatedSerializer},
    )
    @idempotent
    def post(self, request: Request, id: UUID) -> Response:
        if not selectors.manages_webhooks(request.user):
            raise NotAllowed()
        subscription = selectors.subscriptions_managed_by(request.user).filter(pk=id).first()
        if subscription is None:
            raise NotFound()
        secret = actions.rotate_secret(request.user, subscription)
        subscription.secret = secret
        return Response(s.WebhookSecretRotatedSerializer(subscription).data)
