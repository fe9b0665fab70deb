"""Public reads from a read replica; everything else from the primary.

With `DATABASE_REPLICA_URL` set, settings add the database alias `replica` and install
`PrimaryReplicaRouter`. A request reads from the replica only when all of these hold:

- its view says so (`replica_reads = True`: the catalog, the public feedback feed, public
  statistics: data that is the same for everyone and may trail the primary by a few seconds);
- it is a GET or HEAD without credentials (an `Authorization` header): whatever a signed-in
  user reads comes from the primary, so they always see their own writes;
- it is not a sync read (`?updated_since=`): `server_time` trails the primary's clock by the
  sync safety margin only (`common.api.sync`); a replica lagging more than that would make a
  phone skip rows for good;
- nothing has been written yet in the request: the first write pins the rest of it to the
  primary, and so does an open transaction on the primary.

Everything outside a request (Celery tasks, management commands) uses the primary. When the
replica cannot be reached, public reads go to the primary for `REPLICA_RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA_ALIAS = "replica"
# After the replica failed to connect, public reads stay on the primary this long.
REPLICA_RETRY_SECONDS = 30.0
_READ_METHODS = frozenset({"GET", "HEAD"})
# common.api.sync.UPDATED_SINCE_PARAM; not imported, since that module loads models and the
# router may be loaded first.
SYNC_PARAM = "updated_since"


@dataclass
class _Reads:
    """The routing state of one request: may it read from the replica (`replica`; whether
    the replica answers is found out at the first read, `checked`), has it written."""

    replica: bool = False
    checked: bool = False
    pinned: bool = False


_state: ContextVar[_Reads | None] = ContextVar("db_reads", default=None)
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA_ALIAS in connections.settings


@contextmanager
def public_reads() -> Iterator[_Reads]:
    """Within the block, reads go to the replica until the first write (then the primary)."""
    reads = _Reads(replica=replica_configured())
    token = _state.set(reads)
    try:
        yield reads
    finally:
        _state.reset(token)


def pin_to_primary() -> None:
    """Send the rest of the current request's reads to the primary."""
    reads = _state.get()
    if reads is not None:
        reads.pinned = True


def _reads_replica() -> bool:
    reads = _state.get()
    if reads is None or not reads.replica or reads.pinned:
        return False
    # A transaction on the primary reads what it wrote, whatever wrote it.
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    if not reads.checked:
        # At the first read, not before: an answer from a cache or a 304 opens no connection.
        reads.replica = _replica_reachable()
        reads.checked = True
    return reads.replica


class PrimaryReplicaRouter:
    """Reads per the module's rules; every write, and every migration, on the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return REPLICA_ALIAS if _reads_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        pin_to_primary()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The replica holds the primary's rows: an object read there relates to one here.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # The replica follows the primary's schema by replication.
        return db != REPLICA_ALIAS


def _replica_reachable() -> bool:
    """Whether to try the replica: connect now (the request would anyway) unless it failed
    within the last REPLICA_RETRY_SECONDS."""
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    try:
        connections[REPLICA_ALIAS].ensure_connection()
    except DatabaseError:
        _replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        logger.warning(
            "read replica unreachable; public reads go to the primary for %ds",
            REPLICA_RETRY_SECONDS,
            exc_info=True,
        )
        return False
    return True


def wants_replica(request: HttpRequest, view_func: Callable[..., Any]) -> bool:
    """Whether `request` to `view_func` is a public read (see the module's docstring)."""
    view = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return bool(
        getattr(view, "replica_reads", False)
        and request.method in _READ_METHODS
        and "authorization" not in request.headers
        and SYNC_PARAM not in request.GET
    )


class ReplicaReadsMiddleware:
    """Marks public reads for the router (before `AtomicWritesMiddleware`, which calls the
    view from its `process_view`); a no-op without a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _state.set(_Reads())
        try:
            return self.get_response(request)
        finally:
            _state.reset(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        reads = _state.get()
        if reads is not None and replica_configured() and wants_replica(request, view_func):
            reads.replica = True
