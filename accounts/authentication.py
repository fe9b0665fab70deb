"""The API's authentication: simplejwt's bearer tokens, checked against the user's token
version, so that logging out everywhere (or a new password, phone, deactivation) stops every
access token at once. The user row is loaded anyway; the check costs no query.

Where `STAFF_2FA_REQUIRED`, a staff member whose token was not obtained with their second
factor acts as their citizen self for that request (`second_factor_missing`): staff scope
and staff actions are closed to them (403 `second_factor_required`)."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.sessions import SECOND_FACTOR_CLAIM, VERSION_CLAIM


class VersionedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Any) -> Any:
        try:
            user: Any = super().get_user(validated_token)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            # A signed token whose user id is not an id at all (a forged claim, a key leak):
            # unauthenticated, not a crash.
            raise InvalidToken(_("Token contained no recognizable user identification")) from None
        # Tokens from before versions carry none: they count as version 0.
        if int(validated_token.get(VERSION_CLAIM, 0)) != getattr(user, "token_version", 0):
            raise InvalidToken(_("Token is no longer valid: sign in again."))
        if (
            settings.STAFF_2FA_REQUIRED
            and user.is_staff
            and not validated_token.get(SECOND_FACTOR_CLAIM)
        ):
            # This request's copy of the user only; the row is untouched.
            user.is_staff = user.is_superuser = False
            user.second_factor_missing = True
        return user


class VersionedJWTScheme(SimpleJWTScheme):
    """The same bearer scheme in the OpenAPI document (`jwtAuth`)."""

    target_class = "accounts.authentication.VersionedJWTAuthentication"
