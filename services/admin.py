from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from casework import admin as queue
from common.exceptions import InvalidInput
from common.files import signed_url
from common.i18n import DEFAULT_LANGUAGE, language_choices, translate
from common.i18n.admin import TranslatedAdminMixin
from common.phones import normalize_phone
from services import actions, audio_help, national_portal, selectors
from services.api.receipt_views import RECEIPT_CSP, render_receipt
from services.models import (
    AudioHelp,
    PublicService,
    ServiceCategory,
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestRating,
    SupplementItemKind,
)

Status = ServiceRequest.Status


class AudioHelpInlineForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("ngôn ngữ"), choices=language_choices)
    upload = forms.FileField(label=_("Recording"), required=False)

    class Meta:
        model = AudioHelp
        fields = ("language",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["upload"].help_text = _(
            "AAC/M4A, OGG/Opus, MP3 or AMR, at most %(seconds)s seconds. A new file replaces "
            "the recording in that language."
        ) % {"seconds": audio_help.max_seconds()}
        if not self.instance._state.adding:
            # One recording per language: to change the language, add one and delete this.
            self.fields["language"].disabled = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("upload")
        if upload:
            try:
                cleaned["inspected"] = audio_help.inspect_audio(upload)
            except InvalidInput as error:
                self.add_error("upload", [message for _field, message in error.messages()])
        elif self.instance._state.adding:
            self.add_error("upload", _("Choose a recording to upload."))
        return cleaned


class AudioHelpInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # One recording per language: the rows shown are all the parent has.
        seen: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            if form.instance._state.adding and not form.has_changed():
                continue
            language = form.cleaned_data.get("language") or form.instance.language
            if language in seen:
                message = _("There is a recording in this language already: give it the new file.")
                form.add_error("language", message)
            seen.add(language)


class AudioHelpInline(admin.TabularInline):
    """Recordings are written by `services.audio_help` (see `AudioHelpAdminMixin`)."""

    model = AudioHelp
    form = AudioHelpInlineForm
    formset = AudioHelpInlineFormSet
    extra = 0
    fields = ("language", "upload", "listen", "duration", "content_type", "size")
    readonly_fields = ("listen", "duration", "content_type", "size")

    @admin.display(description=_("Listen"))
    def listen(self, obj: AudioHelp | None) -> str:
        if obj is None or obj._state.adding:
            return "-"
        url = signed_url(None, obj)
        return format_html('<audio controls preload="none" src="{}"></audio>', url)


class AudioHelpAdminMixin:
    """Saves the audio help inline through `services.audio_help` (inspection, private
    storage, audit), not through the formset's own save."""

    def save_formset(self, request, form, formset, change):  # type: ignore[no-untyped-def]
        if formset.model is not AudioHelp:
            return super().save_formset(request, form, formset, change)  # type: ignore[misc]
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.deleted_forms:
            if not inline_form.instance._state.adding:
                audio_help.remove_audio_help(request.user, inline_form.instance)
                formset.deleted_objects.append(inline_form.instance)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms:
                continue
            inspected = getattr(inline_form, "cleaned_data", {}).get("inspected")
            if inspected is None:
                continue
            existed = not inline_form.instance._state.adding
            saved = audio_help.attach_audio_help(
                request.user,
                form.instance,
                language=inline_form.instance.language,
                upload=inspected,
            )
            if existed:
                formset.changed_objects.append((saved, ["upload"]))
            else:
                formset.new_objects.append(saved)


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(TranslatedAdminMixin, AudioHelpAdminMixin, admin.ModelAdmin):
    list_display = ("code", "__str__", "position", "translation_summary")
    search_fields = ("code",)
    exclude = ("translation_status",)
    readonly_fields = ("translation_summary",)
    inlines = [AudioHelpInline]


@admin.register(PublicService)
class PublicServiceAdmin(TranslatedAdminMixin, AudioHelpAdminMixin, admin.ModelAdmin):
    list_display = ("code", "__str__", "national_code", "category", "level", "processing_days")
    list_filter = ("level", "online_level", "category", "is_active")
    search_fields = ("code", "national_code")
    translated_fields = ("name", "description")
    translated_rows = {"description": 4}
    exclude = ("translation_status",)
    # Withdrawing must tell the phones (a sync removal): only the actions below change it.
    readonly_fields = ("is_active", "translation_summary")
    inlines = [AudioHelpInline]
    actions = ("withdraw_from_catalog", "offer_again")

    @admin.action(description="Withdraw from the catalog")
    def withdraw_from_catalog(self, request, queryset):  # type: ignore[no-untyped-def]
        for service in queryset:
            actions.withdraw_service(service)

    @admin.action(description="Offer again")
    def offer_again(self, request, queryset):  # type: ignore[no-untyped-def]
        for service in queryset:
            actions.offer_service(service)


SUPPLEMENT_DOCUMENT = "document:"
SUPPLEMENT_FIELD = "field:"


def supplement_checklist(service: PublicService) -> dict[str, dict[str, str]]:
    """What a supplement request may ask for, keyed by checkbox value: each required document
    (`document:<n>`) and each field of the form (`field:<dotted path>`). Labels are stored in
    Vietnamese, the language of the record; `shown` is in the officer's language."""
    language = get_language() or DEFAULT_LANGUAGE
    checklist: dict[str, dict[str, str]] = {}
    documents = service.required_documents if isinstance(service.required_documents, list) else []
    for index, document in enumerate(documents):
        name = document.get("name") if isinstance(document, dict) else document
        label = translate(name, DEFAULT_LANGUAGE)
        if label:
            checklist[f"{SUPPLEMENT_DOCUMENT}{index}"] = {
                "kind": SupplementItemKind.DOCUMENT,
                "label": label,
                "field": "",
                "shown": gettext("Document: %(label)s") % {"label": translate(name, language)},
            }
    shown_fields = dict(queue.schema_fields(service.form_schema, language))
    for dotted, label in queue.schema_fields(service.form_schema, DEFAULT_LANGUAGE):
        checklist[f"{SUPPLEMENT_FIELD}{dotted}"] = {
            "kind": SupplementItemKind.FIELD,
            "label": label,
            "field": dotted,
            "shown": gettext("Form field: %(label)s") % {"label": shown_fields.get(dotted, label)},
        }
    return checklist


class RequestSupplementForm(queue.WorkflowForm):
    title = _("Request supplement")
    help_text = _(
        "The applicant is told what is missing; the processing clock stops until they answer."
    )
    reason = queue.text_area(_("Reason"))
    items = forms.MultipleChoiceField(
        label=_("Missing items"), required=False, widget=forms.CheckboxSelectMultiple
    )
    extra_item = forms.CharField(
        label=_("Other missing item"),
        required=False,
        max_length=300,
        help_text=_("Anything not in the list above, in a few words."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checklist = supplement_checklist(self.obj.service)
        self.fields["items"].choices = [  # type: ignore[attr-defined]
            (value, item["shown"]) for value, item in self.checklist.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        count = len(data.get("items") or []) + (1 if data.get("extra_item") else 0)
        if count == 0:
            raise forms.ValidationError(_("Tick at least one missing item or describe one."))
        if count > actions.SUPPLEMENT_ITEM_LIMIT:
            raise forms.ValidationError(
                _("Request at most %(limit)s items.") % {"limit": actions.SUPPLEMENT_ITEM_LIMIT}
            )
        return data

    def action_kwargs(self) -> dict[str, Any]:
        items = [
            {key: self.checklist[value][key] for key in ("kind", "label", "field")}
            for value in self.cleaned_data["items"]
        ]
        extra = self.cleaned_data.get("extra_item")
        if extra:
            items.append({"kind": SupplementItemKind.DOCUMENT, "label": extra, "field": ""})
        return {"note": self.cleaned_data["reason"], "items": items}


class ApproveForm(queue.WorkflowForm):
    title = _("Approve")
    help_text = _("The applicant is told the result is ready to collect.")
    result = queue.text_area(_("Result"))
    result_file = forms.FileField(
        label=_("Result file"),
        required=False,
        help_text=_("Optional: the signed result as a PDF or a photo."),
    )

    def action_kwargs(self) -> dict[str, Any]:
        return {
            "note": self.cleaned_data["result"],
            "result_file": self.cleaned_data["result_file"],
        }


class StaffChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name or obj.phone)


class AssignForm(queue.WorkflowForm):
    title = _("Assign")
    assignee = StaffChoiceField(label=_("Assignee"), queryset=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.assignable_staff(self.obj)  # type: ignore[attr-defined]

    def action_kwargs(self) -> dict[str, Any]:
        return {"assignee": self.cleaned_data["assignee"].pk}


class ForwardRequestForm(queue.ForwardForm):
    help_text = _(
        "Send the dossier to another agency; it leaves your queue if that agency is not yours."
    )


class CommentRequestForm(queue.CommentForm):
    internal_help_text = _("Untick to let the applicant see this note.")


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return selectors.overdue_filter(queryset, self.value() == "yes")
        return queryset


@admin.register(ServiceRequest)
class ServiceRequestAdmin(queue.WorkflowAdmin):
    """The dossier queue of staff: what they may act on, by the API's own selector, and each
    action through `services.actions.transition_request`."""

    list_display = (
        "tracking_code",
        "service_name",
        "applicant_name",
        "commune",
        "status",
        "received",
        "due",
    )
    list_display_links = ("tracking_code",)
    list_filter = (
        "status",
        "service",
        ("agency", admin.RelatedOnlyFieldListFilter),
        OverdueFilter,
    )
    date_hierarchy = "created_at"
    search_fields = ("tracking_code",)
    search_help_text = _("Tracking code, applicant's phone (e.g. 0912 345 678) or name")
    list_per_page = 50
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "tracking_code",
                    "status",
                    "service_name",
                    "applicant_details",
                    "commune",
                    "agency",
                    "assignee_name",
                    "created_at",
                    "received_at",
                    "due",
                    "note",
                )
            },
        ),
        (_("Form"), {"fields": ("form_data_display",)}),
        (_("Attachments"), {"fields": ("attachments_display",)}),
        (_("Supplement"), {"fields": ("supplement_display",)}),
        (_("Timeline"), {"fields": ("timeline_display",)}),
        (_("Rating"), {"fields": ("rating_display",)}),
    )
    readonly_fields = (
        "tracking_code",
        "status",
        "service_name",
        "applicant_details",
        "commune",
        "agency",
        "assignee_name",
        "created_at",
        "received_at",
        "due",
        "note",
        "form_data_display",
        "attachments_display",
        "supplement_display",
        "timeline_display",
        "rating_display",
    )
    workflow = actions.DOSSIERS
    search_text_field = "applicant__full_name"
    other_event_labels = {
        "supplement": _("Supplement sent"),
        "cancel": _("Cancelled by the applicant"),
    }
    workflow_forms: dict[str, type[queue.WorkflowForm]] = {
        "receive": queue.confirm_form(
            _("Receive"), _("The dossier is accepted for processing; the due date is set now.")
        ),
        "request_supplement": RequestSupplementForm,
        "start": queue.confirm_form(_("Start processing")),
        "approve": ApproveForm,
        "return_result": queue.confirm_form(
            _("Return the result"),
            _("The applicant has received the result; the dossier is completed."),
        ),
        "reject": queue.reason_form(
            _("Reject"), _("The applicant is told the reason. This ends the dossier.")
        ),
        "assign": AssignForm,
        "forward": ForwardRequestForm,
        "comment": CommentRequestForm,
    }
    workflow_final_actions = ("reject",)
    export_subject = queue.ExportColumn("service_code", lambda d: d.service.code)
    export_extra = (
        queue.ExportColumn("received_at", lambda d: d.received_at),
        queue.ExportColumn("due_at", lambda d: d.due_at),
        queue.ExportColumn("completed_at", lambda d: d.completed_at),
        queue.ExportColumn("is_overdue", lambda d: d.is_overdue),
    )
    receive_selected = queue.bulk_transition("receive", _("Receive selected"), "receive_selected")
    actions = ["receive_selected", "export_csv", "export_national_portal"]

    @admin.action(description=_("Export for the national portal (CSV)"))
    def export_national_portal(
        self, request: HttpRequest, queryset: QuerySet[ServiceRequest]
    ) -> HttpResponse:
        """The chosen dossiers in the national portal's fields (`services.national_portal`),
        as a CSV download; audited per agency."""
        dossiers = list(national_portal.dossiers_changed(None).filter(pk__in=queryset.values("pk")))
        body = national_portal.to_csv(national_portal.records(dossiers))
        national_portal.audit_export(
            request.user, dossiers, {"format": "csv", "filters": request.GET.urlencode()}
        )
        response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="national-portal.csv"'
        return response

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceRequest]:
        # What the user may act on as staff, by the API's own rule. A foreign dossier's change
        # URL then finds nothing and the admin redirects away from it.
        limit = getattr(request, "_due_soon_limit", None)
        if limit is None:
            limit = selectors.due_soon_limit()
            request._due_soon_limit = limit  # type: ignore[attr-defined]
        running = [Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS]
        return selectors.staff_queue(request.user).annotate(
            due_soon=Case(
                When(status__in=running, due_at__lte=limit, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )

    def search_condition(self, term: str) -> Q:
        # The name kept on the dossiers of a closed account.
        condition = super().search_condition(term) | Q(applicant_name_snapshot__icontains=term)
        digits = "".join(ch for ch in term if ch.isdigit())
        if (
            normalize_phone(term) is None
            and len(digits) >= queue.TRACKING_SEARCH_MIN
            and digits == term.replace(" ", "")
        ):
            # The last digits of a phone, as people read them out at the counter.
            condition |= Q(applicant__phone__endswith=digits) | Q(
                applicant_phone_snapshot__endswith=digits
            )
        return condition

    def phone_condition(self, phone: str) -> Q:
        # A closed account's dossiers are found by the number kept on them.
        return Q(applicant__phone=phone) | Q(applicant_phone_snapshot=phone)

    # -- the queue's columns ------------------------------------------------------------

    @admin.display(description=_("Service"), ordering="service__code")
    def service_name(self, obj: ServiceRequest) -> str:
        return translate(obj.service.name, get_language() or DEFAULT_LANGUAGE)

    @admin.display(description=_("Applicant"), ordering="applicant__full_name")
    def applicant_name(self, obj: ServiceRequest) -> str:
        return obj.applicant_display_name

    @admin.display(description=_("Received"), ordering="received_at")
    def received(self, obj: ServiceRequest) -> str:
        return queue.local_datetime(obj.received_at)

    @admin.display(description=_("Due date"), ordering="due_at")
    def due(self, obj: ServiceRequest) -> str:
        if obj.due_at is None:
            return "—"
        badge: str = ""
        if obj.is_overdue:
            badge = format_html(
                ' <span class="workflow-badge workflow-overdue">{}</span>', gettext("Overdue")
            )
        elif getattr(obj, "due_soon", False):
            badge = format_html(
                ' <span class="workflow-badge workflow-due-soon">{}</span>', gettext("Due soon")
            )
        return format_html("{}{}", queue.local_datetime(obj.due_at), badge)

    # -- the detail ------------------------------------------------------------------------

    @admin.display(description=_("Applicant"))
    def applicant_details(self, obj: ServiceRequest) -> str:
        return f"{obj.applicant_display_name} · {obj.applicant_display_phone}"

    @admin.display(description=_("Assignee"))
    def assignee_name(self, obj: ServiceRequest) -> str:
        return obj.assignee.full_name if obj.assignee else "—"

    @admin.display(description=_("Form"))
    def form_data_display(self, obj: ServiceRequest) -> str:
        rows = queue.schema_rows(obj.service.form_schema, obj.form_data, get_language() or "vi")
        return queue.table(rows)

    @admin.display(description=_("Supplement"))
    def supplement_display(self, obj: ServiceRequest) -> str:
        rows = []
        for item in obj.supplement_items or []:
            answer = item.get("answer") or {}
            answered = (
                gettext("Answered: %(note)s (%(count)s files)")
                % {
                    "note": answer.get("note") or "—",
                    "count": len(answer.get("attachment_ids") or []),
                }
                if answer
                else gettext("Waiting for the applicant")
            )
            rows.append((item.get("label", ""), item.get("field") or "—", answered))
        return queue.table(rows, (_("Item"), _("Form field"), _("Answer")))

    @admin.display(description=_("Rating"))
    def rating_display(self, obj: ServiceRequest) -> str:
        rating = ServiceRequestRating.objects.filter(request=obj).first()
        if rating is None:
            return "—"
        return f"{rating.score}/5 {rating.comment}".strip()

    # -- the workflow ----------------------------------------------------------------------

    def workflow_apply(
        self, request: HttpRequest, obj: Any, action: str, data: dict[str, Any]
    ) -> None:
        data = dict(data)
        upload = data.pop("result_file", None)
        if upload is not None:
            # Attached first, while the dossier is still in progress; a refused file stops
            # the approval with the file's own error.
            actions.add_request_attachment(
                request.user, obj, kind=ServiceRequestAttachment.Kind.RESULT, upload=upload
            )
        super().workflow_apply(request, obj, action, data)

    def workflow_links(self, request: HttpRequest, obj: Any) -> list[tuple[str, str]]:
        url = reverse(
            "admin:services_servicerequest_receipt", args=[obj.pk], current_app=self.admin_site.name
        )
        return [(gettext("Print receipt"), url)]

    def export_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return selectors.with_completed_at(queryset)

    def get_urls(self) -> list[Any]:
        receipt = path(
            "<path:object_id>/receipt/",
            self.admin_site.admin_view(self.receipt_view),
            name="services_servicerequest_receipt",
        )
        return [receipt, *super().get_urls()]

    def receipt_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The API's receipt page, rendered by the same function, for staff in scope."""
        dossier = self.get_object(request, unquote(object_id))
        if dossier is None or not self.has_view_permission(request, dossier):
            raise Http404
        actions.record_personal_data_read(request.user, dossier)
        response = HttpResponse(render_receipt(dossier), content_type="text/html; charset=utf-8")
        response["Content-Language"] = DEFAULT_LANGUAGE
        response["Content-Security-Policy"] = RECEIPT_CSP
        response["Cache-Control"] = "private, no-store"
        return response
