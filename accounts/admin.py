from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.phones import normalize_phone
from common.i18n import language_choices


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
class UserAdmin(DjangoUserAdmin):
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

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        unsearched = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Staff type numbers as people say them (`0912 345 678`); phones are stored E.164.
        normalized = normalize_phone(search_term)
        if normalized:
            queryset = queryset | unsearched.filter(phone=normalized)
        return queryset, may_have_duplicates
