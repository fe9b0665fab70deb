import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from agencies.admin_access import ADMIN, AuditedListMixin, NoHandEditsMixin, RankScopedAdmin
from agencies.models import Agency
from agencies.selectors import agencies_administered_by
from common import audit
from common.i18n import DEFAULT_LANGUAGE, invalidate_languages
from common.models import AuditLogEntry, Language
from onestop.models import InboundSms
from onestop.open311 import admin as open311_admin  # noqa: F401  (registers its admin)

# An ISO 639 code, optionally with subtags (`vi`, `hmn`, `zh-hant`), lower case.
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(NoHandEditsMixin, RankScopedAdmin):
    """Read-only: the log is written by the actions it describes, never by hand.

    Agency admins read the entries of the subtrees they administer
    (`agencies_administered_by`: an admin who is also an officer elsewhere does not read
    that office's log); entries of no agency (sign-ins, system work) only superusers.
    Officers and managers do not see the log at all.
    """

    view_rank = ADMIN
    list_display = ("at", "actor", "action", "object_label", "agency_name")
    list_filter = ("action", ("at", admin.DateFieldListFilter))
    list_select_related = ("actor",)
    search_fields = ("=object_id",)
    search_help_text = _("Object id (exact)")
    date_hierarchy = "at"
    fields = ("at", "actor", "action", "object_type", "object_id", "agency_name", "details")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditLogEntry]:
        entries = super().get_queryset(request)
        user: Any = request.user
        if not user.is_superuser:
            entries = entries.filter(agency_id__in=agencies_administered_by(user).values("pk"))
        # Entries name their agency by id (the log outlives what it names), so the name is
        # read in the same query rather than once per row.
        name = Agency.objects.filter(pk=OuterRef("agency_id")).values("name")[:1]
        return entries.annotate(agency_name=Subquery(name))

    @admin.display(description=_("object"), ordering="object_type")
    def object_label(self, entry: AuditLogEntry) -> str:
        return f"{entry.object_type}: {entry.object_id}"

    @admin.display(description=_("agency"), ordering="agency_name")
    def agency_name(self, entry: AuditLogEntry) -> str:
        return getattr(entry, "agency_name", None) or (str(entry.agency_id or "") or "—")


class LanguageForm(forms.ModelForm):
    class Meta:
        model = Language
        fields = ("code", "native_name", "english_name", "enabled", "position")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().lower()
        if not _LANGUAGE_CODE.match(code):
            raise forms.ValidationError(_("Use an ISO 639 code in lower case, e.g. vi, tyz, hmn."))
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        code = cleaned.get("code", self.instance.code)
        # Every text falls back to Vietnamese, so it must stay available.
        if code == DEFAULT_LANGUAGE and cleaned.get("enabled") is False:
            self.add_error(
                "enabled", _("Vietnamese cannot be disabled: every text falls back to it.")
            )
        return cleaned


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    """Languages are data: adding or enabling one here needs no migration and no deploy.

    Each save forgets the cached language list of this process; other processes see the
    change within `common.i18n.LANGUAGE_CACHE_SECONDS`.
    """

    form = LanguageForm
    list_display = ("code", "native_name", "english_name", "enabled", "position")
    list_editable = ("enabled", "position")
    list_filter = ("enabled",)
    search_fields = ("code", "native_name", "english_name")
    ordering = ("position", "code")

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form", LanguageForm)
        return super().get_changelist_form(request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The code is the key other rows and users' preferences refer to.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.code == DEFAULT_LANGUAGE:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        invalidate_languages()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        invalidate_languages()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset.exclude(code=DEFAULT_LANGUAGE))
        invalidate_languages()


@admin.register(InboundSms)
class InboundSmsAdmin(NoHandEditsMixin, AuditedListMixin, RankScopedAdmin):
    """Read-only: what citizens sent by SMS and what came of it.

    Superusers read every message; agency admins those that became feedback their subtrees
    handle. Phone numbers and texts are personal data: each list page and each message
    opened is recorded in the audit log.
    """

    view_rank = ADMIN
    list_display = ("received_at", "phone", "command", "outcome", "tracking_code")
    list_filter = ("command", "outcome", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=phone", "=tracking_code")
    search_help_text = _("Phone number or tracking code (exact)")
    date_hierarchy = "received_at"
    fields = (
        "gateway_id",
        "received_at",
        "phone",
        "sender",
        "text",
        "command",
        "outcome",
        "tracking_code",
        "feedback",
        "reply",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundSms]:
        messages = super().get_queryset(request).select_related("sender", "feedback", "reply")
        user: Any = request.user
        if not user.is_superuser:
            messages = messages.filter(
                feedback__agency__in=agencies_administered_by(user).values("pk")
            )
        return messages

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and response.status_code == 200 and original is not None:
            audit.record(request.user, "view_personal_data", original)
        return response
