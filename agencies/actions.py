"""Every write to administrative units and the agency tree."""

import json
from importlib import resources
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import AdministrativeUnit, Agency
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
) -> None:
    to_create: list[AdministrativeUnit] = []
    to_update: list[AdministrativeUnit] = []
    for row in rows:
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
def load_administrative_units() -> dict[str, int]:
    """Create or update the 34 provinces and 3,321 communes shipped by `vietnam-provinces`.

    Idempotent: a unit whose data already matches is left alone, so a second run reports
    only `unchanged`. Units missing from the package are kept, because dossiers, feedback
    and agencies point at them (PROTECT). Returns `{"created", "updated", "unchanged"}`.
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
