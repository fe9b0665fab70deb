"""Incremental sync of the lists a phone keeps: `?updated_since=`, `removed`, `server_time`.

A phone keeps a replica of a list (its dossiers, its inbox, the catalog) and asks only for what
changed: `?updated_since=<the server_time of its last sync>`. The answer holds the items whose
`updated_at` is strictly later, oldest first, plus `removed` (ids that left the caller's view
since then) and `server_time`, the value to send next time.

Why `server_time` is "now minus a safety margin", fixed when a sync walk starts
-------------------------------------------------------------------------------
`updated_at` (and `SyncRemoval.removed_at`) is stamped by the app when a row is saved, but the
row becomes visible only when its transaction commits, a little later. Were `server_time` the
newest `updated_at` a phone has seen, a transaction stamped earlier and committed after that
sync would stay invisible forever. Instead, with `margin` longer than any transaction that
stamps rows (the web worker's timeout is 30 s; the default margin is 60 s) plus the clock skew
between app servers:

* a row committed at `c` carries a stamp `t > c - margin`;
* a walk whose first page is served at `r` answers `server_time = r - margin` on every page
  (the value rides in the cursor);
* a row stamped after `updated_since` and committed before `r` is visible to every page of
  the walk, so the keyset walk over `(updated_at, pk)` delivers it (or a newer version of it;
  committed after `r`, that one carries a stamp later than `r - margin`); a removal stamped
  after `updated_since` and committed before `r` is in `removed` on the first page;
* a row or removal committed after `r` carries a stamp later than `r - margin`, so the next
  sync, from that `server_time`, returns it.

So a phone that always sends back the `server_time` of its last completed walk misses nothing;
what it may see twice are items stamped within the margin, which it simply overwrites.

Removals are remembered for `SYNC_REMOVAL_HORIZON_DAYS` (90) and then pruned, so that the
table stays bounded. A phone whose `updated_since` is older than that may have missed a
removal: its walk brings every item in its view, flagged `full_resync: true` on every page,
and the phone keeps only what the walk brought (`past_horizon`).
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework.exceptions import ErrorDetail, ValidationError

from common.housekeeping import delete_in_batches
from common.models import SyncRemoval

UPDATED_SINCE_PARAM = "updated_since"


def safety_margin() -> timedelta:
    """How far `server_time` trails the clock: longer than any transaction that stamps rows."""
    return timedelta(seconds=getattr(settings, "SYNC_SAFETY_MARGIN_SECONDS", 60))


def horizon() -> timedelta:
    """How long a removal is remembered (`SyncRemoval` rows older than this are pruned)."""
    return timedelta(days=getattr(settings, "SYNC_REMOVAL_HORIZON_DAYS", 90))


def server_time() -> datetime:
    """The `updated_since` a phone may send next, for a walk starting now."""
    return timezone.now() - safety_margin()


def parse_aware(text: str) -> datetime | None:
    """`text` as an aware date-time; None when malformed, without offset or off the calendar."""
    try:
        value = parse_datetime(text)
        if value is None or timezone.is_naive(value):
            return None
        # Both ends of the calendar overflow once moved to UTC for a query. In UTC, too,
        # because PostgreSQL refuses offsets past ±15:59 that ISO 8601 and Python allow.
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value


def parse_updated_since(raw: str) -> datetime:
    """An ISO 8601 date-time with a UTC offset (`Z` or `±hh:mm`), else a 400 on `updated_since`.

    A time without an offset is refused rather than guessed: a phone's local time and the
    server's differ, and a wrong guess would hide hours of changes.
    """
    text = raw.strip()
    # An unencoded `+` in a query string arrives as a space: `…T10:00:00 07:00`.
    if "T" in text and text.count(" ") == 1 and "+" not in text:
        text = text.replace(" ", "+")
    value = parse_aware(text)
    if value is not None:
        return value
    if _is_naive(text):
        message = _("Add a UTC offset (Z or +07:00): a time without one is ambiguous.")
    else:
        message = _(
            "Enter an ISO 8601 date-time with a UTC offset, e.g. 2026-05-01T08:30:00+07:00."
        )
    raise ValidationError({UPDATED_SINCE_PARAM: [ErrorDetail(message, code="invalid")]})


def _is_naive(text: str) -> bool:
    try:
        value = parse_datetime(text)
    except ValueError:
        return False
    return value is not None and timezone.is_naive(value)


def updated_since(request: Any) -> datetime | None:
    """The parsed `?updated_since=` of `request`, or None when it asks for the plain list."""
    raw = request.query_params.get(UPDATED_SINCE_PARAM)
    if raw is None or not raw.strip():
        return None
    return parse_updated_since(raw)


def record_removal(kind: str, object_id: Any, user: Any = None) -> SyncRemoval:
    """Note that an item left someone's view, so their next sync reports it in `removed`.

    `object_id` is the id the API shows for the item (`str(pk)`, or the code of a service);
    `user` (a user or a user id) None means the item left everyone's view. Call it inside the
    transaction that removes the item, so the note and the change commit together.
    """
    user_id = getattr(user, "pk", user)
    return SyncRemoval.objects.create(kind=kind, object_id=str(object_id), user_id=user_id)


def record_scope_loss(
    kind: str, object_id: Any, lost_by: Iterable[Any], keep: Iterable[Any] = ()
) -> None:
    """Note a removal for each user id in `lost_by` but not in `keep` (e.g. the staff of an
    agency a dossier was forwarded away from, minus its applicant)."""
    kept = set(keep)
    SyncRemoval.objects.bulk_create(
        SyncRemoval(kind=kind, object_id=str(object_id), user_id=user_id)
        for user_id in sorted(set(lost_by) - kept, key=str)
    )


def removed_since(kind: str, since: datetime, user: Any) -> list[str]:
    """Ids of `kind` that left `user`'s view (or everyone's) after `since`, oldest first."""
    audience = Q(user__isnull=True)
    if user is not None and user.is_authenticated:
        audience |= Q(user=user)
    ids = (
        SyncRemoval.objects.filter(audience, kind=kind, removed_at__gt=since)
        .order_by("removed_at", "id")
        .values_list("object_id", flat=True)
    )
    return list(dict.fromkeys(ids))


def past_horizon(since: datetime, walk_server_time: datetime) -> bool:
    """Whether removals after `since` may have been pruned before the walk whose
    `server_time` is `walk_server_time` started. Then the walk answers every item in view
    with `full_resync: true`, and the phone drops whatever that walk did not bring.

    The walk started at `walk_server_time + margin`; a prune up to then deleted only removals
    stamped before `start - horizon - margin` (`prune_removals`).
    """
    return since < walk_server_time + safety_margin() - horizon()


def prune_removals() -> int:
    """Delete removals older than the horizon (and the margin); returns how many."""
    cutoff = timezone.now() - horizon() - safety_margin()
    return delete_in_batches(SyncRemoval.objects.filter(removed_at__lt=cutoff))
