"""Who may do what to a case: the one place the API, the admin and tasks ask.

Seeing a case is decided by the scoped selectors (`cases_visible_to`, `cases_actionable_by`
below, wrapped by each app's selectors): a case outside them is a 404. Acting on a case
is `may_act`: staff act on cases routed to an agency in their scope, the owner on their own.
"""

from typing import Any

from django.db.models import Q, QuerySet

from agencies.selectors import acts_for, agencies_in_scope
from common import audit

STAFF = "staff"
OWNER = "owner"


def handles(user: Any, case: Any) -> bool:
    """Whether `user` handles `case` as staff: its agency is in their scope (superuser: all).
    Handlers see internal notes."""
    # The agency's path, when the case came with its agency, spares a manager's scope query.
    agency = case._state.fields_cache.get("agency")
    return acts_for(user, case.agency_id, agency.path if agency is not None else None)


def is_owner(user: Any, case: Any) -> bool:
    return bool(user.pk is not None and case.owner_id == user.pk)


def may_act(user: Any, case: Any, actor: str) -> bool:
    """Whether `user` may take an action whose actor is `actor` (`STAFF` or `OWNER`).

    Nobody acts as staff on a case they own (separation of duties): an officer who filed a
    dossier as a citizen does not receive, approve or return it. One they filed at the
    counter for someone else is not theirs and stays theirs to handle.
    """
    if actor == OWNER:
        return is_owner(user, case)
    return handles(user, case) and not is_owner(user, case)


def cases_visible_to(user: Any, cases: QuerySet[Any], *, own: Q) -> QuerySet[Any]:
    """`cases` the user may see: those `own` matches (theirs as a citizen), plus those routed
    to an agency in their scope when they are staff; everything for a superuser."""
    if not user.is_authenticated or not user.is_active:
        return cases.none()
    if user.is_superuser:
        return cases
    condition = own
    if user.is_staff:
        condition |= Q(agency__in=agencies_in_scope(user))
    return cases.filter(condition)


def cases_actionable_by(user: Any, cases: QuerySet[Any]) -> QuerySet[Any]:
    """`cases` the user handles as staff (the admin's queues start here): all for a
    superuser, those routed to an agency in their scope for staff, none for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return cases.none()
    if user.is_superuser:
        return cases
    if not user.is_staff:
        return cases.none()
    return cases.filter(agency__in=agencies_in_scope(user))


def record_personal_data_read(user: Any, case: Any) -> None:
    """Log that `user` opened `case`'s personal data as staff; the owner's own reads are not
    logged. The caller has already scoped the read."""
    if not is_owner(user, case):
        audit.record(user, "view_personal_data", case, agency_id=case.agency_id)


def record_personal_data_list(user: Any, cases: list[Any], *, where: str) -> None:
    """Log, in one query, that `user` saw the personal data of `cases` in a list (the API's,
    the admin's, an export) as staff; their own cases are not logged."""
    others = [case for case in cases if not is_owner(user, case)]
    audit.record_many(user, "view_personal_data", others, details={"list": where})
