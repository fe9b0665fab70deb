"""Every write on accounts: registration, claiming an assisted account, password reset and
change, change of phone, profile changes, token rotation, logout."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.fields import get_error_detail
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import otp, sessions
from accounts.models import User
from agencies.models import AdministrativeUnit
from common import audit
from common.exceptions import Conflict, InvalidInput
from common.i18n import DEFAULT_LANGUAGE, gettext_language
from common.phones import normalize_phone
from notifications.actions import unregister_device
from notifications.outbox import queue_sms

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


def register_citizen(
    *,
    phone: str,
    password: str,
    full_name: str,
    otp_code: str,
    preferred_language: str = DEFAULT_LANGUAGE,
) -> User:
    """Create a citizen account for a phone number not registered yet, proven by a code of
    purpose `register` sent to it; the account starts with its phone verified.

    The caller has validated the input (phone format, password strength, language).
    Raises `InvalidCode` (400 on `otp`), `PhoneTaken` (409) when the phone already has an
    account, also when a concurrent registration of the same phone wins the race, and
    `AccountRequiresClaim` (409) when that account is an unclaimed one an officer opened for
    an assisted submission; a 409 leaves the code unspent.
    """
    normalized = normalize_phone(phone)
    if normalized is None:
        raise ValidationError({"phone": _("Enter a valid phone number.")}, code="invalid_phone")

    def create() -> User:
        try:
            # A savepoint of its own: the failed INSERT must not poison the transaction.
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

    user = otp.use_code(normalized, otp.Purpose.REGISTER, otp_code, create)
    user.refresh_from_db(fields=["phone_verified_at"])
    return user


def account_for_phone(phone: str, *, full_name: str = "", verified: bool = False) -> User:
    """The account of `phone` (normalised), or a new unclaimed citizen account with no
    usable password, to be claimed later with a code sent to the phone.

    `verified`: the phone of a new account is known to be its holder's (an SMS the network
    delivered from it); an existing account is returned as it is.
    """
    existing = User.objects.filter(phone=phone).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: a concurrent registration of the same phone must not poison the
        # caller's transaction; the unique index decides, then we read the winner.
        with transaction.atomic():
            return User.objects.create_user(
                phone=phone,
                password=None,
                full_name=full_name,
                is_claimed=False,
                phone_verified_at=timezone.now() if verified else None,
            )
    except IntegrityError:
        return User.objects.get(phone=phone)


def start_claim(*, phone: str, language: str = DEFAULT_LANGUAGE) -> otp.Issued:
    """Send a code of purpose `claim` to `phone` if it belongs to an unclaimed account.

    Answers the same either way: the caller must not learn whether the phone has an
    account (`accounts.otp.issue_code`).
    """
    return otp.issue_code(phone, otp.Purpose.CLAIM, language=language)


def confirm_claim(
    *,
    phone: str,
    code: str,
    password: str,
    full_name: str | None = None,
    code_field: str = "code",
) -> tuple[str, str]:
    """Claim an unclaimed account with a `claim` code; returns `(access, refresh)` for the
    now claimed account, whose phone is then verified.

    Every failure of the code, including an unknown or already claimed phone, is the same
    `InvalidCode` (400 `invalid_code` on `code_field`). A password Django's validators refuse
    is a 400 on `password` that spends neither the code nor a guess.
    """

    def claimed(account: User, fields: list[str]) -> None:
        audit.record(account, "claim_account", account, details={"fields": sorted(fields)})

    account = _password_by_code(
        phone,
        otp.Purpose.CLAIM,
        code,
        password,
        strength_error_field="password",
        code_field=code_field,
        unclaimed_only=True,
        full_name=full_name,
        finish=claimed,
    )
    refresh = RefreshToken.for_user(account)
    return str(refresh.access_token), str(refresh)


def _password_by_code(
    phone: str,
    purpose: str,
    code: str,
    password: str,
    *,
    strength_error_field: str,
    finish: Callable[[User, list[str]], None],
    code_field: str = "otp",
    unclaimed_only: bool = False,
    full_name: str | None = None,
) -> User:
    """Give the active account of `phone` the password `password`, proven by a code of
    `purpose`: the account is claimed (if it was not) and `finish(account, fields)` runs in
    the same transaction. A password the validators refuse is a 400 on `strength_error_field`
    that spends neither the code nor a guess; an account that is not there looks like a
    wrong code."""
    normalized = normalize_phone(phone) or ""
    accounts = User.objects.filter(phone=normalized, is_active=True)
    if unclaimed_only:
        accounts = accounts.filter(is_claimed=False)
    user = accounts.first()
    if user is not None:
        _check_password(password, user, strength_error_field)

    def apply() -> User:
        # Locks the account: two requests with one code cannot both win.
        account = accounts.select_for_update().first()
        if account is None:
            raise otp.InvalidCode(code_field)
        fields = ["password", "is_claimed", "updated_at"]
        if full_name:
            account.full_name = full_name
            fields.append("full_name")
        account.set_password(password)
        account.is_claimed = True
        account.save(update_fields=fields)
        finish(account, fields)
        return account

    return otp.use_code(normalized, purpose, code, apply, field_name=code_field)


def _check_password(password: str, user: User, field_name: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        # Each validator's own code (`password_too_short`…), as registration answers.
        raise ValidationError({field_name: get_error_detail(exc)}) from exc


def reset_password(*, phone: str, otp_code: str, new_password: str) -> None:
    """Set a new password for the account of `phone`, proven by a `reset_password` code;
    ends every session (refresh token) of the account. An unclaimed account is claimed by
    it. Any failure of the code, or a phone without an active account, is `InvalidCode`."""

    def reset(account: User, fields: list[str]) -> None:
        sessions.end_all_sessions(account, reason="password_reset")
        audit.record(account, "reset_password", account)

    _password_by_code(
        phone,
        otp.Purpose.RESET_PASSWORD,
        otp_code,
        new_password,
        strength_error_field="new_password",
        finish=reset,
    )


def change_password(
    user: User, *, old_password: str, new_password: str, keep_refresh: RefreshToken | None = None
) -> None:
    """Change the signed-in user's password; ends their other sessions (all of them unless
    `keep_refresh`, the caller's own refresh token, is given)."""
    if not user.check_password(old_password):
        raise InvalidInput(
            {"old_password": [_("The current password is wrong.")]}, code="wrong_password"
        )
    _check_password(new_password, user, "new_password")
    keep = _own_session(user, keep_refresh)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        sessions.end_all_sessions(user, keep=keep, reason="password_change")
        audit.record(user, "change_password", user)


