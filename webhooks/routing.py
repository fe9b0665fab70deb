"""Which subscriptions take a case's event, asked on every create and transition.

Subscriptions change rarely. Each process keeps the answer (common.refcache) under the
version held in the shared cache, which every change of a subscription moves on after its
commit: no process enqueues for a deleted or switched-off subscription once that change is
visible, and a create reads no subscription row from PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

from common import refcache
from webhooks.models import WebhookSubscription

logger = logging.getLogger(__name__)

VERSION_KEY = "webhooks:subscriptions:version"
NAMESPACE = "webhook-subscriptions"


def subscriptions_changed() -> None:
    """Call inside the transaction that changes subscriptions (`post_save` and `post_delete`
    do it for saves and deletes; `.update()` callers call it themselves)."""
    refcache.forget(NAMESPACE)
    transaction.on_commit(_next_version, robust=True)


def _next_version() -> None:
    refcache.forget(NAMESPACE)
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # never set, or evicted: a value no process has seen
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def _version() -> int | None:
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, time.time_ns(), timeout=None)
            version = cache.get(VERSION_KEY)
    except Exception:  # the shared cache is down: ask the database every time
        logger.warning("webhook subscriptions read without their cache", exc_info=True)
        return None
    return int(version) if version is not None else None


def active_subscriptions(lineage_ids: list[Any]) -> list[tuple[Any, list[str]]]:
    """(id, events) of the active subscriptions of these agencies."""

    def load() -> list[tuple[Any, list[str]]]:
        rows = WebhookSubscription.objects.filter(is_active=True, agency_id__in=lineage_ids)
        return [(row["id"], list(row["events"])) for row in rows.values("id", "events")]

    version = _version()
    if version is None:
        return load()
    return refcache.cached(NAMESPACE, (version, tuple(lineage_ids)), load)
