"""The way in for the case engine: `enqueue_case_event()` writes one outbox row per
subscription that takes the event, in the caller's transaction, and publishes their
delivery after commit (the beat sweep sends what a failed publish left behind)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.outbox import publish
from webhooks.delivery import deliver_webhooks_task
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.routing import active_subscriptions


def event_type(kind: str, from_status: str, to_status: str) -> str | None:
    """`<kind>.created` for a new case, `<kind>.status_changed` for a change of state,
    None for an event that changes no state (a comment, a forward, an assignment)."""
    if not from_status:
        return f"{kind}.created"
    if from_status != to_status:
        return f"{kind}.status_changed"
    return None


def payload(kind: str, type_: str, case: Any, at: Any) -> str:
    """The body: ids and state only. Never the applicant, the author, texts or places:
    whoever receives it asks the API, with its own rights, for anything more."""
    agency = case.agency
    body = {
        "type": type_,
        "timestamp": at.isoformat(),
        "data": {
            "kind": kind,
            "id": str(case.pk),
            "tracking_code": case.tracking_code,
            "status": case.status,
            "agency": {"id": str(agency.pk), "code": agency.code, "name": agency.name},
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def enqueue_case_event(kind: str, case: Any, from_status: str) -> list[WebhookDelivery]:
    """Queue the webhook of a case's event for every active subscription whose agency is
    the case's agency or above it and that takes the event. Call inside the transaction of
    the change."""
    type_ = event_type(kind, from_status, case.status)
    if type_ is None:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_case_event() must be called inside transaction.atomic()")
    wanted = [
        pk
        for pk, events in active_subscriptions(list(case.agency.lineage_ids))
        if WebhookSubscription(events=events).takes(type_)
    ]
    if not wanted:
        return []
    body = payload(kind, type_, case, timezone.now())
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription_id=pk, event_type=type_, body=body) for pk in wanted
    )
    transaction.on_commit(partial(publish_deliveries, [str(row.pk) for row in rows]), robust=True)
    return rows


def publish_deliveries(ids: list[str]) -> None:
    """Ask a worker to send these rows now; on any failure, leave them to the sweep."""
    publish(deliver_webhooks_task, [ids], f"deliver_webhooks for {len(ids)} webhook(s)")
