from typing import Any, cast

from django.utils import timezone
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from accounts import actions, consents, data_rights, otp, sessions
from accounts.api import serializers as s
from accounts.models import User
from common.api import failures
from common.api.caching import no_store
from common.api.idempotency import idempotent
from common.api.mixins import ETagMixin, LanguageMixin
from common.api.openapi import ErrorResponse401, ErrorResponse409, ErrorResponse429
from common.api.throttling import (
    ClaimThrottle,
    GenerousAnonRateThrottle,
    OtpAddressThrottle,
    PhoneRateThrottle,
    RegisterThrottle,
    UserWriteThrottle,
    client_address,
    phone_key,
)

THROTTLED = OpenApiResponse(ErrorResponse429, description="Too many attempts.")
BAD_CREDENTIALS = OpenApiResponse(
    ErrorResponse401, description="Wrong phone or password, or an inactive account."
)
TOO_MANY_CODES = OpenApiResponse(
    ErrorResponse429,
    description=(
        "`too_many_codes`: a code went to this phone less than a minute ago, or five in the "
        "last hour (`Retry-After` says when to ask again); or too many requests from this "
        "address."
    ),
)
INVALID_CODE = (
    "`invalid_code` on the code's field: wrong, expired, already used, of another purpose, "
    "or burnt by 5 wrong guesses (the same answer when the phone has no account)."
)
BAD_TOKEN = OpenApiResponse(
    ErrorResponse401,
    description="The refresh token is invalid, expired, already used, or its user is inactive.",
)


