"""Every write on accounts: registration, profile changes, token rotation, logout."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User
from accounts.phones import normalize_phone
from agencies.models import AdministrativeUnit
from common import audit
from common.exceptions import Conflict
from common.i18n import DEFAULT_LANGUAGE

PROFILE_FIELDS = frozenset({"full_name", "preferred_language", "administrative_unit"})


class PhoneTaken(Conflict):
    default_detail = _("This phone number is already registered.")
    default_code = "phone_taken"


class AccountRequiresClaim(Conflict):
    default_detail = _(
        "An account was opened for this phone number at a public office; claim it by "
        "verifying the phone."
    )
    default_code = "account_requires_claim"


class InvalidRefreshToken(AuthenticationFailed):
    default_detail = _("Token is invalid or expired")
    default_code = "token_not_valid"


class NoActiveAccount(AuthenticationFailed):
    default_detail = _("No active account found for the given token.")
    default_code = "no_active_account"


def register_citizen(
    *, phone: str, password: str, full_name: str, preferred_language: str = DEFAULT_LANGUAGE
) -> User:
    """Create a citizen account for a phone number not registered yet.

    The caller has validated the input (phone format, password strength, language).
    Raises `PhoneTaken` (409) when the phone already has an account, also when a concurrent
    registration of the same phone wins the race, and `AccountRequiresClaim` (409) when that
    account is an unclaimed one an officer opened for an assisted submission.
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
        existing = User.objects.filter(phone=normalized).only("is_claimed").first()
        if existing is not None and not existing.is_claimed:
            # Opened by an officer (assisted submission): the phone's owner claims it
            # instead of registering over it.
            raise AccountRequiresClaim() from None
        if existing is not None:
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
    changed = sorted(name for name, value in fields.items() if not _unchanged(user, name, value))
    for name, value in fields.items():
        setattr(user, name, value)
    with transaction.atomic():
        # Only the named columns, so two concurrent edits of different fields both survive.
        user.save(update_fields=[*fields, "updated_at"])
        if changed:
            # Field names only: the values are the personal data the log must not copy.
            audit.record(user, "update_profile", user, details={"fields": changed})
    return user


def _unchanged(user: User, name: str, value: Any) -> bool:
    if name == "administrative_unit":
        return user.administrative_unit_id == (value.pk if value is not None else None)
    return getattr(user, name) == value


def _commune_by_code(code: int | None) -> AdministrativeUnit | None:
    if code is None:
        return None
    try:
        return AdministrativeUnit.objects.get(level=AdministrativeUnit.Level.COMMUNE, code=code)
    except AdministrativeUnit.DoesNotExist:
        raise ValidationError(
            {"administrative_unit": _("No commune has this code.")}, code="does_not_exist"
        ) from None


def rotate_refresh_token(raw_refresh: str) -> tuple[str, str]:
    """Spend a refresh token and return a fresh `(access, refresh)` pair.

    Raises `InvalidRefreshToken` (401) for a token that is malformed, expired, not a refresh
    token or already spent, and `NoActiveAccount` (401) when its user is inactive or gone.
    Of two requests racing with the same token exactly one wins, so a stolen refresh token
    cannot live on beside the real one.
    """
    try:
        refresh = RefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidRefreshToken(str(exc)) from None
    user_id = refresh.get(jwt_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None or not user.is_active:
        raise NoActiveAccount()
    with transaction.atomic():
        outstanding, _created = OutstandingToken.objects.get_or_create(
            jti=refresh[jwt_settings.JTI_CLAIM],
            defaults={
                "user": user,
                "token": raw_refresh,
                "created_at": refresh.current_time,
                "expires_at": datetime_from_epoch(refresh["exp"]),
            },
        )
        # The one-to-one row is the arbiter: only one racing request can create it.
        _entry, spent_now = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not spent_now:
            raise InvalidRefreshToken(_("Token is blacklisted"))
        fresh = RefreshToken.for_user(user)
    return str(fresh.access_token), str(fresh)


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
