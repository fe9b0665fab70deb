"""Every read of agencies, and the one place that decides which agencies a staff member
may see and act for (DESIGN's ranked roles)."""

from typing import Any

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
from common import refcache

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
    scope = _scope(user)
    if scope is None:
        return Agency.objects.all()
    own, subtrees = scope
    if not own:
        return Agency.objects.none()
    # The caller's memberships are read first (once per user object) and the agencies
    # become a plain filter on their ids and subtree paths. A correlated "is any membership's
    # path a prefix of this agency's" subquery saved that round trip, but PostgreSQL ran it
    # once per agency row, each scanning the agencies again: 20 ms of every scoped list with
    # 243 agencies, growing with the square of the tree.
    condition = Q(pk__in=own)
    for path in subtrees:
        condition |= Q(path__startswith=path)
    return Agency.objects.filter(condition)


def _scope(user) -> tuple[frozenset[Any], tuple[str, ...]] | None:  # type: ignore[no-untyped-def]
    """None for every agency (a superuser); else the ids of the agencies `user` holds a
    membership in and the paths of those held above the officer rank, whose subtrees are in
    scope: both empty for anyone not acting as staff."""
    if not user.is_authenticated or not user.is_active:
        return frozenset(), ()
    if user.is_superuser:
        return None
    if not user.is_staff:
        # Memberships count only for staff (and not for one without their second factor).
        return frozenset(), ()
    cached = getattr(user, "_memberships_in_scope", None)
    if cached is None:
        rows = list(
            StaffMembership.objects.filter(user=user).values_list(
                "agency_id", "role", "agency__path"
            )
        )
        own = frozenset(agency_id for agency_id, _role, _path in rows)
        subtrees = tuple(
            sorted({path for _id, role, path in rows if role != StaffMembership.Role.OFFICER})
        )
        cached = (own, subtrees)
        user._memberships_in_scope = cached
    return cached  # type: ignore[no-any-return]


def agency_ids_in_scope(user) -> frozenset[Any]:  # type: ignore[no-untyped-def]
    """Ids of `agencies_in_scope(user)`, computed once per user object: the answer to "does
    this staff member act for that agency", asked many times while one request runs."""
    cached = getattr(user, "_agency_ids_in_scope", None)
    if cached is None:
        cached = frozenset(agencies_in_scope(user).values_list("pk", flat=True))
        user._agency_ids_in_scope = cached
    return cached  # type: ignore[no-any-return]


def acts_for(user, agency_id: Any, path: str | None = None) -> bool:  # type: ignore[no-untyped-def]
    """Whether `user` acts for the agency as staff (a superuser acts for every agency).
    With the agency's `path` at hand, a manager's subtree is checked without a query."""
    if user.is_superuser:
        return True
    scope = _scope(user)
    if scope is None:
        return True
    own, subtrees = scope
    if agency_id in own:
        return True
    if not subtrees:
        return False
    if path is not None:
        return any(path.startswith(prefix) for prefix in subtrees)
    return agency_id in agency_ids_in_scope(user)


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


