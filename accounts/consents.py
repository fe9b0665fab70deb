"""Consents (Decree 13/2023 art. 11, Personal Data Protection Law): what a person allowed the
service to do with their data, under which version of the text they were shown, and since
when. Also the ethnic group, the one profile field that needs a consent to be stored.

A consent is given or withdrawn by its owner only. Giving opens a record; withdrawing closes
the active one (`withdrawn_at`) and undoes what the consent allowed: the ethnic group is
erased here, and apps above `accounts` register what they undo for theirs
(`on_withdrawal`, e.g. feedback un-publishes an author's items on `publish`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Consent, EthnicGroup, User
from common import audit
from common.exceptions import Conflict, InvalidInput

Purpose = Consent.Purpose

_withdrawal_hooks: dict[str, list[Callable[[Any], None]]] = {}


class ConsentRequired(Conflict):
    default_detail = _("Give your consent for this purpose first (POST me/consents/).")
    default_code = "consent_required"


class ConsentNotGiven(Conflict):
    default_detail = _("You have never given a consent for this purpose.")
    default_code = "consent_not_given"


def on_withdrawal(purpose: str, hook: Callable[[Any], None]) -> None:
    """Register `hook(user)`, run in the transaction that withdraws `purpose` (from an app's
    `AppConfig.ready()`): it undoes what the consent allowed in that app."""
    hooks = _withdrawal_hooks.setdefault(purpose, [])
    if hook not in hooks:
        hooks.append(hook)


def consents_of(user: Any) -> QuerySet[Consent]:
    """The user's consent records, newest first (active and withdrawn)."""
    return Consent.objects.filter(user=user).order_by("-given_at", "purpose")


def has_consent(user: Any, purpose: str) -> bool:
    """Whether `user` has an active consent for `purpose` (anonymous: never)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Consent.objects.filter(user=user, purpose=purpose, withdrawn_at__isnull=True).exists()


def _lock(user: Any) -> None:
    # Serialises the user's consent changes: the partial unique index decides anyway, this
    # keeps a concurrent give/withdraw pair from failing with an IntegrityError.
    User.objects.select_for_update().filter(pk=user.pk).exists()


def give_consent(user: Any, purpose: str, text_version: str) -> tuple[Consent, bool]:
    """Record `user`'s consent to `purpose` under `text_version`; returns `(record, created)`.

    The same version again keeps the active record (a retry); another version closes it and
    opens a new one, so the record always names the text the person last agreed to."""
    with transaction.atomic():
        _lock(user)
        active = Consent.objects.filter(user=user, purpose=purpose, withdrawn_at__isnull=True)
        current = active.first()
        if current is not None and current.text_version == text_version:
            return current, False
        now = timezone.now()
        active.update(withdrawn_at=now)
        consent = Consent.objects.create(
            user=user, purpose=purpose, text_version=text_version, given_at=now
        )
        audit.record(
            user,
            "give_consent",
            consent,
            details={"purpose": purpose, "text_version": text_version},
        )
    return consent, True


def withdraw_consent(user: Any, purpose: str) -> Consent:
    """Withdraw `user`'s consent to `purpose` and undo what it allowed (the ethnic group is
    erased; registered hooks run), in one transaction. Withdrawing what is already withdrawn
    answers the last record again; `ConsentNotGiven` (409) when there never was one."""
    with transaction.atomic():
        _lock(user)
        consent = Consent.objects.filter(
            user=user, purpose=purpose, withdrawn_at__isnull=True
        ).first()
        if consent is None:
            latest = consents_of(user).filter(purpose=purpose).first()
            if latest is None:
                raise ConsentNotGiven()
            return latest
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        if purpose == Purpose.ETHNIC_GROUP:
            _erase_ethnic_group(user)
        for hook in _withdrawal_hooks.get(purpose, []):
            hook(user)
        audit.record(
            user,
            "withdraw_consent",
            consent,
            details={"purpose": purpose, "text_version": consent.text_version},
        )
    return consent


def erase_consents(user: Any) -> int:
    """Delete every consent record of `user` (their account is being closed); their
    effects are undone by the caller."""
    deleted, _by_model = Consent.objects.filter(user=user).delete()
    return int(deleted)


# -- the ethnic group --------------------------------------------------------------------


def ethnic_groups() -> QuerySet[EthnicGroup]:
    return EthnicGroup.objects.order_by("code")


def ethnic_group_of(user: Any) -> EthnicGroup | None:
    """The user's own ethnic group, or None; for the user themselves only."""
    code = getattr(user, "ethnic_group", "")
    return EthnicGroup.objects.filter(code=code).first() if code else None


def set_ethnic_group(user: Any, code: str | None) -> None:
    """Store (or, with None/"", clear) the user's ethnic group. Storing needs an active
    `ethnic_group` consent (`ConsentRequired`, 409); an unknown code is a 400 on
    `ethnic_group`. Audited by field name, never the value."""
    code = code or ""
    if code and not EthnicGroup.objects.filter(code=code).exists():
        raise InvalidInput(
            {"ethnic_group": [_("No ethnic group has this code.")]}, code="does_not_exist"
        )
    with transaction.atomic():
        _lock(user)
        if code and not has_consent(user, Purpose.ETHNIC_GROUP):
            raise ConsentRequired()
        if user.ethnic_group == code:
            return
        User.objects.filter(pk=user.pk).update(ethnic_group=code, updated_at=timezone.now())
        user.ethnic_group = code
        audit.record(user, "update_profile", user, details={"fields": ["ethnic_group"]})


def _erase_ethnic_group(user: Any) -> None:
    User.objects.filter(pk=user.pk).update(ethnic_group="", updated_at=timezone.now())
    user.ethnic_group = ""
