"""`POST /api/v1/sms/inbound/`: the SMS gateway relays a message sent to the service's number."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.parsers import LenientJSONParser
from common.text import without_forbidden_data
from onestop.models import InboundSms
from onestop.sms import inbound

GATEWAY = "sms-gateway"


class SmsGatewayAuthentication(BaseAuthentication):
    """`Authorization: Bearer <SMS_INBOUND_TOKEN>`: the gateway, and nobody else. With no
    token configured every call is refused."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, str] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        expected = settings.SMS_INBOUND_TOKEN
        if (
            len(header) != 2
            or header[0].lower() != b"bearer"
            or not expected
            or not constant_time_compare(header[1], expected.encode())
        ):
            raise AuthenticationFailed(_("Invalid gateway token."), code="invalid_token")
        return AnonymousUser(), GATEWAY

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="sms-gateway"'


class SmsGatewayScheme(OpenApiAuthenticationExtension):
    target_class = "onestop.sms.api.SmsGatewayAuthentication"
    name = "smsGatewayToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The SMS gateway's shared token (`SMS_INBOUND_TOKEN`).",
        }


class FromTheGateway(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.auth == GATEWAY)


class InboundSmsInput(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="The gateway's id of the message.")
    text = serializers.CharField(max_length=1600, allow_blank=True, trim_whitespace=False)
    received_at = serializers.DateTimeField(
        required=False, help_text="When the network received it; now when left out."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a Python keyword: declared here rather than as a class attribute.
        fields["from"] = serializers.CharField(
            max_length=32, help_text="The sender's number, verified by the network."
        )
        return fields


class InboundSmsOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="gateway_id")

    class Meta:
        model = InboundSms
        fields = ("id", "command", "outcome")


class InboundSmsView(APIView):
    # The gateway's token is all there is: a wrong one is a 401, never a 403.
    forbidden_methods: tuple[str, ...] = ()
    authentication_classes = (SmsGatewayAuthentication,)
    permission_classes = (FromTheGateway,)
    # The gateway relays what phones send; the per-number limits are in `inbound`.
    throttle_classes = ()
    # A stray control character in a text is dropped, not refused: the message cannot be
    # sent back for correction.
    parser_classes = (LenientJSONParser,)

    @extend_schema(
        summary="Receive an SMS sent to the service's number (SMS gateway only)",
        description=(
            "Called by the SMS gateway for each message citizens send. Commands, Vietnamese "
            "without diacritics, any case: `TT <tracking code>` (status of the sender's own "
            "dossier or feedback), `PA <text>` or `PA <commune code> <text>` (a feedback "
            "item), `HD` (help); anything else gets the help text. The reply is sent by SMS "
            "after commit. The same `id` again changes nothing and answers the first outcome. "
            "Always 200 once the message is kept, whatever the outcome."
        ),
        operation_id="sms_inbound",
        tags=["sms"],
        request=InboundSmsInput,
        responses={200: InboundSmsOutput},
    )
    def post(self, request: Request) -> Response:
        serializer = InboundSmsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Lengths were checked on what was sent; what no stored text may hold goes now.
        data: Any = without_forbidden_data(dict(serializer.validated_data))
        row = inbound.receive(
            gateway_id=data["id"],
            sender=data["from"],
            text=data["text"],
            received_at=data.get("received_at") or timezone.now(),
        )
        return Response(InboundSmsOutput(row).data)
