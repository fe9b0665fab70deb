"""Every write on accounts: registration, claiming an assisted account, profile changes,
token rotation, logout."""

import secrets
from datetime import timedelta
from functools import partial
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import ClaimCode, User
from agencies.models import AdministrativeUnit
from common import audit
from common.exceptions import Conflict
from common.i18n import DEFAULT_LANGUAGE, gettext_language
from common.phones import normalize_phone

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


class InvalidClaimCode(ValidationError):
    """The one answer for every failed claim: wrong, expired, spent or dead code, and also an
    unknown or already claimed phone, so that the endpoint tells nobody which accounts exist."""

    def __init__(self) -> None:
        super().__init__(
            {"code": _("The code is wrong or no longer valid. Ask for a new one.")},
            code="invalid_code",
        )


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


CLAIM_CODE_TTL = timedelta(minutes=10)
CLAIM_CODE_MAX_ATTEMPTS = 5
CLAIM_CODE_DIGITS = 6
_CLAIM_HASH_SALT = "accounts.ClaimCode"


def _claim_code_hash(user: User, code: str) -> str:
    # Keyed with SECRET_KEY and bound to the user: a copy of the table alone reveals no code.
    return salted_hmac(_CLAIM_HASH_SALT, f"{user.pk}:{code}", algorithm="sha256").hexdigest()


def _claimable(phone: str, *, for_update: bool = False) -> User | None:
    normalized = normalize_phone(phone)
    if normalized is None:
        return None
    users = User.objects.filter(phone=normalized, is_claimed=False, is_active=True)
    if for_update:
        users = users.select_for_update()
    return users.first()


def _claim_sms_text(user: User, code: str) -> str:
    with translation.override(gettext_language(user.preferred_language)):
        return gettext(
            "Your code to claim your account: %(code)s. It expires in %(minutes)d minutes. "
            "Never share it with anyone."
        ) % {"code": code, "minutes": int(CLAIM_CODE_TTL.total_seconds() // 60)}


def _send_claim_sms(phone: str, text: str) -> None:
    # Imported here so accounts never loads notifications at import time (no cycle).
    from notifications.sms import send_sms

    send_sms(phone, text)


def start_claim(*, phone: str) -> None:
    """Send a one-time code to `phone` if it belongs to an unclaimed account.

    Answers nothing either way: the caller must not learn whether the phone has an account.
    The code is kept only as a hash, valid for `CLAIM_CODE_TTL`; a new code replaces any
    earlier one. The SMS goes out after commit, with no transaction open.
    """
    user = _claimable(phone)
    if user is None:
        return
    code = f"{secrets.randbelow(10**CLAIM_CODE_DIGITS):0{CLAIM_CODE_DIGITS}d}"
    now = timezone.now()
    with transaction.atomic():
        ClaimCode.objects.create(
            user=user,
            code_hash=_claim_code_hash(user, code),
            created_at=now,
            expires_at=now + CLAIM_CODE_TTL,
        )
        transaction.on_commit(partial(_send_claim_sms, user.phone, _claim_sms_text(user, code)))


def confirm_claim(
    *, phone: str, code: str, password: str, full_name: str | None = None
) -> tuple[str, str]:
    """Claim an unclaimed account with the code sent by `start_claim`; returns `(access,
    refresh)` for the now claimed account.

    Only the latest code of the account counts; it must be unexpired, unused and have had
    fewer than `CLAIM_CODE_MAX_ATTEMPTS` wrong guesses. Every failure (including an unknown or
    already claimed phone) raises the same `InvalidClaimCode` (400 `invalid_code` on `code`).
    A password Django's validators refuse is a 400 on `password` that spends neither the code
    nor an attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        # Locks the account: two confirmations of one code cannot both win.
        user = _claimable(phone, for_update=True)
        claim = (
            ClaimCode.objects.select_for_update().filter(user=user).order_by("-created_at").first()
            if user is not None
            else None
        )
        if (
            user is None
            or claim is None
            or claim.used_at is not None
            or claim.expires_at <= now
            or claim.attempts >= CLAIM_CODE_MAX_ATTEMPTS
        ):
            raise InvalidClaimCode()
        if not constant_time_compare(_claim_code_hash(user, code), claim.code_hash):
            claim.attempts += 1
            claim.save(update_fields=["attempts"])
            wrong = True
        else:
            wrong = False
            _claim(user, claim, password=password, full_name=full_name, now=now)
            refresh = RefreshToken.for_user(user)
    # Outside the block, so the counted attempt is committed, not rolled back with the error.
    if wrong:
        raise InvalidClaimCode()
    return str(refresh.access_token), str(refresh)


def _claim(user: User, claim: ClaimCode, *, password: str, full_name: str | None, now: Any) -> None:
    fields = ["password", "is_claimed", "updated_at"]
    if full_name:
        user.full_name = full_name
        fields.append("full_name")
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        # Each validator's own code (`password_too_short`…), as registration answers.
        raise ValidationError({"password": get_error_detail(exc)}) from exc
    user.set_password(password)
    user.is_claimed = True
    user.save(update_fields=fields)
    claim.used_at = now
    claim.save(update_fields=["used_at"])
    audit.record(user, "claim_account", user, details={"fields": sorted(fields)})


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
