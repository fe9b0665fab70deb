"""Admin access from agency membership rank, for the operational models (dossiers, feedback,
agencies, memberships, the audit log).

Django's model permissions answer "may this person ever touch this kind of row"; here the
answer depends on the rank a staff member holds (officer < manager < admin), and which rows
they reach is the job of each admin's `get_queryset`, which must start from the same selector
as the API. Content that is national (the catalog, templates) keeps Django's permissions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from agencies.models import StaffMembership

OFFICER = StaffMembership.RANK[StaffMembership.Role.OFFICER]
MANAGER = StaffMembership.RANK[StaffMembership.Role.MANAGER]
ADMIN = StaffMembership.RANK[StaffMembership.Role.ADMIN]
SUPERUSER = 99


def highest_rank(request: HttpRequest) -> int:
    """The best rank the signed-in user holds anywhere (0 for none), once per request."""
    cached = getattr(request, "_highest_staff_rank", None)
    if cached is not None:
        return int(cached)
    user: Any = request.user
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        rank = 0
    elif user.is_superuser:
        rank = SUPERUSER
    else:
        roles = StaffMembership.objects.filter(user=user).values_list("role", flat=True)
        rank = max((StaffMembership.RANK[StaffMembership.Role(role)] for role in roles), default=0)
    request._highest_staff_rank = rank  # type: ignore[attr-defined]
    return rank


class RankAccessMixin:
    """`has_*_permission` from the user's highest rank; `None` closes the door for everyone
    but superusers (who may still be refused by a subclass, e.g. for adding dossiers)."""

    view_rank: int | None = OFFICER
    change_rank: int | None = None
    add_rank: int | None = None
    delete_rank: int | None = None

    @staticmethod
    def _reaches(request: HttpRequest, needed: int | None) -> bool:
        rank = highest_rank(request)
        return rank == SUPERUSER or (needed is not None and rank >= needed)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._reaches(request, self.view_rank)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._reaches(request, self.view_rank) or self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._reaches(request, self.change_rank)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._reaches(request, self.add_rank)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._reaches(request, self.delete_rank)


class RankScopedAdmin(RankAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin opened by rank; subclasses scope `get_queryset` with a selector."""
