"""Due-date reminders to staff: dossiers due soon or overdue, once per dossier and day."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from agencies import calendar
from agencies.models import StaffMembership
from services.actions.workflow import DOSSIERS
from services.models import (
    ServiceRequest,
)

Status = ServiceRequest.Status
OPEN_STATES = ServiceRequest.OPEN


# Dossiers whose clock runs: a supplement request stops it, a ready result ends it.
CLOCK_RUNNING = (Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS)


def _due_recipients(dossier: ServiceRequest, memberships: list[StaffMembership]) -> list[Any]:
    """The assignee (or, unassigned, the agency's own staff) and the managers above it."""
    chain = dossier.agency.path
    recipients: dict[Any, Any] = {}
    if dossier.assignee is not None and dossier.assignee.is_active:
        recipients[dossier.assignee.pk] = dossier.assignee
    for membership in memberships:
        user = membership.user
        if not user.is_active:
            continue
        own_agency = membership.agency_id == dossier.agency_id
        above = membership.role != StaffMembership.Role.OFFICER and chain.startswith(
            membership.agency.path
        )
        if (own_agency and dossier.assignee is None) or above:
            recipients[user.pk] = user
    return list(recipients.values())


def notify_due_dossiers(now: datetime | None = None) -> int:
    """Tell staff about dossiers due today or tomorrow (`due_soon`) or past due (`overdue`).

    Run daily in the morning (`services.tasks.notify_due_dossiers`). Each dossier notifies
    its assignee, or its agency's staff when unassigned, and the managers and admins of the
    agencies above it. Returns the number of notifications written.
    """
    now = now or timezone.now()
    today = timezone.localtime(now, calendar.LOCAL_TZ).date()
    horizon = datetime.combine(today + timedelta(days=2), datetime.min.time(), calendar.LOCAL_TZ)
    dossiers = list(
        ServiceRequest.objects.filter(
            status__in=CLOCK_RUNNING, due_at__isnull=False, due_at__lt=horizon
        ).select_related("service", "agency", "assignee")
    )
    agency_ids = {agency_id for d in dossiers for agency_id in d.agency.lineage_ids}
    memberships = list(
        StaffMembership.objects.filter(agency_id__in=agency_ids).select_related("user", "agency")
    )
    sent = 0
    for dossier in dossiers:
        if dossier.due_at is None:  # the query selects dossiers with a due date only
            continue
        kind = "service_request.overdue" if dossier.due_at < now else "service_request.due_soon"
        relevant = [m for m in memberships if dossier.agency.path.startswith(m.agency.path)]
        with transaction.atomic():
            for user in _due_recipients(dossier, relevant):
                DOSSIERS.notify(user, dossier, kind)
                sent += 1
    return sent


# The `SyncRemoval.kind` under which the catalog reports withdrawn services in `removed`.
