"""Every write to administrative units and the agency tree."""

import json
from importlib import resources
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import AdministrativeUnit, Agency, StaffMembership
from agencies.selectors import administrative_units_administered_by, rank_for
from common.audit import record
from common.exceptions import Conflict, NotAllowed
from common.progress import Progress, quiet
from common.text import fold, squash_spaces

_UNIT_FIELDS = ("name", "division_type", "parent_id", "search_name")


def _read_package_divisions() -> list[dict[str, Any]]:
    source = resources.files("vietnam_provinces") / "data" / "nested-divisions.json"
    with source.open("r", encoding="utf-8") as handle:
        return json.load(handle)


def _sync_level(
    level: str,
    rows: list[dict[str, Any]],
    existing: dict[tuple[str, int], AdministrativeUnit],
    counts: dict[str, int],
    progress: Progress = quiet,
) -> None:
    to_create: list[AdministrativeUnit] = []
    to_update: list[AdministrativeUnit] = []
    for row in progress(rows, total=len(rows), desc=f"{level}s"):
        unit = existing.get((level, row["code"]))
        if unit is None:
            to_create.append(AdministrativeUnit(level=level, code=row["code"], **row["fields"]))
            continue
        changed = False
        for field in _UNIT_FIELDS:
            if getattr(unit, field) != row["fields"][field]:
                setattr(unit, field, row["fields"][field])
                changed = True
        if changed:
            to_update.append(unit)
    AdministrativeUnit.objects.bulk_create(to_create, batch_size=500)
    AdministrativeUnit.objects.bulk_update(to_update, _UNIT_FIELDS, batch_size=500)
    counts["created"] += len(to_create)
    counts["updated"] += len(to_update)
    counts["unchanged"] += len(rows) - len(to_create) - len(to_update)


def _unit_fields(raw: dict[str, Any], parent_id: int | None) -> dict[str, Any]:
    name = squash_spaces(raw["name"])
    return {
        "name": name,
        "division_type": squash_spaces(raw.get("division_type") or ""),
        "parent_id": parent_id,
        "search_name": fold(name),
    }


@transaction.atomic
def load_administrative_units(progress: Progress = quiet) -> dict[str, int]:
    """Create or update the 34 provinces and 3,321 communes shipped by `vietnam-provinces`.

    Idempotent: a unit whose data already matches is left alone, so a second run reports
    only `unchanged`. Units missing from the package are kept, because dossiers, feedback
    and agencies point at them (PROTECT). Returns `{"created", "updated", "unchanged"}`.
    `progress` wraps the loops over each level (a bar when run from a terminal).
    """
    provinces = _read_package_divisions()
    Level = AdministrativeUnit.Level
    existing = {(u.level, u.code): u for u in AdministrativeUnit.objects.all()}
    counts = {"created": 0, "updated": 0, "unchanged": 0}

    _sync_level(
        Level.PROVINCE,
        [{"code": p["code"], "fields": _unit_fields(p, None)} for p in provinces],
        existing,
        counts,
        progress,
    )
    # Communes need their province's surrogate id; one read covers fresh and old provinces
    # alike, whatever the database returns from bulk_create.
    province_ids = dict(
        AdministrativeUnit.objects.filter(level=Level.PROVINCE).values_list("code", "id")
    )
    _sync_level(
        Level.COMMUNE,
        [
            {"code": w["code"], "fields": _unit_fields(w, province_ids[p["code"]])}
            for p in provinces
            for w in p["wards"]
        ],
        existing,
        counts,
        progress,
    )
    return counts


def check_move(agency: Agency, new_parent: Agency | None) -> None:
    """Raise ValidationError when `new_parent` is `agency` itself or one of its descendants."""
    if new_parent is None:
        return
    if new_parent.pk == agency.pk or new_parent.path.startswith(agency.path):
        raise ValidationError(
            {"parent": _("An agency cannot be placed under itself or one of its own units.")},
            code="cycle",
        )


@transaction.atomic
def move_agency(agency: Agency, new_parent: Agency | None) -> Agency:
    """Place `agency` (and its whole branch) under `new_parent`, or at the root for None.

    Both rows are locked and their paths re-read under the lock, so two concurrent moves
    cannot together build a cycle. Descendants are re-pathed by one UPDATE that swaps the
    old path prefix for the new one. Raises ValidationError on a cycle.
    """
    ids = [agency.pk] + ([new_parent.pk] if new_parent is not None else [])
    # Lock in primary-key order so two moves of the same pair cannot deadlock.
    locked = {a.pk: a for a in Agency.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    current = locked[agency.pk]
    parent = locked[new_parent.pk] if new_parent is not None else None
    check_move(current, parent)

    old_path = current.path
    new_path = f"{parent.path if parent else ''}{current.id.hex}/"
    now = timezone.now()
    Agency.objects.filter(pk=current.pk).update(parent=parent, updated_at=now)
    if new_path != old_path:
        Agency.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            updated_at=now,
        )
    agency.parent = parent
    agency.path = new_path
    agency.updated_at = now
    return agency


