"""Every write on accounts: registration, profile changes, logout."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.phones import normalize_phone
from agencies.models import AdministrativeUnit
from common.exceptions import Conflict
from common.i18n import DEFAULT_LANGUAGE

PROFILE_FIELDS = frozenset({"full_name", "preferred_language", "administrative_unit"})


class PhoneTaken(Conflict):
    default_detail = _("This phone number is already registered.")
    default_code = "phone_taken"


def register_citizen(
    *, phone: str, password: str, full_name: str, preferred_language: str = DEFAULT_LANGUAGE
) -> User:
    """Create a citizen account for a phone number not registered yet.

    The caller has validated the input (phone format, password strength, language).
    Raises `PhoneTaken` (409) when the phone already has an account, also when a concurrent
    registration of the same phone wins the race.
    """
    normalized = normalize_phone(phone)
    if normalized is None:
        raise ValidationError({"phone": _("Enter a valid phone number.")}, code="invalid_phone")
    try:
        # A savepoint of its own: the failed INSERT must not poison an outer transaction.
        with transaction.atomic():
            return User.objects.create_user(
                phone=normalized,
                password=password,
                full_name=full_name,
                preferred_language=preferred_language,
            )
    except IntegrityError:
        # The unique index on phone is the arbiter; a pre-check alone would race.
        if User.objects.filter(phone=normalized).exists():
            raise PhoneTaken() from None
        raise


def update_profile(user: User, **fields: Any) -> User:
    """Change the user's own profile: `full_name`, `preferred_language`, `administrative_unit`.

    `administrative_unit` is a commune code (or None to clear it). An unknown code raises a
    400 on `administrative_unit` before anything is written.
    """
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise TypeError(f"update_profile() got unexpected fields: {sorted(unknown)}")
    if "administrative_unit" in fields:
        fields["administrative_unit"] = _commune_by_code(fields["administrative_unit"])
    if not fields:
        return user
    for name, value in fields.items():
        setattr(user, name, value)
    # Only the named columns, so two concurrent edits of different fields both survive.
    user.save(update_fields=[*fields, "updated_at"])
    return user


def _commune_by_code(code: int | None) -> AdministrativeUnit | None:
    if code is None:
        return None
    try:
        return AdministrativeUnit.objects.get(level=AdministrativeUnit.Level.COMMUNE, code=code)
    except AdministrativeUnit.DoesNotExist:
        raise ValidationError(
            {"administrative_unit": _("No commune has this code.")}, code="does_not_exist"
        ) from None


def log_out(user: User, *, refresh: RefreshToken, device_token: str | None = None) -> None:
    """End a session: blacklist the refresh token and, if given, unregister the device.

    The refresh token must have been issued to `user`; a token of anybody else is refused
    with a 400 on `refresh` so one account can never end another's session.
    """
    if str(refresh.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ValidationError(
            {"refresh": _("This refresh token does not belong to you.")}, code="token_not_valid"
        )
    with transaction.atomic():
        refresh.blacklist()
        if device_token:
            # Imported here so accounts never loads notifications at import time (no cycle).
            from notifications.actions import unregister_device

            unregister_device(user, device_token)
