"""A person's rights over their data: a copy of everything held about them (`export_data`)
and closing their account (`delete_account`), under the Personal Data Protection Law and
Decree 13/2023.

`accounts` knows the account, its consents, sessions, devices and inbox; the cases live
higher up (`services`, `feedback`), which `accounts` may not import. Each of those apps
registers a `DataHolder` from its `AppConfig.ready()`: what it exports, what stops a
deletion (an open dossier), what it erases or keeps, and which of its objects the audit
entries about the person name. Both operations go through every holder, so a new app that
keeps personal data adds itself here and nothing else changes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import consents, otp, sessions
from accounts.models import OneTimeCode, Session, User
from agencies.models import StaffMembership
from common import audit
from common.exceptions import Conflict, DomainError, InvalidInput
from common.i18n import DEFAULT_LANGUAGE
from common.models import AuditLogEntry
from notifications.models import Device, Notification, PushMessage, SmsMessage


class StaffAccount(Conflict):
    default_detail = _(
        "Staff accounts cannot be closed here; ask your agency's administrator to remove "
        "your roles first."
    )
    default_code = "staff_account"


@dataclass(frozen=True)
class DataHolder:
    """What one app keeps about a person, for the export and the deletion.

    `export(user, request)` → sections of the archive (`{"dossiers": [...]}`), a bounded
    number of queries whatever the person holds. `refuse(user)` → the refusal that stops a
    deletion now (e.g. an open dossier), or None. `erase(user)` runs in the deletion's
    transaction before the profile is anonymised: it removes or detaches what the app holds,
    keeping what the law keeps. `subjects(user)` → `{object_type: ids}` of the person's
    objects, whose audit entries the export includes.
    """

    name: str
    export: Callable[[Any, Any], dict[str, Any]] | None = None
    refuse: Callable[[Any], DomainError | None] | None = None
    erase: Callable[[Any], None] | None = None
    subjects: Callable[[Any], dict[str, Iterable[Any]]] | None = None


_holders: dict[str, DataHolder] = {}


def register_data_holder(holder: DataHolder) -> None:
    """Add (or replace, by name) an app's `DataHolder`; call from `AppConfig.ready()`."""
    _holders[holder.name] = holder


def data_holders() -> list[DataHolder]:
    return [_holders[name] for name in sorted(_holders)]


# -- export ---------------------------------------------------------------------------------


def export_data(user: User, request: Any = None) -> dict[str, Any]:
    """Everything held about `user`, as JSON-ready data; audited as `export_personal_data`.

    Attachment links are signed for `request` like those of a dossier's detail."""
    archive: dict[str, Any] = {
        "generated_at": timezone.now(),
        "profile": _profile(user),
        "consents": [_consent(row) for row in consents.consents_of(user)],
        "sessions": [_session(row) for row in Session.objects.filter(user=user)],
        "devices": [_device(row) for row in Device.objects.filter(user=user)],
        "notifications": [
            _notification(row)
            for row in Notification.objects.filter(user=user).order_by("-created_at")
        ],
    }
    subjects: dict[str, set[str]] = {"accounts.user": {str(user.pk)}}
    for holder in data_holders():
        if holder.export is not None:
            archive.update(holder.export(user, request))
        if holder.subjects is not None:
            for object_type, ids in holder.subjects(user).items():
                subjects.setdefault(object_type, set()).update(str(pk) for pk in ids)
    archive["audit_log"] = _audit_entries(user, subjects)
    audit.record(user, "export_personal_data", user, details={"sections": sorted(archive)})
    return archive


def _profile(user: User) -> dict[str, Any]:
    unit = user.administrative_unit
    group = consents.ethnic_group_of(user)
    return {
        "id": str(user.pk),
        "phone": user.phone,
        "full_name": user.full_name,
        "preferred_language": user.preferred_language,
        "administrative_unit": (
            {"code": unit.code, "name": unit.name, "level": unit.level} if unit else None
        ),
        "ethnic_group": {"code": group.code, "name": group.name} if group else None,
        "phone_verified_at": user.phone_verified_at,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }


def _consent(row: Any) -> dict[str, Any]:
    return {
        "purpose": row.purpose,
        "text_version": row.text_version,
        "given_at": row.given_at,
        "withdrawn_at": row.withdrawn_at,
    }


def _session(row: Session) -> dict[str, Any]:
    return {
        "id": str(row.pk),
        "platform": row.platform,
        "app_version": row.app_version,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "revoke_reason": row.revoke_reason,
    }


def _device(row: Device) -> dict[str, Any]:
    return {
        "platform": row.platform,
        "app_version": row.app_version,
        # The token is a credential of the app install: its end identifies it enough.
        "token_end": row.token[-8:],
        "is_active": row.is_active,
        "created_at": row.created_at,
        "last_seen_at": row.last_seen_at,
    }


