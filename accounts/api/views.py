from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_serializers import (
    ErrorResponse401Serializer,
    ErrorResponse429Serializer,
)
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from accounts import actions
from accounts.api import serializers as s
from accounts.models import User
from common.api.idempotency import idempotent
from common.api.mixins import LanguageMixin
from common.api.openapi import ErrorResponse409
from common.api.throttling import (
    ClaimThrottle,
    GenerousAnonRateThrottle,
    PhoneRateThrottle,
    RegisterThrottle,
    UserWriteThrottle,
)

THROTTLED = OpenApiResponse(ErrorResponse429Serializer, description="Too many attempts.")
BAD_CREDENTIALS = OpenApiResponse(
    ErrorResponse401Serializer, description="Wrong phone or password, or an inactive account."
)
BAD_TOKEN = OpenApiResponse(
    ErrorResponse401Serializer,
    description="The refresh token is invalid, expired, already used, or its user is inactive.",
)


class RegisterView(LanguageMixin, APIView):
    # No authentication: a stale token in the app must not turn sign-up into a 401.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (GenerousAnonRateThrottle, RegisterThrottle)

    @extend_schema(
        summary="Register a citizen account",
        tags=["auth"],
        request=s.RegistrationSerializer,
        responses={
            201: s.AccountSerializer,
            409: OpenApiResponse(
                ErrorResponse409,
                description="`phone_taken`: this phone number already has an account.",
            ),
            429: THROTTLED,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.RegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = actions.register_citizen(**serializer.validated_data)
        return Response(s.AccountSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(
        summary="Log in with phone and password",
        description="The phone may be typed in any common format (`0912 345 678`, `+84…`).",
        tags=["auth"],
        request=s.PhoneTokenObtainPairSerializer,
        responses={200: s.TokenPairSerializer, 401: BAD_CREDENTIALS, 429: THROTTLED},
    )
)
class PhoneTokenObtainPairView(LanguageMixin, TokenObtainPairView):
    serializer_class = s.PhoneTokenObtainPairSerializer
    # Keyed on the phone: one village often shares a single carrier IP.
    throttle_classes = (GenerousAnonRateThrottle, PhoneRateThrottle)


class ClaimStartView(LanguageMixin, APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (GenerousAnonRateThrottle, ClaimThrottle)

    @extend_schema(
        summary="Ask for a code to claim an account opened at a public office",
        description=(
            "When an officer filed a dossier for this phone (assisted submission), a 6-digit "
            "code valid for 10 minutes is sent to it by SMS. The answer is 202 whether or not "
            "such an account exists."
        ),
        tags=["auth"],
        request=s.ClaimStartSerializer,
        responses={202: None, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        serializer = s.ClaimStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actions.start_claim(**serializer.validated_data)
        return Response(status=status.HTTP_202_ACCEPTED)


class ClaimConfirmView(LanguageMixin, APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    # Keyed on the phone like login; each code also dies after 5 wrong guesses.
    throttle_classes = (GenerousAnonRateThrottle, PhoneRateThrottle)

    @extend_schema(
        summary="Claim an account with the SMS code and choose a password",
        description=(
            "Verifies the latest code sent to the phone, sets the password and logs in. "
            "`invalid_code` on `code` for a wrong, expired or used code, after 5 wrong "
            "guesses, and also for a phone with no account to claim."
        ),
        tags=["auth"],
        request=s.ClaimConfirmSerializer,
        responses={200: s.TokenPairSerializer, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        serializer = s.ClaimConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access, refresh = actions.confirm_claim(**serializer.validated_data)
        return Response({"access": access, "refresh": refresh})


class TokenRefreshView(LanguageMixin, APIView):
    # No authentication: the app refreshes precisely when its access token has expired.
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_authenticate_header(self, request: Request) -> str:
        # Without it DRF turns a refused refresh token into a 403; it is a 401 (RFC 7235).
        return 'Bearer realm="api"'

    @extend_schema(
        summary="Exchange a refresh token for a new pair",
        description="The refresh token is rotated: the one sent cannot be used again.",
        tags=["auth"],
        request=s.TokenRefreshRequestSerializer,
        responses={200: s.TokenPairSerializer, 401: BAD_TOKEN},
    )
    def post(self, request: Request) -> Response:
        serializer = s.TokenRefreshRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access, refresh = actions.rotate_refresh_token(serializer.validated_data["refresh"])
        return Response({"access": access, "refresh": refresh})


class LogoutView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Log out",
        description="Blacklists the refresh token and unregisters the device, if given.",
        tags=["auth"],
        request=s.LogoutSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        serializer = s.LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actions.log_out(
            cast(User, request.user),
            refresh=serializer.validated_data["refresh"],
            device_token=serializer.validated_data.get("device_token"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(LanguageMixin, APIView):
    http_method_names = ["get", "patch", "head", "options"]
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(summary="My profile", tags=["me"], responses={200: s.AccountSerializer})
    def get(self, request: Request) -> Response:
        return Response(s.AccountSerializer(request.user).data)

    @extend_schema(
        summary="Change my profile",
        description="`phone` and `is_staff` cannot be changed here.",
        tags=["me"],
        request=s.ProfileUpdateSerializer,
        responses={200: s.AccountSerializer},
    )
    def patch(self, request: Request) -> Response:
        serializer = s.ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = actions.update_profile(cast(User, request.user), **serializer.validated_data)
        return Response(s.AccountSerializer(user).data)