def create_agency(
    *,
    code: str,
    name: str,
    level: str,
    parent: Agency | None = None,
    administrative_unit: AdministrativeUnit | None = None,
    address: str = "",
    phone: str = "",
    opening_hours: str = "",
    is_active: bool = True,
) -> Agency:
    """Create an agency under `parent` after the model's own validation."""
    agency = Agency(
        code=code,
        name=squash_spaces(name),
        level=level,
        parent=parent,
        administrative_unit=administrative_unit,
        address=address,
        phone=phone,
        opening_hours=opening_hours,
        is_active=is_active,
    )
    agency.path = agency.compute_path()
    agency.full_clean()
    agency.save()
    return agency


# -- the agency tree and staff memberships, by agency admins ---------------------------------
#
# DESIGN "Roles and scope": an admin manages the agencies and memberships of their subtree and
# grants at most their own rank. Each rule is checked here, by the function that makes the
# change, so the admin (or any later API) only gathers input and calls it.

_ADMIN_RANK = StaffMembership.RANK[StaffMembership.Role.ADMIN]

# Fields an agency admin may change on an agency of their subtree. The code, the level and
# the administrative unit decide how dossiers and feedback are routed: superusers only.
ADMIN_EDITABLE_AGENCY_FIELDS = ("name", "address", "phone", "opening_hours", "is_active")
SUPERUSER_EDITABLE_AGENCY_FIELDS = (
    *ADMIN_EDITABLE_AGENCY_FIELDS,
    "code",
    "level",
    "administrative_unit",
)


def _require_admin_over(actor: Any, agency: Agency) -> int:
    rank = rank_for(actor, agency)
    if rank < _ADMIN_RANK:
        raise NotAllowed(_("You do not administer %(agency)s.") % {"agency": agency.name})
    return rank


def _role_rank(role: str) -> int:
    try:
        return StaffMembership.RANK[StaffMembership.Role(role)]
    except ValueError:
        raise NotAllowed(_("Unknown role.")) from None


def check_add_agency(
    actor: Any, *, parent: Agency | None, administrative_unit: AdministrativeUnit | None
) -> None:
    """Raise NotAllowed unless `actor` may create an agency under `parent` serving
    `administrative_unit`: a root only for superusers, else admin rank over the parent and
    a unit of their own area."""
    if actor.is_superuser:
        return
    if parent is None:
        raise NotAllowed(_("Only a superuser can create a top-level agency."))
    _require_admin_over(actor, parent)
    if (
        administrative_unit is not None
        and not administrative_units_administered_by(actor)
        .filter(pk=administrative_unit.pk)
        .exists()
    ):
        raise NotAllowed(_("This administrative unit is outside your area."))


@transaction.atomic
def add_agency(actor: Any, *, parent: Agency | None, **fields: Any) -> Agency:
    """Create an agency under `parent` on behalf of `actor` (see `check_add_agency`) and
    audit it as `agency_created`. Other keyword arguments are those of `create_agency`."""
    check_add_agency(actor, parent=parent, administrative_unit=fields.get("administrative_unit"))
    agency = create_agency(parent=parent, **fields)
    record(
        actor,
        "agency_created",
        agency,
        agency_id=agency.pk,
        details={"parent": str(parent.pk) if parent else None, "level": agency.level},
    )
    return agency


def may_reposition(actor: Any, agency: Agency) -> bool:
    """Whether `actor` may move or deactivate `agency`: that is decided one level up, so an
    agency admin never moves or closes the top agency of their own subtree."""
    if actor.is_superuser:
        return True
    parent = agency.parent
    return parent is not None and rank_for(actor, parent) >= _ADMIN_RANK


def check_update_agency(actor: Any, agency: Agency, changes: dict[str, Any]) -> None:
    """Raise NotAllowed unless `actor` may apply `changes` (field → new value; `parent` for a
    move) to `agency`."""
    _require_admin_over(actor, agency)
    allowed = (
        SUPERUSER_EDITABLE_AGENCY_FIELDS if actor.is_superuser else ADMIN_EDITABLE_AGENCY_FIELDS
    )
    refused = sorted(set(changes) - set(allowed) - {"parent"})
    if refused:
        raise NotAllowed(
            _("You may not change these fields: %(fields)s.") % {"fields": ", ".join(refused)}
        )
    if ("parent" in changes or "is_active" in changes) and not may_reposition(actor, agency):
        raise NotAllowed(_("Only the administrators above this agency can move or deactivate it."))
    if "parent" in changes:
        new_parent = changes["parent"]
        if new_parent is None and not actor.is_superuser:
            raise NotAllowed(_("Only a superuser can make an agency top-level."))
        if new_parent is not None:
            _require_admin_over(actor, new_parent)


