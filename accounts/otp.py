"""One-time codes by SMS: proof that a person holds a phone, for one purpose at a time.

`issue_code` sends a 6-digit code (kept only as a keyed hash) valid for 5 minutes; the same
phone gets another one after 60 s at the earliest and at most 5 an hour, whatever the
purpose. The answer is the same whether or not an account exists: a row is written either
way and the SMS goes out only where the purpose applies. `use_code` spends the latest code
of a phone and purpose and runs the action it allows in the same transaction; a wrong guess
is counted (5 burn the code), an action that fails leaves the code unspent. Any code entered
correctly marks the phone of its account verified.
"""

from __future__ import annotations

import math
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import OneTimeCode, User
from common.exceptions import DomainError, InvalidInput
from common.i18n import gettext_language
from notifications.outbox import queue_sms

Purpose = OneTimeCode.Purpose
T = TypeVar("T")

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
PER_PHONE_PER_HOUR = 5
_HOUR = timedelta(hours=1)
_HASH_SALT = "accounts.OneTimeCode"


class TooManyCodes(DomainError):
    """429: a code went to this phone less than a minute ago, or five in the last hour."""

    status_code = 429
    default_detail = _("Too many codes were sent to this phone. Try again later.")
    default_code = "too_many_codes"

    def __init__(self, wait: float) -> None:
        super().__init__()
        # Seconds until a code may be sent again (the `Retry-After` header).
        self.wait = max(1, math.ceil(wait))


class InvalidCode(InvalidInput):
    """The one answer for every failed code: wrong, expired, spent, burnt, of another
    purpose, or never sent (no account to reset…), so that nobody learns which phones have
    accounts."""

    def __init__(self, field_name: str = "otp") -> None:
        super().__init__(
            {field_name: [_("The code is wrong or no longer valid. Ask for a new one.")]},
            code="invalid_code",
        )


@dataclass(frozen=True)
class Issued:
    expires_in: int
    resend_after: int
    # For the SMS only; never in an API answer.
    code: str = field(repr=False)


def _hash(phone: str, purpose: str, code: str) -> str:
    # Keyed with SECRET_KEY and bound to phone and purpose: a copy of the table reveals
    # no code, and a code of one purpose is worthless for another.
    return salted_hmac(_HASH_SALT, f"{phone}:{purpose}:{code}", algorithm="sha256").hexdigest()


def _serialize(phone: str) -> None:
    """Take a per-phone lock for the transaction, so that concurrent requests cannot all
    pass the limits; SQLite serialises writers on its own."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(phone.encode())])


def applies(purpose: str, user: User | None) -> bool:
    """Whether a code for `purpose` is sent to a phone whose account is `user` (None: the
    phone has no account)."""
    active = user is not None and user.is_active
    if purpose == Purpose.REGISTER:
        # No account, or one opened at a counter (registering then asks to claim it).
        return user is None or (active and not user.is_claimed)
    if purpose == Purpose.CHANGE_PHONE:
        # Sent to the new number, which must be free.
        return user is None
    if purpose == Purpose.CLAIM:
        return active and not user.is_claimed  # type: ignore[union-attr]
    if purpose == Purpose.VERIFY_PHONE:
        return active and user.phone_verified_at is None  # type: ignore[union-attr]
    # reset_password, delete_account
    return active


def _wait_before_next(phone: str, now: datetime) -> float:
    """Seconds before `phone` may get another code (0 when it may now)."""
    recent = list(
        OneTimeCode.objects.filter(phone=phone, created_at__gt=now - _HOUR)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:PER_PHONE_PER_HOUR]
    )
    waits = [0.0]
    if recent:
        waits.append((recent[0] + RESEND_AFTER - now).total_seconds())
    if len(recent) >= PER_PHONE_PER_HOUR:
        waits.append((recent[-1] + _HOUR - now).total_seconds())
    return max(waits)


def sms_text(code: str, language: str) -> str:
    """The code's SMS: one segment in Vietnamese (UCS-2, 70 characters) and English."""
    with translation.override(gettext_language(language)):
        return gettext("Your code: %(code)s. Valid for %(minutes)d minutes. Never share it.") % {
            "code": code,
            "minutes": int(CODE_TTL.total_seconds() // 60),
        }


def issue_code(phone: str, purpose: str, *, language: str) -> Issued:
    """Send a code for `purpose` to `phone` (E.164) where the purpose applies; raises
    `TooManyCodes` when the phone must wait. The SMS is in the account's language, else in
    `language` (the request's), and goes out after commit."""
    now = timezone.now()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        _serialize(phone)
        wait = _wait_before_next(phone, now)
        if wait > 0:
            raise TooManyCodes(wait)
        user = User.objects.filter(phone=phone).first()
        sent = applies(purpose, user)
        OneTimeCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=_hash(phone, purpose, code),
            created_at=now,
            expires_at=now + CODE_TTL,
            sent=sent,
        )
        if sent:
            text = sms_text(code, user.preferred_language if user else language)
            queue_sms(phone, text, kind=f"otp.{purpose}", user=user)
    return Issued(
        expires_in=int(CODE_TTL.total_seconds()),
        resend_after=int(RESEND_AFTER.total_seconds()),
        code=code,
    )


def use_code(
    phone: str, purpose: str, code: str, then: Callable[[], T], *, field_name: str = "otp"
) -> T:
    """Spend the latest code of `phone` for `purpose` and run `then()` in the same
    transaction; returns what `then()` returns.

    Raises `InvalidCode` (400 on `field_name`) for any code that does not serve, counting a
    wrong guess even so. When `then()` raises, nothing is kept and the code stays usable.
    Afterwards the phone's account (the new one, for a registration or a change of phone)
    is verified.
    """
    now = timezone.now()
    wrong = False
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose)
            .order_by("-created_at")
            .first()
        )
        if (
            row is None
            or not row.sent
            or row.used_at is not None
            or row.expires_at <= now
            or row.attempts >= MAX_ATTEMPTS
        ):
            raise InvalidCode(field_name)
        if not constant_time_compare(_hash(phone, purpose, code), row.code_hash):
            OneTimeCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            wrong = True
        else:
            OneTimeCode.objects.filter(pk=row.pk).update(used_at=now)
            result = then()
            User.objects.filter(phone=phone).update(phone_verified_at=now)
    # Outside the block, so the counted guess is committed, not rolled back with the error.
    if wrong:
        raise InvalidCode(field_name)
    return result