class SignedOutView(LanguageMixin, APIView):
    """A view for people who are not signed in (registering, recovering, renewing tokens):
    no authentication, so that a stale token in the app never turns it into a 401."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class OtpView(SignedOutView):
    throttle_classes = (GenerousAnonRateThrottle, OtpAddressThrottle)

    @extend_schema(
        summary="Send a one-time code by SMS",
        description=(
            "A 6-digit code for one `purpose`, valid for 5 minutes, once, 5 guesses. It is "
            "sent only where the purpose applies (`register`: no account yet; "
            "`reset_password`, `delete_account`: an account; `claim`: an account opened at a "
            "public office; `change_phone`: a number with no account; `verify_phone`: an "
            "account whose phone is not verified yet), but the answer is the same either way. "
            "In the account's language, else the request's."
        ),
        tags=["auth"],
        request=s.OtpRequestSerializer,
        responses={202: s.OtpIssuedSerializer, 429: TOO_MANY_CODES},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.OtpRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = otp.issue_code(**serializer.validated_data, language=self.get_language())
        return _issued(issued)


def _issued(issued: otp.Issued) -> Response:
    body = {"expires_in": issued.expires_in, "resend_after": issued.resend_after}
    return Response(body, status=status.HTTP_202_ACCEPTED)


class RegisterView(SignedOutView):
    throttle_classes = (GenerousAnonRateThrottle, RegisterThrottle)

    @extend_schema(
        summary="Register a citizen account",
        tags=["auth"],
        request=s.RegistrationSerializer,
        responses={
            201: s.AccountSerializer,
            409: OpenApiResponse(
                ErrorResponse409,
                description=(
                    "`phone_taken`: this phone number already has an account; "
                    "`account_requires_claim`: an account was opened for it at a public "
                    "office. The code stays usable."
                ),
            ),
            429: THROTTLED,
        },
        description=f"Needs a code of purpose `register` sent to the phone. {INVALID_CODE}",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.RegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        user = actions.register_citizen(otp_code=data.pop("otp"), **data)
        return Response(s.AccountSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenAnswerMixin(APIView):
    """Answers that carry tokens are never stored by any cache."""

    def finalize_response(self, request, response, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        return no_store(response)


class PhoneTokenObtainPairView(TokenAnswerMixin, LanguageMixin, TokenObtainPairView):
    serializer_class = s.PhoneTokenObtainPairSerializer
    throttle_classes = (GenerousAnonRateThrottle,)

    @extend_schema(
        summary="Log in with phone and password",
        description=(
            "The phone may be typed in any common format (`0912 345 678`, `+84…`). Wrong "
            "passwords slow further tries down (per phone and address, per phone, and a "
            "budget per address): 429 with `Retry-After`, never more than a minute for one "
            "phone; a right password is never refused for someone else's failures elsewhere."
        ),
        tags=["auth"],
        request=s.PhoneTokenObtainPairSerializer,
        responses={200: s.TokenPairSerializer, 401: BAD_CREDENTIALS, 429: THROTTLED},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rules = login_failure_rules(request)
        wait = failures.wait_before_next(rules)
        if wait > 0:
            raise Throttled(wait=wait)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            failures.record_failure(rules)
            raise
        # The owner got in: their own address starts afresh (the others' failures stay).
        failures.clear(rules[:1])
        return response


# Failures of one phone from one address: a few free, then growing waits (≤ 60 s).
LOGIN_PHONE_ADDRESS = failures.Backoff("login-phone-address", free=3)
# Failures of one phone from anywhere: more room, so that someone else's guessing elsewhere
# slows the owner down by a minute at most.
LOGIN_PHONE = failures.Backoff("login-phone", free=10)
# Failures from one address across phones (spraying many accounts).
LOGIN_ADDRESS = failures.Budget("login-address", limit=50)


def login_failure_rules(request: Request) -> list[tuple[Any, str]]:
    # Without a phone the body is refused (400) before any failure could be counted.
    phone = phone_key(request) or ""
    address = client_address(request)
    return [
        (LOGIN_PHONE_ADDRESS, f"{phone}|{address}"),
        (LOGIN_PHONE, phone),
        (LOGIN_ADDRESS, address),
    ]


class ClaimStartView(SignedOutView):
    throttle_classes = (GenerousAnonRateThrottle, ClaimThrottle)

    @extend_schema(
        summary="Ask for a code to claim an account opened at a public office",
        description=(
            "The same as `POST auth/otp/` with purpose `claim`: when an officer filed a "
            "dossier for this phone (assisted submission), a 6-digit code valid for 5 minutes "
            "is sent to it by SMS. The answer is 202 whether or not such an account exists."
        ),
        tags=["auth"],
        request=s.ClaimStartSerializer,
        responses={202: s.OtpIssuedSerializer, 429: TOO_MANY_CODES},
    )
    def post(self, request: Request) -> Response:
        serializer = s.ClaimStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _issued(
            actions.start_claim(**serializer.validated_data, language=self.get_language())
        )


class ClaimConfirmView(TokenAnswerMixin, SignedOutView):
    # Keyed on the phone like login; each code also dies after 5 wrong guesses.
    throttle_classes = (GenerousAnonRateThrottle, PhoneRateThrottle)

    @extend_schema(
        summary="Claim an account with the SMS code and choose a password",
        description=(
            "Verifies the latest `claim` code sent to the phone (in `otp`, or `code` as "
            "before), sets the password, verifies the phone and logs in. "
            f"{INVALID_CODE}"
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


class PasswordResetView(SignedOutView):
    # Keyed on the phone like login; each code also dies after 5 wrong guesses.
    throttle_classes = (GenerousAnonRateThrottle, PhoneRateThrottle)

    @extend_schema(
        summary="Reset a forgotten password with an SMS code",
        description=(
            "Needs a code of purpose `reset_password`. Every session of the account ends: "
            f"its refresh tokens are refused from now on. {INVALID_CODE}"
        ),
        tags=["auth"],
        request=s.PasswordResetSerializer,
        responses={204: None, 429: THROTTLED},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actions.reset_password(
            phone=data["phone"], otp_code=data["otp"], new_password=data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Change my password",
        description=(
            "`wrong_password` on `old_password`. Every other session ends; send this app's "
            "refresh token in `refresh` to keep it (otherwise log in again)."
        ),
        tags=["auth"],
        request=s.PasswordChangeSerializer,
        responses={204: None},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actions.change_password(
            cast(User, request.user),
            old_password=data["old_password"],
            new_password=data["new_password"],
            keep_refresh=data.get("refresh"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhoneChangeView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Move my account to another phone number",
        description=(
            "Needs my password and a code of purpose `change_phone` sent to the new number. "
            "The old number is told by SMS; every other session ends (send this app's "
            "refresh token in `refresh` to keep it). `wrong_password` on `password`; "
            f"{INVALID_CODE}"
        ),
        tags=["auth"],
        request=s.PhoneChangeSerializer,
        responses={
            200: s.AccountSerializer,
            409: OpenApiResponse(
                ErrorResponse409,
                description="`phone_taken`: the new number has an account (the code stays usable).",
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.PhoneChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = actions.change_phone(
            cast(User, request.user),
            password=data["password"],
            new_phone=data["new_phone"],
            otp_code=data["otp"],
            keep_refresh=data.get("refresh"),
        )
        return Response(s.AccountSerializer(user).data)


class PhoneVerifyView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Verify my phone number",
        description=(
            "For accounts from before codes existed: a code of purpose `verify_phone` sent "
            "to my phone proves I hold it; dossiers an officer filed for it then show. "
            f"{INVALID_CODE}"
        ),
        tags=["auth"],
        request=s.PhoneVerifySerializer,
        responses={200: s.AccountSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.PhoneVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = actions.verify_phone(
            cast(User, request.user), otp_code=serializer.validated_data["otp"]
        )
        return Response(s.AccountSerializer(user).data)


class TokenRefreshView(TokenAnswerMixin, SignedOutView):
    # Signed out: the app refreshes precisely when its access token has expired.

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


class SessionListView(LanguageMixin, APIView):
    @extend_schema(
        summary="My sessions",
        description=(
            "One per signed-in app (a family of refresh tokens), newest first; `current` is "
            "the one this request's token belongs to."
        ),
        tags=["auth"],
        responses={200: s.SessionSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = sessions.live_sessions(cast(User, request.user))
        token: Any = request.auth
        context = {"session_id": token.get(sessions.SESSION_CLAIM) if token else None}
        return Response(s.SessionSerializer(rows, many=True, context=context).data)


class SessionDetailView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="End one of my sessions",
        description=(
            "Its refresh token stops working at once; an access token it already holds runs "
            "out within minutes (log out everywhere to stop those at once too)."
        ),
        tags=["auth"],
        responses={204: None},
    )
    def delete(self, request: Request, pk: str) -> Response:
        if not sessions.end_session(cast(User, request.user), pk):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="Log out everywhere",
        description="Every session ends and every access token stops working at once.",
        tags=["auth"],
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        actions.log_out_everywhere(cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


OPEN_CASES_OR_STAFF = OpenApiResponse(
    ErrorResponse409,
    description=(
        "`open_cases`: a dossier of mine is still being handled (wait for it, or cancel "
        "it); `staff_account`: I hold a staff role (an agency administrator removes it "
        "first). A code sent in `otp` stays usable."
    ),
)


class MeView(LanguageMixin, APIView):
    http_method_names = ["get", "patch", "delete", "head", "options"]
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="My profile",
        description="`ethnic_group` is shown to me only, never to staff.",
        tags=["me"],
        responses={200: s.AccountSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(s.AccountSerializer(request.user).data)

    @extend_schema(
        summary="Change my profile",
        description=(
            "`phone` and `is_staff` cannot be changed here. `ethnic_group` is stored "
            "encrypted and only while my `ethnic_group` consent is active "
            "(`me/consents/`); without it, 409 `consent_required` and nothing changes. An "
            "unknown code is `does_not_exist` on `ethnic_group`."
        ),
        tags=["me"],
        request=s.ProfileUpdateSerializer,
        responses={
            200: s.AccountSerializer,
            409: OpenApiResponse(
                ErrorResponse409,
                description="`consent_required`: no active `ethnic_group` consent.",
            ),
        },
    )
    def patch(self, request: Request) -> Response:
        serializer = s.ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        user = cast(User, request.user)
        if "ethnic_group" in data:
            # First: its refusal (409) must leave the other fields unchanged too.
            consents.set_ethnic_group(user, data.pop("ethnic_group"))
        user = actions.update_profile(user, **data)
        return Response(s.AccountSerializer(user).data)

    @extend_schema(
        summary="Close my account",
        description=(
            "Needs my password or a code of purpose `delete_account` (`POST auth/otp/` with "
            "my phone), not both (`password_or_otp`). `wrong_password` on `password`; "
            f"{INVALID_CODE} At once: I can no longer sign in, my sessions and devices are "
            "gone, my name, phone (free to register again), ethnic group and consents are "
            "erased; my feedback stays as anonymous items, my supports and ratings without my "
            "identity. Finished dossiers stay with their agency, which still sees my name and "
            "phone, for the retention period the law sets; then they are pseudonymised."
        ),
        tags=["me"],
        request=s.AccountDeletionInput,
        responses={204: None, 409: OPEN_CASES_OR_STAFF},
    )
    def delete(self, request: Request) -> Response:
        serializer = s.AccountDeletionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        data_rights.delete_account(
            cast(User, request.user), password=data.get("password"), otp_code=data.get("otp")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(LanguageMixin, APIView):
    @extend_schema(
        summary="Export everything held about me",
        description=(
            "A JSON archive: profile (phone, ethnic group if any), consents, sessions, "
            "devices, inbox, my dossiers with their timelines and signed links to their files "
            "(valid a few minutes), my feedback, supports and ratings, and the audit entries "
            "about my data (staff named only as `staff`). Never stored by caches; the export "
            "itself is audited."
        ),
        tags=["me"],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        archive = data_rights.export_data(cast(User, request.user), request)
        response = Response(archive)
        response["Content-Disposition"] = (
            f'attachment; filename="my-data-{timezone.localdate():%Y-%m-%d}.json"'
        )
        no_store(response)
        return response


class ConsentListView(LanguageMixin, APIView):
    throttle_classes = (UserWriteThrottle,)

    @extend_schema(
        summary="My consents",
        description=(
            "Every record, newest first: the active one of a purpose has no `withdrawn_at`. "
            "Purposes: `location` (precise coordinates on my feedback), `ethnic_group` (my "
            "ethnic group on my profile), `publish` (my feedback marked public may appear in "
            "the public feed)."
        ),
        tags=["me"],
        responses={200: s.ConsentOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = consents.consents_of(cast(User, request.user))
        return Response(s.ConsentOutput(rows, many=True).data)

    @extend_schema(
        summary="Give or withdraw a consent",
        description=(
            "`given: true` with the `text_version` shown opens a record (201; the same "
            "version again answers the active record, 200). `given: false` withdraws the "
            "active one (200) and undoes what it allowed: `ethnic_group` erases my ethnic "
            "group, `publish` takes my feedback out of the public feed, `location` stops "
            "coordinates from being stored on new feedback. Withdrawing again answers the "
            "last record; 409 `consent_not_given` when there never was one."
        ),
        tags=["me"],
        request=s.ConsentInput,
        responses={
            200: s.ConsentOutput,
            201: s.ConsentOutput,
            409: OpenApiResponse(
                ErrorResponse409, description="`consent_not_given`: nothing to withdraw."
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = s.ConsentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = cast(User, request.user)
        if data["given"]:
            consent, created = consents.give_consent(user, data["purpose"], data["text_version"])
        else:
            consent, created = consents.withdraw_consent(user, data["purpose"]), False
        return Response(
            s.ConsentOutput(consent).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class EthnicGroupListView(ETagMixin, LanguageMixin, APIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    # Reference data for anyone: no authentication, so a stale token never turns it into a
    # 401, and one copy in any cache serves everybody.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    etag_varies_with_user = False

    @extend_schema(
        summary="List the ethnic groups of Vietnam",
        description=(
            "The 54 groups in the order and with the codes (01–54) of the General Statistics "
            "Office's list, with some of their other names; send a code as `ethnic_group` in "
            "`me/`. Carries an `ETag` and may be cached for a day."
        ),
        tags=["reference data"],
        responses={200: s.EthnicGroupOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = consents.ethnic_groups()
        response = Response(s.EthnicGroupOutput(rows, many=True).data)
        patch_cache_control(response, public=True, max_age=ETHNIC_GROUPS_MAX_AGE)
        return response


ETHNIC_GROUPS_MAX_AGE = 24 * 3600
