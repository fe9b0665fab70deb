"""The agency tree, staff memberships and the working-day calendar in the staff admin.

Agencies and memberships open by membership rank (`agencies.admin_access`): every staff member
reads the agencies of their scope, agency admins manage the agencies and memberships of their
subtree. Every rule about who may change what lives in `agencies.actions`; the forms here run
the same checks early so a refusal shows as a form error, and saving calls the action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import BLANK_CHOICE_DASH, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agencies import actions
from agencies.admin_access import (
    ADMIN,
    OFFICER,
    NoHandEditsMixin,
    RankAccessMixin,
    RankScopedAdmin,
    highest_rank,
)
from agencies.models import AdministrativeUnit, Agency, CalendarOverride, StaffMembership
from agencies.selectors import (
    administrative_units_administered_by,
    agencies_administered_by,
    agencies_in_scope,
    memberships_administered_by,
    rank_for,
)
from common.exceptions import DomainError
from common.phones import normalize_phone
from common.text import fold


def _autocomplete_source(request: HttpRequest) -> tuple[str, str, str] | None:
    """(app, model, field) of the form an autocomplete request fills, else None."""
    if not request.path.endswith("/autocomplete/"):
        return None
    params = request.GET
    return (params.get("app_label", ""), params.get("model_name", ""), params.get("field_name", ""))


def _rank_over(request: HttpRequest, agency: Agency) -> int:
    """`rank_for` once per agency and request: the permission hooks ask several times."""
    cache: dict[Any, int] = request.__dict__.setdefault("_agency_ranks", {})
    if agency.pk not in cache:
        cache[agency.pk] = rank_for(request.user, agency)
    return cache[agency.pk]


def _refusal(error: DomainError) -> str:
    return str(error)


def _adopt(saved: models.Model, obj: models.Model) -> None:
    """Make the admin's unsaved `obj` the row an action saved, for the admin's log entry and
    redirect."""
    obj.__dict__.update({key: value for key, value in saved.__dict__.items() if key != "_state"})
    obj._state.adding = False
    obj._state.db = saved._state.db


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(NoHandEditsMixin, RankAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: the official list comes from `manage.py load_administrative_units`. Every
    staff member may read it (it is public, and the agency form picks a unit from it)."""

    view_rank = OFFICER
    list_display = ("name", "code", "level", "division_type", "parent")
    list_filter = ("level",)
    list_select_related = ("parent",)
    search_fields = ("search_name",)
    search_help_text = "Tên (có hoặc không dấu) hoặc mã"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AdministrativeUnit], search_term: str
    ) -> tuple[QuerySet[AdministrativeUnit], bool]:
        if _autocomplete_source(request) == ("agencies", "agency", "administrative_unit"):
            # A new agency serves a unit of its creator's own area.
            queryset = queryset.filter(
                pk__in=administrative_units_administered_by(request.user).values("pk")
            )
        # Staff type names without diacritics on many keyboards; search the folded name.
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(search_name__contains=fold(term))
        if term.isdigit():
            condition |= Q(code=int(term))
        return queryset.filter(condition), False


class AgencyAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    # The signed-in user, set by AgencyAdmin.get_form; None when the form is used on its own.
    actor: Any = None

    class Meta:
        model = Agency
        fields = (
            "code",
            "name",
            "level",
            "parent",
            "administrative_unit",
            "address",
            "phone",
            "opening_hours",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        adding = self.instance._state.adding
        # Refuse a cycle here, as a form error on `parent`, rather than as a crash in save.
        if not adding and "parent" in data:
            try:
                actions.check_move(self.instance, data["parent"])
            except ValidationError as exc:
                self.add_error(None, exc)
                return data
        if self.actor is None or self.errors:
            return data
        try:
            if adding:
                actions.check_add_agency(
                    self.actor,
                    parent=data.get("parent"),
                    administrative_unit=data.get("administrative_unit"),
                )
            else:
                changes = {name: data[name] for name in self.changed_data if name in data}
                actions.check_update_agency(self.actor, self.instance, changes)
        except DomainError as exc:
            self.add_error(None, _refusal(exc))
        return data


@admin.register(Agency)
class AgencyAdmin(RankScopedAdmin):
    """Staff read the agencies of their scope; agency admins add agencies under their
    subtree, edit their contact details, and move or deactivate those below their own top
    agency. Roots, codes, levels and units are for superusers."""

    form = AgencyAdminForm
    view_rank = OFFICER
    add_rank = ADMIN
    change_rank = ADMIN
    delete_rank = None
    list_display = ("name", "code", "level", "parent", "administrative_unit", "is_active")
    list_filter = ("level", "is_active")
    list_select_related = ("parent", "administrative_unit")
    search_fields = ("name", "code")
    autocomplete_fields = ("parent", "administrative_unit")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agency]:
        agencies = super().get_queryset(request)
        if request.user.is_superuser:
            return agencies
        return agencies.filter(pk__in=agencies_in_scope(request.user).values("pk"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Agency], search_term: str
    ) -> tuple[QuerySet[Agency], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if _autocomplete_source(request) in {
            ("agencies", "agency", "parent"),
            ("agencies", "staffmembership", "agency"),
        }:
            # Picking a parent or a membership's agency: only agencies the user administers.
            queryset = queryset.filter(pk__in=agencies_administered_by(request.user).values("pk"))
        return queryset, may_have_duplicates

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or _rank_over(request, obj) >= ADMIN

    def _may_reposition(self, request: HttpRequest, obj: Agency | None) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return obj.parent is not None and _rank_over(request, obj.parent) >= ADMIN

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The parent of an agency the user may not move is shown as plain text: a link would
        # lead to an agency outside their scope.
        parent = "parent" if self._may_reposition(request, obj) else "parent_name"
        return (
            "code",
            "name",
            "level",
            parent,
            "administrative_unit",
            "address",
            "phone",
            "opening_hours",
            "is_active",
            "path",
            "created_at",
            "updated_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["path", "created_at", "updated_at", "parent_name"]
        if obj is not None and not request.user.is_superuser:
            readonly += [
                name
                for name in actions.SUPERUSER_EDITABLE_AGENCY_FIELDS
                if name not in actions.ADMIN_EDITABLE_AGENCY_FIELDS
            ]
            if not self._may_reposition(request, obj):
                readonly.append("is_active")
        return readonly

    @admin.display(description=Agency._meta.get_field("parent").verbose_name)
    def parent_name(self, obj: Agency) -> str:
        return obj.parent.name if obj.parent_id and obj.parent else "—"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form: Any = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user
        if not request.user.is_superuser and "parent" in form.base_fields:
            # Only superusers create roots or make an agency top-level.
            form.base_fields["parent"].required = True
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "parent":
            kwargs["queryset"] = agencies_administered_by(request.user)
        elif db_field.name == "administrative_unit":
            kwargs["queryset"] = administrative_units_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                changes = {name: data[name] for name in form.changed_data if name in data}
                saved = actions.update_agency(request.user, obj, changes)
            else:
                fields = {name: data[name] for name in form.fields if name != "parent"}
                saved = actions.add_agency(request.user, parent=data.get("parent"), **fields)
        except DomainError as exc:
            # The form ran the same checks; only a concurrent change of rights ends here.
            raise PermissionDenied(_refusal(exc)) from exc
        _adopt(saved, obj)


class MembershipAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """A new membership. The person is named by the exact phone number of their account:
    agency admins never browse the list of citizens to pick one."""

    actor: Any = None
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        help_text=_(
            "The phone number of the person's account, in any format (e.g. 0912 345 678). "
            "The person must have registered in the app."
        ),
    )

    class Meta:
        model = StaffMembership
        fields = ("agency", "role")

    def clean_phone(self) -> str:
        normalized = normalize_phone(self.cleaned_data["phone"])
        if normalized is None:
            raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
        user = get_user_model().objects.filter(phone=normalized, is_active=True).first()
        if user is None:
            raise ValidationError(
                _("No active account uses this phone number."), code="unknown_phone"
            )
        self.instance.user = user
        return normalized

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors or self.actor is None:
            return data
        user, agency = self.instance.user, data["agency"]
        if StaffMembership.objects.filter(user=user, agency=agency).exists():
            self.add_error(
                None,
                _("This person already has a role at this agency; change that one instead."),
            )
            return data
        try:
            actions.check_grant(self.actor, user=user, agency=agency, role=data["role"])
        except DomainError as exc:
            self.add_error(None, _refusal(exc))
        return data


class MembershipChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    actor: Any = None

    class Meta:
        model = StaffMembership
        fields = ("role",)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors or self.actor is None:
            return data
        try:
            actions.check_membership_change(self.actor, self.instance, data["role"])
        except DomainError as exc:
            self.add_error(None, _refusal(exc))
        return data


@admin.register(StaffMembership)
class StaffMembershipAdmin(RankScopedAdmin):
    """Agency admins manage the memberships of their subtree, up to their own rank, never
    their own; each change goes through `agencies.actions` and into the audit log."""

    view_rank = ADMIN
    add_rank = ADMIN
    change_rank = ADMIN
    delete_rank = ADMIN
    form = MembershipChangeForm
    add_form = MembershipAddForm
    list_display = ("user", "agency", "role", "created_at")
    list_filter = ("role", ("agency", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "agency")
    search_fields = ("user__full_name", "agency__name", "agency__code")
    search_help_text = _("Name, phone number or agency")
    ordering = ("agency__path", "user__full_name")
    autocomplete_fields = ("agency",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffMembership]:
        memberships = memberships_administered_by(request.user)
        return memberships.order_by(*(self.get_ordering(request) or ()))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StaffMembership], search_term: str
    ) -> tuple[QuerySet[StaffMembership], bool]:
        unsearched = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Phones are stored E.164; staff type them as people say them.
        normalized = normalize_phone(search_term)
        if normalized:
            queryset = queryset | unsearched.filter(user__phone=normalized)
        return queryset, may_have_duplicates

    def get_actions(self, request: HttpRequest) -> Any:
        # The bulk delete would bypass revoke_membership (its checks, audit and is_staff).
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found

    def _may_touch(self, request: HttpRequest, obj: StaffMembership) -> bool:
        cache: dict[Any, bool] = request.__dict__.setdefault("_membership_access", {})
        if obj.pk not in cache:
            try:
                actions.check_membership_change(request.user, obj)
            except DomainError:
                cache[obj.pk] = False
            else:
                cache[obj.pk] = True
        return cache[obj.pk]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or self._may_touch(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or self._may_touch(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("phone", "agency", "role")
        return ("user", "agency", "role", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A membership moves to another agency by revoking it and granting a new one.
        return () if obj is None else ("user", "agency", "created_at", "updated_at")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        form: Any = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "agency":
            kwargs["queryset"] = agencies_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "role":
            # Only the roles the user may grant; a forged higher one fails the choice check.
            rank = highest_rank(request)
            # A blank first entry, so nobody grants a role by leaving the default.
            kwargs["choices"] = BLANK_CHOICE_DASH + [
                (value, label)
                for value, label in StaffMembership.Role.choices
                if StaffMembership.RANK[StaffMembership.Role(value)] <= rank
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: StaffMembership, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        try:
            if change:
                saved = actions.change_membership(request.user, obj, role=data["role"])
            else:
                saved = actions.grant_membership(
                    request.user, user=obj.user, agency=data["agency"], role=data["role"]
                )
        except DomainError as exc:
            # The form ran the same checks; only a concurrent change of rights ends here.
            raise PermissionDenied(_refusal(exc)) from exc
        _adopt(saved, obj)

    def delete_model(self, request: HttpRequest, obj: StaffMembership) -> None:
        try:
            actions.revoke_membership(request.user, obj)
        except DomainError as exc:
            raise PermissionDenied(_refusal(exc)) from exc

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StaffMembership]) -> None:
        for membership in queryset:
            self.delete_model(request, membership)


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """National working-day overrides (compensatory Saturdays, extra days off). Every staff
    member reads them (deadlines depend on them); writing them is a national decision, so it
    takes Django's model permissions (or a superuser), not an agency rank."""

    list_display = ("date", "is_working_day", "note")
    list_filter = ("is_working_day",)
    date_hierarchy = "date"
    search_fields = ("note",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return highest_rank(request) >= OFFICER or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return highest_rank(request) >= OFFICER or super().has_view_permission(request, obj)
