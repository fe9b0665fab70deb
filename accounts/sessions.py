"""Sessions: families of refresh tokens (OAuth 2.0 Security BCP, refresh token rotation with
reuse detection), and the per-user token version that cuts access tokens at once.

A login opens a session; every refresh token carries its session (`sid`) and every token the
user's `token_version` (`ver`). Spending the session's current refresh token rotates it. The
refresh token before it, sent again within `JWT_REUSE_GRACE_SECONDS`, answers the same pair
again (a phone on a weak link lost the first answer); sent later, someone holds a copy, and
the whole session is revoked. Refresh tokens from before sessions (no `sid`) keep working
until they expire: spending one opens a session for its successor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import Session, User
from common import audit

SESSION_CLAIM = "sid"
VERSION_CLAIM = "ver"
# Present and true when the session was opened with a staff second factor.
SECOND_FACTOR_CLAIM = "mfa"


class InvalidRefreshToken(AuthenticationFailed):
    default_detail = _("Token is invalid or expired")
    default_code = "token_not_valid"


class NoActiveAccount(AuthenticationFailed):
    default_detail = _("No active account found for the given token.")
    default_code = "no_active_account"


def reuse_grace() -> timedelta:
    return timedelta(seconds=getattr(settings, "JWT_REUSE_GRACE_SECONDS", 60))


def _pair(user: User, session: Session) -> tuple[RefreshToken, dict[str, str]]:
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = str(session.pk)
    refresh[VERSION_CLAIM] = user.token_version
    if session.second_factor:
        refresh[SECOND_FACTOR_CLAIM] = True
    # The access token copies the claims set so far (`sid`, `ver`).
    return refresh, {"access": str(refresh.access_token), "refresh": str(refresh)}


def open_session(
    user: User, *, platform: str = "", app_version: str = "", second_factor: bool = False
) -> dict[str, str]:
    """Sign `user` in on one app: a new session and its first `{access, refresh}` pair."""
    with transaction.atomic():
        session = Session(
            user=user,
            platform=platform,
            app_version=app_version,
            second_factor=second_factor,
            expires_at=timezone.now() + jwt_settings.REFRESH_TOKEN_LIFETIME,
        )
        refresh, pair = _pair(user, session)
        session.current_jti = refresh[jwt_settings.JTI_CLAIM]
        session.save()
    return pair


def _decode(raw: str) -> dict[str, Any]:
    """The verified claims of a refresh token (signature, audience, issuer, expiry, type),
    without the blacklist check: a spent token must reach the reuse detection."""
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]
    except (TokenBackendError, TokenError):
        raise InvalidRefreshToken(_("Token is invalid or expired")) from None
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh":
        raise InvalidRefreshToken(_("Token has wrong type"))
    return payload  # type: ignore[no-any-return]


def rotate(raw: str) -> dict[str, str]:
    """Spend a refresh token: the session's next `{access, refresh}` pair.

    Raises `InvalidRefreshToken` (401) for a malformed, expired or revoked token and for a
    token spent before (revoking its session, unless within the grace: then the same pair as
    the first time), and `NoActiveAccount` (401) when the user is inactive or gone.
    """
    payload = _decode(raw)
    sid = payload.get(SESSION_CLAIM)
    if sid is None:
        return _adopt(raw, payload)
    jti = payload.get(jwt_settings.JTI_CLAIM)
    now = timezone.now()
    with transaction.atomic():
        session = (
            Session.objects.select_for_update().select_related("user").filter(pk=_uuid(sid)).first()
        )
        if session is None or session.revoked_at is not None:
            raise InvalidRefreshToken()
        user = session.user
        if not user.is_active:
            raise NoActiveAccount()
        if jti == session.current_jti:
            refresh, pair = _pair(user, session)
            session.previous_jti = session.current_jti
            session.current_jti = refresh[jwt_settings.JTI_CLAIM]
            session.rotated_at = session.last_used_at = now
            session.successor = pair
            session.expires_at = now + jwt_settings.REFRESH_TOKEN_LIFETIME
            session.save()
            return pair
        in_grace = session.rotated_at is not None and now - session.rotated_at <= reuse_grace()
        if jti == session.previous_jti and in_grace and session.successor:
            return dict(session.successor)
        # A refresh token spent before, outside the grace: a copy is in other hands.
        _revoke(Session.objects.filter(pk=session.pk), now, "reuse")
        audit.record(user, "refresh_token_reuse", user, details={"session": str(session.pk)})
    # Raised once the revocation is committed.
    raise InvalidRefreshToken(_("Token is blacklisted"))


def _adopt(raw: str, payload: dict[str, Any]) -> dict[str, str]:
    """A refresh token from before sessions: spent once (simplejwt's blacklist arbitrates),
    its successor opens a session."""
    user_id = payload.get(jwt_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=_uuid(user_id)).first() if user_id else None
    if user is None or not user.is_active:
        raise NoActiveAccount()
    with transaction.atomic():
        outstanding, _created = OutstandingToken.objects.get_or_create(
            jti=payload[jwt_settings.JTI_CLAIM],
            defaults={
                "user": user,
                "token": raw,
                "created_at": datetime_from_epoch(payload["iat"]) if "iat" in payload else None,
                "expires_at": datetime_from_epoch(payload["exp"]),
            },
        )
        # The one-to-one row is the arbiter: only one racing request can create it.
        _entry, spent_now = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not spent_now:
            raise InvalidRefreshToken(_("Token is blacklisted"))
        return open_session(user)


def _uuid(value: Any) -> Any:
    """`value` as a UUID, or None when it is not one (a forged or garbled claim)."""
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _revoke(sessions: Any, now: Any, reason: str) -> int:
    return int(
        sessions.filter(revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason=reason, successor=None
        )
    )


def live_sessions(user: User) -> Any:
    return Session.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")


def end_session(user: User, session_id: UUID | str, reason: str = "logout") -> bool:
    """Revoke one of `user`'s sessions; False when it is not theirs or not live."""
    sid = _uuid(session_id)
    return bool(sid) and _revoke(live_sessions(user).filter(pk=sid), timezone.now(), reason) > 0


def end_all_sessions(user: User, *, keep: UUID | str | None = None, reason: str) -> int:
    """Revoke every session of `user` (but `keep`), blacklist refresh tokens from before
    sessions, and raise the token version so that every access token stops at once.
    Returns how many sessions ended."""
    now = timezone.now()
    with transaction.atomic():
        sessions = Session.objects.filter(user=user)
        if keep:
            sessions = sessions.exclude(pk=_uuid(keep))
        ended = _revoke(sessions, now, reason)
        legacy = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in legacy], ignore_conflicts=True
        )
        User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    return ended
