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
from django.contrib.admin import widgets
from django.http import HttpRequest, HttpResponse

from agencies.models import StaffMembership
from common import audit

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


# The URL parameters each kind of list filter writes, by the field it filters.
_FILTER_PARAMS = ("", "__exact", "__id__exact", "__isnull", "__gte", "__lt")
_HIERARCHY_PARAMS = ("__year", "__month", "__day")


class ExplicitLookupsMixin:
    """A changelist answers only the lookups its own filters and date hierarchy write.

    Django also lets a URL filter on any local field (`?author=<id>`, `?latitude__gt=0`):
    with personal data in the rows that turns the admin into a query tool (listing one
    citizen's anonymous feedback by their id). Anything else is a 400 (`extra_lookups` adds
    to the list; raw-id pop-ups keep the lookups their `limit_choices_to` needs).
    """

    extra_lookups: tuple[str, ...] = ()

    def allowed_lookups(self, request: HttpRequest | None) -> set[str]:
        admin_self: Any = self
        allowed = set(self.extra_lookups)
        filters = admin_self.get_list_filter(request) if request else admin_self.list_filter
        for spec in filters:
            field = spec if isinstance(spec, str) else spec[0] if isinstance(spec, tuple) else None
            if field:
                allowed.update(field + suffix for suffix in _FILTER_PARAMS)
            elif getattr(spec, "parameter_name", None):
                # A SimpleListFilter: its own parameter, which it reads itself.
                allowed.add(spec.parameter_name)
        if admin_self.date_hierarchy:
            allowed.update(admin_self.date_hierarchy + suffix for suffix in _HIERARCHY_PARAMS)
        return allowed

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup in self.allowed_lookups(request):
            return True
        admin_self: Any = self
        for fk_lookup in admin_self.model._meta.related_fkey_lookups:
            fk_lookup = fk_lookup() if callable(fk_lookup) else fk_lookup
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False


class RankScopedAdmin(ExplicitLookupsMixin, RankAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin opened by rank, answering only its own filters; subclasses scope
    `get_queryset` with a selector."""


class NoHandEditsMixin:
    """Nobody adds, edits or deletes these rows in the admin, superusers included: they are
    written by the actions and tasks they record. Put it before the admin's base class."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedListMixin:
    """Each page of the changelist is recorded as a read of the personal data its rows show,
    in one query. `audit_rows` says how; by default every row is an entry."""

    def audit_rows(self, request: HttpRequest, rows: list[Any]) -> None:
        audit.record_many(request.user, "view_personal_data", rows, details={"list": "admin"})

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            self.audit_rows(request, list(changelist.result_list))
        return response  # type: ignore[no-any-return]
