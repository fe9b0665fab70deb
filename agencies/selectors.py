"""Every read of agencies, and the one place that decides which agencies a staff member
may see and act for (DESIGN's ranked roles)."""

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from agencies.models import AdministrativeUnit, Agency, StaffMembership

# Above any PositiveIntegerField value, so `level rank * bound + code` orders like
# (level, code).
_CODE_BOUND = 10**10


def administrative_units() -> QuerySet[AdministrativeUnit]:
    """All units with `sort_key`, a single unique integer ordering like (level, code).

    Cursor pagination positions on one column only; ordering on `level` alone would leave
    3,321 communes tied and push the cursor past DRF's offset cap.
    """
    ranks = [
        When(level=level, then=Value(rank * _CODE_BOUND))
        for rank, level in enumerate(sorted(AdministrativeUnit.Level.values))
    ]
    sort_key = ExpressionWrapper(
        Case(*ranks, output_field=BigIntegerField()) + F("code"), output_field=BigIntegerField()
    )
    return AdministrativeUnit.objects.select_related("parent").annotate(sort_key=sort_key)


def public_agencies() -> QuerySet[Agency]:
    """Active agencies, as anyone may list them, with their administrative unit joined."""
    return Agency.objects.filter(is_active=True).select_related("administrative_unit")


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
    # One lazy queryset, no query of its own: used as `agency__in=` it becomes a subquery, so
    # a scoped list or detail costs no extra round trip for the caller's memberships.
    memberships = StaffMembership.objects.filter(user=user)
    above = (
        memberships.exclude(role=StaffMembership.Role.OFFICER)
        .annotate(candidate_path=ExpressionWrapper(OuterRef("path"), output_field=CharField()))
        .filter(candidate_path__startswith=F("agency__path"))
    )
    return Agency.objects.filter(Q(pk__in=memberships.values("agency_id")) | Exists(above))


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