@transaction.atomic
def update_agency(actor: Any, agency: Agency, changes: dict[str, Any]) -> Agency:
    """Apply `changes` to `agency` for `actor` (see `check_update_agency`); a new `parent`
    goes through `move_agency`. Audited as `agency_changed` with the changed field names."""
    agency = (
        Agency.objects.select_for_update(of=("self",)).select_related("parent").get(pk=agency.pk)
    )
    changes = {
        name: value
        for name, value in changes.items()
        if (getattr(agency, "parent", None) if name == "parent" else getattr(agency, name)) != value
    }
    if not changes:
        return agency
    check_update_agency(actor, agency, changes)
    fields = {name: value for name, value in changes.items() if name != "parent"}
    if "name" in fields:
        fields["name"] = squash_spaces(fields["name"])
    for name, value in fields.items():
        setattr(agency, name, value)
    if fields:
        agency.full_clean(exclude=["parent"])
        agency.save(update_fields=[*fields, "updated_at"])
    details: dict[str, Any] = {"fields": sorted(changes)}
    if "parent" in changes:
        old_parent = agency.parent_id
        move_agency(agency, changes["parent"])
        details["from_parent"] = str(old_parent) if old_parent else None
        details["to_parent"] = str(agency.parent_id) if agency.parent_id else None
    record(actor, "agency_changed", agency, agency_id=agency.pk, details=details)
    return agency


def check_grant(actor: Any, *, user: Any, agency: Agency, role: str) -> None:
    """Raise NotAllowed unless `actor` may give `user` the `role` at `agency`: admin rank
    over the agency, a role no higher than that rank, and never to themselves."""
    role_rank = _role_rank(role)
    rank = _require_admin_over(actor, agency)
    if role_rank > rank:
        raise NotAllowed(_("You cannot grant a role above your own."))
    if user.pk == actor.pk and not actor.is_superuser:
        raise NotAllowed(_("You cannot change your own memberships."))


def check_membership_change(
    actor: Any, membership: StaffMembership, role: str | None = None
) -> None:
    """Raise NotAllowed unless `actor` may change (to `role`, when given) or revoke
    `membership`: admin rank over its agency, not above that rank now or after, not their own."""
    rank = _require_admin_over(actor, membership.agency)
    if membership.user_id == actor.pk and not actor.is_superuser:
        raise NotAllowed(_("You cannot change your own memberships."))
    if membership.rank > rank:
        raise NotAllowed(_("This membership ranks above yours."))
    if role is not None and _role_rank(role) > rank:
        raise NotAllowed(_("You cannot grant a role above your own."))


def _locked_membership(membership: StaffMembership) -> StaffMembership:
    return (
        StaffMembership.objects.select_for_update(of=("self",))
        .select_related("agency", "user")
        .get(pk=membership.pk)
    )


@transaction.atomic
def grant_membership(actor: Any, *, user: Any, agency: Agency, role: str) -> StaffMembership:
    """Give `user` the `role` at `agency` on behalf of `actor` (see `check_grant`).

    The person becomes staff (`is_staff`), which the admin site requires. Audited as
    `membership_granted`. A second membership at the same agency is a Conflict: change the
    existing one instead.
    """
    check_grant(actor, user=user, agency=agency, role=role)
    try:
        # A savepoint, so a concurrent grant's unique-constraint error leaves the outer
        # transaction usable for the Conflict.
        with transaction.atomic():
            membership = StaffMembership.objects.create(user=user, agency=agency, role=role)
    except IntegrityError:
        raise Conflict(
            _("This person already has a role at this agency; change that one instead."),
            code="membership_exists",
        ) from None
    if not user.is_staff:
        type(user)._default_manager.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    record(
        actor,
        "membership_granted",
        membership,
        agency_id=agency.pk,
        details={"user": str(user.pk), "role": role},
    )
    return membership


@transaction.atomic
def change_membership(actor: Any, membership: StaffMembership, *, role: str) -> StaffMembership:
    """Change the role of `membership` for `actor` (see `check_membership_change`), audited
    as `membership_changed` with both roles. Giving the same role changes nothing."""
    locked = _locked_membership(membership)
    check_membership_change(actor, locked, role)
    if locked.role == role:
        return locked
    from_role = locked.role
    locked.role = role
    locked.save(update_fields=["role", "updated_at"])
    record(
        actor,
        "membership_changed",
        locked,
        agency_id=locked.agency_id,
        details={"user": str(locked.user_id), "from_role": from_role, "to_role": role},
    )
    return locked


@transaction.atomic
def revoke_membership(actor: Any, membership: StaffMembership) -> None:
    """Remove `membership` for `actor` (see `check_membership_change`), audited as
    `membership_revoked`. A person left without memberships stops being staff, unless a
    superuser."""
    locked = _locked_membership(membership)
    check_membership_change(actor, locked)
    record(
        actor,
        "membership_revoked",
        locked,
        agency_id=locked.agency_id,
        details={"user": str(locked.user_id), "role": locked.role},
    )
    user = locked.user
    locked.delete()
    if not user.is_superuser and not StaffMembership.objects.filter(user=user).exists():
        type(user)._default_manager.filter(pk=user.pk).update(is_staff=False)
        user.is_staff = False