def change_phone(
    user: User,
    *,
    password: str,
    new_phone: str,
    otp_code: str,
    keep_refresh: RefreshToken | None = None,
) -> User:
    """Move the signed-in user's account to `new_phone`, proven by a `change_phone` code
    sent to it; the old number is told by SMS, other sessions end. Raises `InvalidInput`
    on `password`, `InvalidCode`, or `PhoneTaken` (409, the code stays unspent)."""
    if not user.check_password(password):
        raise InvalidInput({"password": [_("The password is wrong.")]}, code="wrong_password")
    normalized = normalize_phone(new_phone)
    if normalized is None:
        raise InvalidInput({"new_phone": [_("Enter a valid phone number.")]}, code="invalid_phone")
    keep = _own_session(user, keep_refresh)
    old_phone = user.phone

    def move() -> User:
        account = User.objects.select_for_update().get(pk=user.pk)
        if normalized == account.phone or User.objects.filter(phone=normalized).exists():
            raise PhoneTaken()
        account.phone = normalized
        try:
            with transaction.atomic():
                account.save(update_fields=["phone", "updated_at"])
        except IntegrityError:
            raise PhoneTaken() from None
        sessions.end_all_sessions(account, keep=keep, reason="phone_change")
        queue_sms(
            old_phone,
            _phone_changed_text(account),
            kind="account.phone_changed",
            user=account,
        )
        audit.record(account, "change_phone", account)
        return account

    account = otp.use_code(normalized, otp.Purpose.CHANGE_PHONE, otp_code, move)
    account.refresh_from_db()
    return account


def verify_phone(user: User, *, otp_code: str) -> User:
    """Prove that the signed-in user holds their phone (accounts from before codes
    existed): dossiers filed for the phone at a public office then show."""
    otp.use_code(user.phone, otp.Purpose.VERIFY_PHONE, otp_code, lambda: None)
    user.refresh_from_db(fields=["phone_verified_at"])
    return user


def _own_session(user: User, refresh: RefreshToken | None) -> str | None:
    """The session of `refresh`, a token the caller says is theirs (checked)."""
    if refresh is None:
        return None
    _check_owner(user, refresh)
    sid = refresh.get(sessions.SESSION_CLAIM)
    return str(sid) if sid else None


def _check_owner(user: User, refresh: RefreshToken) -> None:
    if str(refresh.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ValidationError(
            {"refresh": _("This refresh token does not belong to you.")}, code="token_not_valid"
        )


def _phone_changed_text(user: User) -> str:
    with translation.override(gettext_language(user.preferred_language)):
        return gettext(
            "Your account now uses the number ending %(end)s. Not you? Tell your commune."
        ) % {"end": user.phone[-3:]}


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
    """Spend a refresh token and return the session's next `(access, refresh)` pair
    (`accounts.sessions.rotate`: reuse detection, grace, tokens from before sessions)."""
    pair = sessions.rotate(raw_refresh)
    return pair["access"], pair["refresh"]


def log_out(user: User, *, refresh: RefreshToken, device_token: str | None = None) -> None:
    """End a session: its refresh tokens stop working and, if given, the device is
    unregistered.

    The refresh token must have been issued to `user`; a token of anybody else is refused
    with a 400 on `refresh` so one account can never end another's session.
    """
    _check_owner(user, refresh)
    with transaction.atomic():
        sid = refresh.get(sessions.SESSION_CLAIM)
        if sid:
            sessions.end_session(user, sid)
        else:
            refresh.blacklist()
        if device_token:
            unregister_device(user, device_token)


def log_out_everywhere(user: User) -> int:
    """End every session of `user` and cut their access tokens at once; returns how many
    sessions ended."""
    ended = sessions.end_all_sessions(user, reason="logout_all")
    audit.record(user, "logout_all", user, details={"sessions": ended})
    return ended


def deactivate(user: User, *, actor: Any) -> None:
    """Close an account for good: it cannot sign in, and no token of it works again, even
    if it is reactivated later."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        sessions.end_all_sessions(user, reason="deactivated")
        audit.record(actor, "deactivate_account", user)
