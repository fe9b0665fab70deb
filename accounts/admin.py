from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts import actions
from accounts.models import User
from agencies.admin_access import ADMIN, ExplicitLookupsMixin, RankAccessMixin
from agencies.models import StaffMembership
from agencies.selectors import memberships_administered_by, staff_administered_by
from common.i18n import language_choices
from common.phones import normalize_phone


def _clean_phone(form: forms.ModelForm) -> str:
    raw = form.cleaned_data.get("phone", "")
    normalized = normalize_phone(raw)
    if normalized is None:
        raise forms.ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    # Stored as E.164 so the unique check sees `0912…` and `+84912…` as one number.
    return normalized


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("phone", "full_name")
        field_classes = {}

    def clean_phone(self) -> str:
        return _clean_phone(self)


class UserChangeForm(DjangoUserChangeForm):
    preferred_language = forms.ChoiceField(
        label=User._meta.get_field("preferred_language").verbose_name,
        # A callable: the choices are Language rows, read when the form is built.
        choices=language_choices,
    )

    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes = {}

    def clean_phone(self) -> str:
        return _clean_phone(self)


@admin.register(User)
class UserAdmin(ExplicitLookupsMixin, RankAccessMixin, DjangoUserAdmin):
    """Superusers manage every account. Agency admins read the accounts of the staff of
    their subtree (whom to grant or revoke), without personal details beyond name and phone
    and without permission fields; citizens' accounts stay out of their reach. Officers and
    managers do not see accounts at all."""

    view_rank = ADMIN
    change_rank = None
    add_rank = None
    delete_rank = None
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (
            _("Thông tin cá nhân"),
            {"fields": ("full_name", "preferred_language", "administrative_unit")},
        ),
        (
            _("Quyền"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Mốc thời gian"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("phone", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("phone", "full_name", "administrative_unit", "is_staff", "is_active")
    list_filter = ("is_staff", "is_active")
    search_fields = ("phone", "full_name")
    ordering = ("phone",)
    # Thousands of communes: a plain select would render every one of them.
    raw_id_fields = ("administrative_unit",)
    list_select_related = ("administrative_unit",)

    # What an agency admin sees of a staff account: who it is, whether it works, and which
    # roles it holds in their subtree.
    staff_fieldsets = (
        (None, {"fields": ("phone", "full_name")}),
        (
            _("Access"),
            {"fields": ("is_active", "is_staff", "last_login", "memberships_in_scope")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        users = super().get_queryset(request)
        if request.user.is_superuser:
            return users
        return users.filter(pk__in=staff_administered_by(request.user).values("pk"))

    def get_list_display(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return super().get_list_display(request)
        # Where a staff member lives is none of their agency admin's business.
        return ("phone", "full_name", "is_staff", "is_active", "last_login")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.staff_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "memberships_in_scope")

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and not request.user.is_superuser:
            # Read here, where the viewer is known: only memberships of their own agencies.
            memberships = memberships_administered_by(request.user).filter(user=obj)
            obj.memberships_shown = list(memberships.order_by("agency__path"))
        return obj

    @admin.display(description=_("Roles in your agencies"))
    def memberships_in_scope(self, obj: User) -> str:
        rows: list[StaffMembership] = getattr(obj, "memberships_shown", [])
        if not rows:
            return "—"
        return format_html_join(
            "", "<div>{} – {}</div>", ((m.get_role_display(), m.agency.name) for m in rows)
        )

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        unsearched = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Staff type numbers as people say them (`0912 345 678`); phones are stored E.164.
        normalized = normalize_phone(search_term)
        if normalized:
            queryset = queryset | unsearched.filter(phone=normalized)
        return queryset, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivated:
            # Every session ends and no token of the account works again, even after a
            # later reactivation.
            actions.deactivate(obj, actor=request.user)
