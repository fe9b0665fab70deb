"""A Redis cache that fails open: an unreachable Redis behaves like an empty cache.

Throttles and caches are conveniences; nothing the API must answer lives only in Redis, so a
Redis outage must never turn a request into a 500.
"""

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a declared dependency
    RedisError = OSError  # type: ignore[misc,assignment]

_FAILURES = (RedisError, OSError)


class FailOpenRedisCache(RedisCache):
    def _fail(self, op: str, exc: Exception) -> None:
        logger.warning("cache %s failed, continuing without cache: %s", op, exc)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except _FAILURES as exc:
            self._fail("get", exc)
            return default

    def set(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> None:  # type: ignore[override]
        try:
            super().set(key, value, timeout, version)
        except _FAILURES as exc:
            self._fail("set", exc)

    def add(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> bool:  # type: ignore[override]
        try:
            return super().add(key, value, timeout, version)
        except _FAILURES as exc:
            self._fail("add", exc)
            return False

    def delete(self, key: Any, version: Any = None) -> bool:
        try:
            return super().delete(key, version)
        except _FAILURES as exc:
            self._fail("delete", exc)
            return False

    def delete_many(self, keys: Any, version: Any = None) -> None:
        try:
            super().delete_many(keys, version)
        except _FAILURES as exc:
            self._fail("delete_many", exc)

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except _FAILURES as exc:
            self._fail("get_many", exc)
            return {}

    def set_many(self, data: Any, timeout: Any = None, version: Any = None) -> list[Any]:  # type: ignore[override]
        try:
            return super().set_many(data, timeout, version)
        except _FAILURES as exc:
            self._fail("set_many", exc)
            return list(data)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        try:
            return super().incr(key, delta, version)
        except _FAILURES as exc:
            self._fail("incr", exc)
            return delta

    def clear(self) -> None:
        try:
            super().clear()
        except _FAILURES as exc:
            self._fail("clear", exc)

    def count_in_window(self, key: str, seconds: int) -> int:
        """Add one to `key`'s count, which expires `seconds` after its first hit, and return
        it: INCR and EXPIRE NX in one round trip, on a client kept for the process (Django's
        backend builds a new `redis.Redis` for every call). 0 when Redis fails (fail open)."""
        try:
            client = self.__dict__.get("_window_client")
            if client is None:
                backend: Any = self._cache
                client = backend._client(connection_pool=backend._get_connection_pool(True))
                self.__dict__["_window_client"] = client
            pipe = client.pipeline(transaction=False)
            pipe.incr(self.make_and_validate_key(key))
            pipe.expire(self.make_and_validate_key(key), seconds, nx=True)
            count, _set = pipe.execute()
            return int(count)
        except _FAILURES as exc:
            self._fail("count_in_window", exc)
            return 0


def count_in_window(cache: Any, key: str, seconds: int) -> int:
    """`FailOpenRedisCache.count_in_window` on any cache (two calls on the others)."""
    # `django.core.cache.cache` is a proxy: ask it for the method rather than its class.
    counter = getattr(cache, "count_in_window", None)
    if counter is not None:
        return int(counter(key, seconds))
    cache.add(key, 0, seconds)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the two calls
        cache.add(key, 1, seconds)
        return 1
