from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from agencies.actions import check_move, move_agency
from agencies.models import AdministrativeUnit, Agency, CalendarOverride, StaffMembership
from common.text import fold


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(admin.ModelAdmin):
    """Read-only: the official list comes from `manage.py load_administrative_units`."""

    list_display = ("name", "code", "level", "division_type", "parent")
    list_filter = ("level",)
    list_select_related = ("parent",)
    search_fields = ("search_name",)
    search_help_text = "Tên (có hoặc không dấu) hoặc mã"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AdministrativeUnit], search_term: str
    ) -> tuple[QuerySet[AdministrativeUnit], bool]:
        # Staff type names without diacritics on many keyboards; search the folded name.
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(search_name__contains=fold(term))
        if term.isdigit():
            condition |= Q(code=int(term))
        return queryset.filter(condition), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class AgencyAdminForm(forms.ModelForm):
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
        # Refuse a cycle here, as a form error on `parent`, rather than as a crash in save.
        if not self.instance._state.adding and "parent" in self.cleaned_data:
            try:
                check_move(self.instance, self.cleaned_data["parent"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return self.cleaned_data


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    form = AgencyAdminForm
    list_display = ("name", "code", "level", "parent", "administrative_unit", "is_active")
    list_filter = ("level", "is_active")
    list_select_related = ("parent", "administrative_unit")
    search_fields = ("name", "code")
    autocomplete_fields = ("parent", "administrative_unit")
    readonly_fields = ("path", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Agency, form: forms.ModelForm, change: bool):  # type: ignore[no-untyped-def]
        if not change or "parent" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        # A new parent re-paths the whole branch, which only move_agency does: save the other
        # fields under the old parent, then move. The admin wraps both in one transaction.
        new_parent = obj.parent
        obj.parent_id = form.initial.get("parent")
        super().save_model(request, obj, form, change)
        move_agency(obj, new_parent)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "agency", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("user", "agency")
    search_fields = ("user__phone", "user__full_name", "agency__name", "agency__code")
    raw_id_fields = ("user",)
    autocomplete_fields = ("agency",)


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working_day", "note")
    list_filter = ("is_working_day",)
    date_hierarchy = "date"
    search_fields = ("note",)