def agencies_administered_by(user) -> QuerySet[Agency]:  # type: ignore[no-untyped-def]
    """Agencies where `user` holds the admin rank: the subtrees of their admin memberships
    (every agency for a superuser). Memberships and agencies are managed only here."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if user.is_superuser:
        return Agency.objects.all()
    above = (
        StaffMembership.objects.filter(user=user, role=StaffMembership.Role.ADMIN)
        .annotate(candidate_path=ExpressionWrapper(OuterRef("path"), output_field=CharField()))
        .filter(candidate_path__startswith=F("agency__path"))
    )
    return Agency.objects.filter(Exists(above))


def memberships_administered_by(user) -> QuerySet[StaffMembership]:  # type: ignore[no-untyped-def]
    """Staff memberships of the agencies `user` administers, with user and agency joined."""
    memberships = StaffMembership.objects.select_related("user", "agency")
    if user.is_authenticated and user.is_active and user.is_superuser:
        return memberships
    return memberships.filter(agency__in=agencies_administered_by(user))


def staff_administered_by(user):  # type: ignore[no-untyped-def]
    """Accounts `user` may look at in the admin: everyone for a superuser; for an agency
    admin, the people holding a membership in an agency they administer (never citizens)."""
    from django.contrib.auth import get_user_model

    users = get_user_model()._default_manager.all()
    if user.is_authenticated and user.is_active and user.is_superuser:
        return users
    held_here = StaffMembership.objects.filter(
        user=OuterRef("pk"), agency__in=agencies_administered_by(user)
    )
    return users.filter(Exists(held_here))


def administrative_units_administered_by(user) -> QuerySet[AdministrativeUnit]:  # type: ignore[no-untyped-def]
    """Units a new agency of `user`'s subtree may serve: the units of the agencies they
    administer and the communes of those units (every unit for a superuser)."""
    if user.is_authenticated and user.is_active and user.is_superuser:
        return AdministrativeUnit.objects.all()
    units = agencies_administered_by(user).exclude(administrative_unit=None)
    unit_ids = units.values("administrative_unit_id")
    return AdministrativeUnit.objects.filter(Q(pk__in=unit_ids) | Q(parent_id__in=unit_ids))


def staff_covering(agency: Agency) -> set[Any]:
    """Ids of the users whose scope takes in `agency`: its own members, and the managers and
    admins of it or of any agency above it (the mirror of `agencies_in_scope`)."""
    memberships = StaffMembership.objects.filter(
        Q(agency_id=agency.pk)
        | (Q(agency_id__in=agency.lineage_ids) & ~Q(role=StaffMembership.Role.OFFICER))
    )
    return set(memberships.values_list("user_id", flat=True))


def province_tree_root(agency: Agency) -> Agency:
    """The provincial agency above `agency` (or itself), where forwarding stays; a ministry
    (or an agency with no province above) is its own root."""
    if agency.level == Agency.Level.MINISTRY:
        return agency
    province = Agency.objects.filter(pk__in=agency.lineage_ids, level=Agency.Level.PROVINCE).first()
    return province or agency


def serving_agency(commune: AdministrativeUnit, level: str) -> Agency | None:
    """The active agency of `level` that serves `commune`: the ministry (the root) for
    `ministry`; the commune's office for `commune`, or where it has none the province's
    board; the province's board for `province`. From the process's reference cache
    (common.refcache): every create asks it."""
    return refcache.cached(
        "agencies.serving",
        (commune.pk, commune.parent_id, level),
        lambda: _serving_agency(commune, level),
    )


refcache.forget_on_change("agencies.serving", Agency, AdministrativeUnit)


def commune_by_code(code: int) -> AdministrativeUnit | None:
    """The commune of `code` (reference data), from the process's reference cache."""
    return refcache.cached(
        "agencies.commune",
        code,
        lambda: AdministrativeUnit.objects.filter(
            level=AdministrativeUnit.Level.COMMUNE, code=code
        ).first(),
    )


refcache.forget_on_change("agencies.commune", AdministrativeUnit)


def _serving_agency(commune: AdministrativeUnit, level: str) -> Agency | None:
    active = Agency.objects.filter(is_active=True)
    if level == Agency.Level.MINISTRY:
        return active.filter(level=Agency.Level.MINISTRY).order_by("path").first()
    if level == Agency.Level.COMMUNE:
        office = active.filter(level=Agency.Level.COMMUNE, administrative_unit=commune).first()
        if office:
            return office
    return active.filter(
        level=Agency.Level.PROVINCE, administrative_unit_id=commune.parent_id
    ).first()


def nearby_agencies(agency: Agency) -> QuerySet[Agency]:
    """Active agencies an item of `agency` may be forwarded to: those above it and those in
    its province's tree (below a ministry: its whole subtree), not itself."""
    return (
        Agency.objects.filter(is_active=True)
        .filter(Q(pk__in=agency.lineage_ids) | Q(path__startswith=province_tree_root(agency).path))
        .exclude(pk=agency.pk)
        .order_by("path")
    )
