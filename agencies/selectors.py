"""Every read of agencies, and the one place that decides which agencies a staff member
may see and act for (DESIGN's ranked roles)."""

from django.db.models import Q, QuerySet

from agencies.models import Agency, StaffMembership


def subtree(agency: Agency) -> QuerySet[Agency]:
    """The agency and everything below it (one indexed prefix query)."""
    return Agency.objects.filter(path__startswith=agency.path)


def agencies_in_scope(user) -> QuerySet[Agency]:  # type: ignore[no-untyped-def]
    """Agencies whose items `user` may see and act on.

    officer → their own agency; manager and admin → their agency's subtree; superuser → all;
    anyone else → none.
    """
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if user.is_superuser:
        return Agency.objects.all()
    condition = Q()
    for membership in StaffMembership.objects.filter(user=user).select_related("agency"):
        if membership.role == StaffMembership.Role.OFFICER:
            condition |= Q(pk=membership.agency_id)
        else:
            condition |= Q(path__startswith=membership.agency.path)
    if not condition:
        return Agency.objects.none()
    return Agency.objects.filter(condition)


def rank_for(user, agency: Agency) -> int:  # type: ignore[no-untyped-def]
    """The highest rank `user` holds over `agency` (0 when none); superusers rank above all."""
    if user.is_superuser:
        return 99
    best = 0
    for membership in StaffMembership.objects.filter(user=user).select_related("agency"):
        covers = membership.agency_id == agency.pk or (
            membership.role != StaffMembership.Role.OFFICER
            and agency.path.startswith(membership.agency.path)
        )
        if covers:
            best = max(best, membership.rank)
    return best


def is_staff_member(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(user.is_authenticated and (user.is_superuser or user.memberships.exists()))
