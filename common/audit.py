"""The audit log: who did what to which object, and when.

Callers record inside the transaction of the change they describe, so an entry exists exactly
when the change does. Entries name objects by type and id rather than by foreign key: the log
outlives what it describes and never blocks a deletion.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import models

from common.models import AuditLogEntry


def _entry(
    actor: Any, action: str, obj: models.Model, agency_id: Any, details: dict[str, Any] | None
) -> AuditLogEntry:
    """An unsaved entry; the actor is None for the system or an anonymous request."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditLogEntry(
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        agency_id=agency_id,
        details=details or {},
    )


def record(
    actor: Any,
    action: str,
    obj: models.Model,
    *,
    agency_id: UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Write one audit entry: `actor` (a user, or None/anonymous for the system) did `action`
    to `obj`, on behalf of agency `agency_id` when there is one.

    `details` must be JSON-serialisable; keep personal data out of it (name fields, not
    their values), since the log is kept longer than the data it describes.
    """
    entry = _entry(actor, action, obj, agency_id, details)
    entry.save(force_insert=True)
    return entry


def record_many(
    actor: Any, action: str, objects: list[Any], *, details: dict[str, Any] | None = None
) -> int:
    """One entry per object (each on behalf of its `agency_id`), written in one query: for a
    list that shows personal data. Returns how many."""
    if not objects:
        return 0
    entries = [
        _entry(actor, action, obj, getattr(obj, "agency_id", None), details) for obj in objects
    ]
    AuditLogEntry.objects.bulk_create(entries)
    return len(entries)


def record_transition(actor: Any, action: str, obj: Any, from_status: str) -> AuditLogEntry:
    """Audit one state-machine action on an object with `status` and `agency_id`.

    Notes stay out of the log (they may hold personal data); only the states are kept.
    """
    return record(
        actor,
        action,
        obj,
        agency_id=obj.agency_id,
        details={"from_status": from_status, "to_status": obj.status},
    )
