"""Failed attempts that slow guessing down without locking anyone out.

Only failures count. Each key gets a few free failures, then waits that double with each
new failure (1 s, 2 s, 4 s … at most `cap` seconds); a success clears the key. A budget
instead allows so many failures in a window and then waits out the window. Counts live in
the cache: with the cache down they fail open, as the rest of the throttling does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Backoff:
    """Growing delays after `free` failures of one key."""

    prefix: str
    free: int
    cap: int = 60
    # How long a key's failures are remembered without a new one.
    memory: int = 3600

    def delay(self, failures: int) -> float:
        over = failures - self.free
        return 0.0 if over <= 0 else float(min(self.cap, 2 ** (over - 1)))


@dataclass(frozen=True)
class Budget:
    """At most `limit` failures of one key per `window` seconds."""

    prefix: str
    limit: int
    window: int = 3600


# Seconds since the epoch; a module attribute so that tests can move the clock.
clock = time.time


def _key(prefix: str, ident: str) -> str:
    return f"failures:{prefix}:{ident}"


def wait_before_next(rules: list[tuple[Backoff | Budget, str]]) -> float:
    """Seconds before another attempt is allowed under every `(rule, ident)` (0: now)."""
    now = clock()
    waits = [0.0]
    for rule, ident in rules:
        state = cache.get(_key(rule.prefix, ident))
        if not state:
            continue
        count, first, last = state
        if isinstance(rule, Backoff):
            waits.append(last + rule.delay(count) - now)
        elif count >= rule.limit:
            waits.append(first + rule.window - now)
    return max(waits)


def record_failure(rules: list[tuple[Backoff | Budget, str]]) -> None:
    now = clock()
    for rule, ident in rules:
        key = _key(rule.prefix, ident)
        count, first, _last = cache.get(key) or (0, now, now)
        if isinstance(rule, Budget) and now - first >= rule.window:
            count, first = 0, now
        timeout = rule.memory if isinstance(rule, Backoff) else rule.window
        cache.set(key, (count + 1, first, now), timeout)


def clear(rules: list[tuple[Backoff | Budget, str]]) -> None:
    cache.delete_many([_key(rule.prefix, ident) for rule, ident in rules])
