"""Reference rows that every create reads (a service by its code, a commune, the agency that
serves it, notification templates), kept in each process for a short while.

A dossier's create looked each of them up in PostgreSQL, four queries of sixteen. They change
a few times a year, in the admin: a save or delete in this process forgets its namespace at
once, other processes see the change within `REFERENCE_CACHE_SECONDS` (default 60). Values
are handed out as shallow copies, so a caller that sets attributes on one cannot change
what the next request sees.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[tuple[str, Hashable], tuple[float, Any]] = {}
_counts: dict[str, int] = {}
# Entries at most this many per process: a miss beyond it is simply not kept.
MAX_ENTRIES = 20_000


def cached(
    namespace: str, key: Hashable, load: Callable[[], T], *, namespace_limit: int | None = None
) -> T:
    """`load()`'s value for `key` in `namespace`, loaded at most once per lifetime. With
    `namespace_limit`, the namespace keeps at most that many entries (keys a caller does not
    control, such as query strings, cannot crowd out the others)."""
    now = time.monotonic()
    entry = _entries.get((namespace, key))
    if entry is None or entry[0] <= now:
        value = load()
        ttl = float(getattr(settings, "REFERENCE_CACHE_SECONDS", 60))
        if ttl > 0 and len(_entries) < MAX_ENTRIES:
            with _lock:
                kept = _counts.get(namespace, 0)
                if entry is not None or namespace_limit is None or kept < namespace_limit:
                    if (namespace, key) not in _entries:
                        _counts[namespace] = kept + 1
                    _entries[(namespace, key)] = (now + ttl, value)
        return _copied(value)
    return _copied(entry[1])


def _copied(value: Any) -> Any:
    return copy.copy(value) if isinstance(value, models.Model) else value


def forget(namespace: str) -> None:
    """Drop every entry of `namespace` (this process only)."""
    with _lock:
        for key in [key for key in _entries if key[0] == namespace]:
            del _entries[key]
        _counts.pop(namespace, None)


def clear() -> None:
    """Drop everything (tests, whose rows vanish with each test's rollback)."""
    with _lock:
        _entries.clear()
        _counts.clear()


def forget_on_change(namespace: str, *senders: type[models.Model]) -> None:
    """Forget `namespace` whenever a row of `senders` is saved or deleted in this process."""

    def receiver(**kwargs: Any) -> None:
        forget(namespace)

    for sender in senders:
        post_save.connect(receiver, sender=sender, weak=False, dispatch_uid=(namespace, sender))
        post_delete.connect(
            receiver, sender=sender, weak=False, dispatch_uid=(namespace, sender, "delete")
        )