def _notification(row: Notification) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "read_at": row.read_at,
        "created_at": row.created_at,
    }


def _audit_entries(user: User, subjects: dict[str, set[str]]) -> list[dict[str, Any]]:
    """Entries about the person's data: what they did, and what anyone did to their account
    or their objects. Staff are named by role only (`staff`), never by name."""
    about = Q(actor=user)
    for object_type, ids in subjects.items():
        if ids:
            about |= Q(object_type=object_type, object_id__in=sorted(ids))
    rows = AuditLogEntry.objects.filter(about).order_by("-at", "-id")
    return [
        {
            "at": row.at,
            "action": row.action,
            "object_type": row.object_type,
            "object_id": row.object_id,
            "by": (
                "you"
                if row.actor_id == user.pk
                else ("system" if row.actor_id is None else "staff")
            ),
            "details": row.details,
        }
        for row in rows
    ]


# -- deletion -------------------------------------------------------------------------------


def delete_account(user: User, *, password: str | None = None, otp_code: str | None = None) -> None:
    """Close `user`'s account at once, proven by their password or a `delete_account` code.

    Refused with `StaffAccount` (409 `staff_account`) while they hold a staff role and with a
    holder's refusal (409 `open_cases` while a dossier is open); a wrong password is a 400
    on `password`, a code that does not serve `InvalidCode` on `otp` (a refused deletion
    leaves the code usable). Then, in one transaction: every app's `erase`, sessions ended
    and deleted, devices (with their queued pushes), inbox and SMS rows deleted, consents
    withdrawn (their effects undone) and deleted, and the profile anonymised: no name, a
    placeholder instead of the phone (the number may register again), no usable password,
    inactive.
    """
    if otp_code is not None:
        otp.use_code(
            user.phone,
            otp.Purpose.DELETE_ACCOUNT,
            otp_code,
            lambda: _close(user),
            field_name="otp",
        )
        return
    if password is None or not user.check_password(password):
        raise InvalidInput({"password": [_("The password is wrong.")]}, code="wrong_password")
    _close(user)


def _refusal(user: User) -> DomainError | None:
    # Read from the row: a staff token without its second factor has the flags off in memory.
    staff = User.objects.filter(pk=user.pk).filter(Q(is_staff=True) | Q(is_superuser=True))
    if staff.exists() or StaffMembership.objects.filter(user=user).exists():
        return StaffAccount()
    for holder in data_holders():
        if holder.refuse is not None:
            refusal = holder.refuse(user)
            if refusal is not None:
                return refusal
    return None


def _close(user: User) -> None:
    with transaction.atomic():
        # Locks the account: a concurrent submission waits and then finds it closed.
        User.objects.select_for_update().filter(pk=user.pk).exists()
        refusal = _refusal(user)
        if refusal is not None:
            raise refusal
        for holder in data_holders():
            if holder.erase is not None:
                holder.erase(user)
        for purpose in (
            consents.consents_of(user)
            .filter(withdrawn_at__isnull=True)
            .values_list("purpose", flat=True)
        ):
            consents.withdraw_consent(user, purpose)
        consents.erase_consents(user)
        _erase_notifications(user)
        sessions.end_all_sessions(user, reason="account_deleted")
        Session.objects.filter(user=user).delete()
        OneTimeCode.objects.filter(phone=user.phone).delete()
        _anonymise(user)
        audit.record(user, "delete_account", user)


def _erase_notifications(user: User) -> None:
    # Rows a worker is sending right now stay until it records the outcome (it updates by id
    # and finds nothing once they are gone); other people's pushes are untouched.
    PushMessage.objects.filter(device__user=user, status=PushMessage.Status.PENDING).delete()
    Device.objects.filter(user=user).exclude(pushes__status=PushMessage.Status.SENDING).delete()
    Device.objects.filter(user=user).update(is_active=False, deactivated_reason="account_deleted")
    Notification.objects.filter(user=user).delete()
    SmsMessage.objects.filter(user=user).exclude(status=SmsMessage.Status.SENDING).delete()


def deleted_phone_placeholder() -> str:
    """A unique value for `User.phone` that is no phone number (20 characters at most)."""
    return f"deleted-{secrets.token_hex(6)}"


def _anonymise(user: User) -> None:
    user.full_name = ""
    user.phone = deleted_phone_placeholder()
    user.set_unusable_password()
    user.is_active = False
    user.ethnic_group = ""
    user.administrative_unit = None
    user.preferred_language = DEFAULT_LANGUAGE
    user.phone_verified_at = None
    user.last_login = None
    user.deleted_at = timezone.now()
    user.save(
        update_fields=[
            "full_name",
            "phone",
            "password",
            "is_active",
            "ethnic_group",
            "administrative_unit",
            "preferred_language",
            "phone_verified_at",
            "last_login",
            "deleted_at",
            "updated_at",
        ]
    )
