"""Who manages which webhook subscriptions: agency admins (their subtrees) and superusers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Length

from agencies.models import Agency, StaffMembership
from agencies.selectors import agencies_administered_by
from webhooks.models import WebhookSubscription


def webhook_agencies(user: Any) -> QuerySet[Agency]:
    """Agencies whose subscriptions `user` manages. Memberships count only for a user acting
    as staff (a staff token without its second factor acts as a citizen)."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if not (user.is_superuser or user.is_staff):
        return Agency.objects.none()
    return agencies_administered_by(user)


def manages_webhooks(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(
        user.is_staff
        and StaffMembership.objects.filter(user=user, role=StaffMembership.Role.ADMIN).exists()
    )


def subscriptions_managed_by(user: Any) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(agency__in=webhook_agencies(user)).select_related(
        "agency"
    )


def default_agency(user: Any) -> Agency | None:
    """The highest agency `user` administers: the top of their admin memberships; for a
    superuser without one, the root of the tree when there is only one."""
    if not manages_webhooks(user):
        return None
    memberships = (
        StaffMembership.objects.filter(user=user, role=StaffMembership.Role.ADMIN)
        .select_related("agency")
        .order_by(Length("agency__path"), "agency__code")
    )
    first = memberships.first()
    if first is not None:
        return first.agency
    if user.is_superuser:
        roots = list(Agency.objects.filter(parent__isnull=True)[:2])
        if len(roots) == 1:
            return roots[0]
    return None
