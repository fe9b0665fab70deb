"""Writes on webhook subscriptions: subscribe, unsubscribe, rotate a secret, redeliver."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from common import audit
from common.exceptions import InvalidInput, NotAllowed
from webhooks import delivery, signing, urlguard
from webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookSubscription
from webhooks.outbox import publish_deliveries
from webhooks.routing import subscriptions_changed
from webhooks.selectors import default_agency, manages_webhooks, webhook_agencies


def check_url(url: str) -> None:
    """400 on `url` (`unsafe_url`) unless webhooks may go there."""
    problem = urlguard.url_problem(url)
    if problem is not None:
        raise InvalidInput({"url": [str(problem)]}, code="unsafe_url")


def create_subscription(
    user: Any, *, url: str, events: Iterable[str], agency: Agency | None
) -> tuple[WebhookSubscription, str]:
    """Subscribe an agency's subtree; returns the subscription and its secret (shown once).

    403 unless `user` is an agency admin or a superuser; 400 on `url` when it may not
    receive webhooks, on `agency` when `user` does not administer it (or none was given and
    there is no single highest agency to default to)."""
    if not manages_webhooks(user):
        raise NotAllowed()
    events = list(dict.fromkeys(events))
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise InvalidInput({"events": [_("Unknown event type.")]}, code="invalid_choice")
    check_url(url)
    if agency is None:
        agency = default_agency(user)
        if agency is None:
            raise InvalidInput({"agency": [_("This field is required.")]}, code="required")
    elif not webhook_agencies(user).filter(pk=agency.pk).exists():
        raise InvalidInput(
            {"agency": [_("You do not administer this agency.")]}, code="invalid_agency"
        )
    secret = signing.new_secret()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            agency=agency, url=url, events=events, secret=secret, created_by=user
        )
        audit.record(
            user,
            "create_webhook",
            subscription,
            agency_id=agency.pk,
            details={"events": events},
        )
    return subscription, secret


def delete_subscription(user: Any, subscription: WebhookSubscription) -> None:
    """Remove a subscription and its queue. The caller found it through
    `subscriptions_managed_by(user)` (404 otherwise)."""
    with transaction.atomic():
        audit.record(user, "delete_webhook", subscription, agency_id=subscription.agency_id)
        subscription.delete()


def overlap() -> timedelta:
    return timedelta(hours=float(getattr(settings, "WEBHOOK_SECRET_OVERLAP_HOURS", 24)))


def rotate_secret(user: Any, subscription: WebhookSubscription) -> str:
    """A new secret; the old one keeps signing beside it for `WEBHOOK_SECRET_OVERLAP_HOURS`
    (both signatures in `webhook-signature`) while the receiver switches. Returns the new
    secret, shown once."""
    secret = signing.new_secret()
    now = timezone.now()
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            previous_secret=subscription.secret,
            previous_secret_until=now + overlap(),
            secret=secret,
            updated_at=now,
        )
        audit.record(user, "rotate_webhook_secret", subscription, agency_id=subscription.agency_id)
    subscription.refresh_from_db()
    return secret


def enable_subscription(user: Any, subscription: WebhookSubscription) -> None:
    """Switch a disabled subscription back on; its waiting rows are sent again."""
    now = timezone.now()
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            is_active=True, disabled_at=None, disabled_reason="", updated_at=now
        )
        subscriptions_changed()
        audit.record(user, "enable_webhook", subscription, agency_id=subscription.agency_id)


def redeliver(user: Any, deliveries: Iterable[WebhookDelivery]) -> int:
    """Send rows again now (same `webhook-id`); returns how many were queued."""
    with transaction.atomic():
        ids = delivery.redeliver(deliveries)
        for row in WebhookDelivery.objects.filter(pk__in=ids).select_related("subscription"):
            audit.record(user, "redeliver_webhook", row, agency_id=row.subscription.agency_id)
        transaction.on_commit(lambda: publish_deliveries(ids), robust=True)
    return len(ids)
