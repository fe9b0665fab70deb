"""The staff work queue in the admin: one mechanism for dossiers and feedback.

A queue is a `WorkflowAdmin`: a read-only, rank-opened admin whose rows come from a scoped
selector, plus

- a page per state-machine action (`<pk>/actions/<action>/`) with a small Django form; the
  form only gathers input, and the admin hands it to the same action function the API calls,
  so events, audit entries and notifications happen exactly as through the API;
- buttons on the detail page for the actions allowed *now*;
- bulk transitions of selected rows (`bulk_transition`) and a CSV export of the selection
  that leaves personal data out and is recorded in the audit log.

Nothing here knows about dossiers or feedback: each app's admin names its workflow, the forms
of its actions, how a search finds a citizen's cases and which columns to export.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.admin_access import AuditedListMixin, RankScopedAdmin
from casework import access
from casework.actions import forward_targets
from casework.engine import Workflow
from common import audit
from common.exceptions import DomainError
from common.files import signed_url
from common.i18n import translate
from common.phones import normalize_phone
from common.tracking import normalize_tracking_code


class WorkflowForm(forms.Form):
    """The input of one action. Subclasses declare fields and `action_kwargs()`: the keyword
    arguments of the action function. `obj` and `user` let a form build its choices."""

    # Shown as the page's title and on the detail page's button.
    title: Any = ""
    # A one-line explanation above the form, e.g. what the citizen will be told.
    help_text: Any = ""

    def __init__(self, *args: Any, obj: Any, user: Any, **kwargs: Any) -> None:
        self.obj = obj
        self.user = user
        super().__init__(*args, **kwargs)

    def action_kwargs(self) -> dict[str, Any]:
        return {}


class ConfirmForm(WorkflowForm):
    """An action that needs nothing but a confirmation."""


def text_area(label: Any, required: bool = True) -> forms.CharField:
    """A reason, note or answer: a few lines, at most 2,000 characters."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


def local_datetime(value: Any) -> str:
    """A moment in the office's time zone, short; a dash for none."""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


class ForwardForm(WorkflowForm):
    """`forward {agency, reason}`, offering the agencies the forwarding rule allows."""

    title = _("Forward")
    agency = forms.ModelChoiceField(label=_("Agency"), queryset=None)  # type: ignore[var-annotated]
    reason = text_area(_("Reason"))

    def targets(self) -> QuerySet[Any]:
        return forward_targets(self.obj)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = self.targets()  # type: ignore[attr-defined]

    def action_kwargs(self) -> dict[str, Any]:
        return {"agency": self.cleaned_data["agency"].pk, "note": self.cleaned_data["reason"]}


class CommentForm(WorkflowForm):
    """`comment {note, internal}`; internal (staff only) unless the box is unticked."""

    title = _("Comment")
    # Says who sees a note that is not internal (the applicant, the author).
    internal_help_text: Any = ""
    note = text_area(_("Note"))
    internal = forms.BooleanField(label=_("Internal (staff only)"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["internal"].help_text = self.internal_help_text

    def action_kwargs(self) -> dict[str, Any]:
        return {"note": self.cleaned_data["note"], "internal": self.cleaned_data["internal"]}


class ReasonForm(WorkflowForm):
    """An action whose only input is a reason the citizen is told (e.g. a rejection)."""

    reason = text_area(_("Reason"))

    def action_kwargs(self) -> dict[str, Any]:
        return {"note": self.cleaned_data["reason"]}


def confirm_form(title: Any, help_text: Any = "") -> type[WorkflowForm]:
    """The form of an action that needs nothing but a confirmation."""
    return type("ConfirmForm", (ConfirmForm,), {"title": title, "help_text": help_text})


def reason_form(title: Any, help_text: Any) -> type[WorkflowForm]:
    """The form of an action whose only input is the reason the citizen is told."""
    return type("ReasonForm", (ReasonForm,), {"title": title, "help_text": help_text})


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show what an action refused as form errors: on the field it names, else on top."""
    for field, message in error.messages():
        name = (field or "").split(".", 1)[0]
        form.add_error(name if name in form.fields else None, message)


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[Any], Any]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        # Local office time, which spreadsheets read as a date without a time-zone suffix.
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


class _Echo:
    """A file-like object whose `write` hands the line back, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def bulk_transition(action: str, description: Any, name: str) -> Callable[..., None]:
    """An admin action applying `action` to each selected row the user may apply it to now.

    Rows in another state are skipped and listed; each row goes through the same action
    function (and its own transaction) as a single transition.
    """

    def run(modeladmin: WorkflowAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done: list[str] = []
        skipped: list[str] = []
        for obj in queryset:
            if action not in modeladmin.workflow_allowed(request, obj):
                skipped.append(str(obj))
                continue
            try:
                modeladmin.workflow_apply(request, obj, action, {})
            except DomainError:
                skipped.append(str(obj))
            else:
                done.append(str(obj))
        if done:
            modeladmin.message_user(
                request,
                gettext("%(action)s: %(count)s done.")
                % {"action": description, "count": len(done)},
                messages.SUCCESS,
            )
        if skipped:
            modeladmin.message_user(
                request,
                gettext("%(count)s skipped (not in a state that allows it): %(codes)s")
                % {"count": len(skipped), "codes": ", ".join(skipped)},
                messages.WARNING,
            )

    run.__name__ = name
    return admin.action(description=description)(run)


# Searches by a part of a tracking code start at this many characters.
TRACKING_SEARCH_MIN = 4


class WorkflowAdmin(AuditedListMixin, RankScopedAdmin):
    """A read-only queue of one kind of case; every change goes through its workflow.

    Subclasses set `workflow` (the kind's `casework.engine.Workflow`), `workflow_forms`
    (action name → form class), `search_text_field`, the export's own columns
    and the labels of events no form stands for; they scope `get_queryset`.
    """

    workflow: Workflow
    workflow_forms: dict[str, type[WorkflowForm]] = {}
    # The text field a search term is looked for in (e.g. a title, the applicant's name).
    search_text_field = ""
    # Actions shown as red buttons (they end the case).
    workflow_final_actions: tuple[str, ...] = ()
    # The CSV export's columns besides those every queue has: the kind's subject (its
    # service or category) after the tracking code, and its own at the end.
    export_subject: ExportColumn | None = None
    export_extra: tuple[ExportColumn, ...] = ()
    change_form_template = "admin/workflow/change_form.html"
    change_list_template = "admin/workflow/change_list.html"
    action_form_template = "admin/workflow/action_form.html"
    actions = ["export_csv"]

    # -- what each queue says -------------------------------------------------------------

    def workflow_allowed(self, request: HttpRequest, obj: Any) -> list[str]:
        """The actions the user may apply to `obj` now (the workflow's own answer)."""
        return self.workflow.allowed_actions(request.user, obj)

    def workflow_apply(
        self, request: HttpRequest, obj: Any, action: str, data: dict[str, Any]
    ) -> None:
        """Apply `action` with the form's `action_kwargs()`; raises the domain errors."""
        self.workflow.apply(request.user, obj, action, **data)

    def record_detail_read(self, request: HttpRequest, obj: Any) -> None:
        """Audit a staff read of the detail page (personal data); once per GET."""
        access.record_personal_data_read(request.user, obj)

    def workflow_links(self, request: HttpRequest, obj: Any) -> list[tuple[str, str]]:
        """Extra (label, url) links beside the action buttons, e.g. a printable receipt."""
        return []

    @property
    def export_columns(self) -> tuple[ExportColumn, ...]:
        return (
            ExportColumn("tracking_code", lambda case: case.tracking_code),
            *((self.export_subject,) if self.export_subject else ()),
            ExportColumn("agency_code", lambda case: case.agency.code),
            ExportColumn("commune", lambda case: case.administrative_unit.name),
            ExportColumn("status", lambda case: case.status),
            ExportColumn("created_at", lambda case: case.created_at),
            *self.export_extra,
        )

    def export_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The selection as the export reads it (annotations, joins)."""
        return queryset

    # Labels of the events no form stands for (the citizen's own ones, the system's); the
    # others are named by their form's title.
    other_event_labels: dict[str, Any] = {}

    @property
    def event_labels(self) -> dict[str, Any]:
        """Labels of every event a case's timeline may hold."""
        return {
            "submit": _("Submitted"),
            **{action: form.title for action, form in self.workflow_forms.items()},
            **self.other_event_labels,
        }

    # -- search ---------------------------------------------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_condition(term)), False

    def search_condition(self, term: str) -> Q:
        """A tracking code (whole, in any spelling, or a part), words of the text field, or
        the citizen's phone (`phone_condition`)."""
        condition = Q(**{f"{self.search_text_field}__icontains": term})
        code = normalize_tracking_code(term, self.model.TRACKING_PREFIX)
        if code is not None:
            condition |= Q(tracking_code=code)
        elif len(term) >= TRACKING_SEARCH_MIN:
            condition |= Q(tracking_code__icontains=term.upper())
        phone = normalize_phone(term)
        if phone is not None:
            condition |= self.phone_condition(phone)
        return condition

    def phone_condition(self, phone: str) -> Q:
        """The cases of the citizen with this (E.164) phone that a search may find."""
        raise NotImplementedError

    # -- columns both queues show ---------------------------------------------------------

    @admin.display(description=_("Commune"), ordering="administrative_unit__name")
    def commune(self, obj: Any) -> str:
        return str(obj.administrative_unit.name)

    def event_actor(self, obj: Any, event: Any) -> str:
        """Who an event names in the timeline."""
        return event.actor.full_name if event.actor else gettext("System")

    # -- the parts of a detail page both queues show ----------------------------------------

    @admin.display(description=_("Attachments"))
    def attachments_display(self, obj: Any) -> str:
        rows = [
            (
                format_html('<a href="{}">{}</a>', signed_url(None, a) or "", a.name),
                a.get_kind_display(),
                filesizeformat(a.size),
                local_datetime(a.created_at),
            )
            for a in obj.attachments.order_by("created_at")
        ]
        return table(rows, (_("File"), _("Kind"), _("Size"), _("Added")))

    @admin.display(description=_("Timeline"))
    def timeline_display(self, obj: Any) -> str:
        """Every event with its states; internal notes marked (staff read them here)."""
        states = dict(self.model.Status.choices)
        rows = []
        for event in obj.events.select_related("actor").order_by("created_at"):
            note: Any = event.note
            if event.internal:
                note = format_html(
                    '<span class="workflow-internal">{} {}</span>',
                    gettext("(internal)"),
                    event.note,
                )
            rows.append(
                (
                    local_datetime(event.created_at),
                    self.event_labels.get(event.action, event.action),
                    f"{states.get(event.from_status, '—')} → {states.get(event.to_status, '—')}",
                    self.event_actor(obj, event),
                    note,
                )
            )
        return table(rows, (_("When"), _("Action"), _("Status"), _("By"), _("Note")))

    # -- no hand edits --------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Even a superuser: the status and what it implies change only through the actions.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # -- pages ----------------------------------------------------------------------------

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<path:object_id>/actions/<str:action>/",
                self.admin_site.admin_view(self.workflow_action_view),
                name=self._url_name("workflow_action"),
            )
        ]
        # Before the default URLs: their `<path:object_id>/` would swallow ours.
        return own + super().get_urls()

    def workflow_action_url(self, obj: Any, action: str) -> str:
        return reverse(
            f"admin:{self._url_name('workflow_action')}",
            args=[obj.pk, action],
            current_app=self.admin_site.name,
        )

    def _change_url(self, obj: Any) -> str:
        return reverse(
            f"admin:{self._url_name('change')}", args=[obj.pk], current_app=self.admin_site.name
        )

    def _changelist_url(self) -> str:
        return reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)

    def workflow_buttons(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        allowed = self.workflow_allowed(request, obj)
        return [
            {
                "action": action,
                "label": form_class.title,
                "url": self.workflow_action_url(obj, action),
                "final": action in self.workflow_final_actions,
            }
            for action, form_class in self.workflow_forms.items()
            if action in allowed
        ]

    def audit_rows(self, request: HttpRequest, rows: list[Any]) -> None:
        # The rows show personal data (names, titles): audited like a detail read, staff's
        # own cases left out.
        access.record_personal_data_list(request.user, rows, where="admin")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if obj is not None and self.has_view_permission(request, obj):
            context["workflow_buttons"] = self.workflow_buttons(request, obj)
            context["workflow_links"] = self.workflow_links(request, obj)
        response = super().change_view(request, object_id, form_url, context)
        original = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and response.status_code == 200 and original is not None:
            self.record_detail_read(request, original)
        return response

    def workflow_action_view(
        self, request: HttpRequest, object_id: str, action: str
    ) -> HttpResponse:
        form_class = self.workflow_forms.get(action)
        obj = self.get_object(request, unquote(object_id))
        # Out of scope and unknown look alike: nothing here.
        if obj is None or form_class is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        if action not in self.workflow_allowed(request, obj):
            self.message_user(
                request,
                gettext("This action is not available for %(object)s now.") % {"object": obj},
                messages.WARNING,
            )
            return HttpResponseRedirect(self._change_url(obj))
        if request.method == "POST":
            form = form_class(request.POST, request.FILES, obj=obj, user=request.user)
            if form.is_valid():
                try:
                    self.workflow_apply(request, obj, action, form.action_kwargs())
                except DomainError as error:
                    add_domain_error(form, error)
                else:
                    self.message_user(
                        request,
                        gettext("%(action)s: done for %(object)s.")
                        % {"action": form_class.title, "object": obj},
                        messages.SUCCESS,
                    )
                    # A forwarded case may have left the user's scope: back to the queue.
                    if self.get_queryset(request).filter(pk=obj.pk).exists():
                        return HttpResponseRedirect(self._change_url(obj))
                    return HttpResponseRedirect(self._changelist_url())
        else:
            form = form_class(obj=obj, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": form_class.title,
            "subtitle": str(obj),
            "form": form,
            "action": action,
            "help_text": form_class.help_text,
            "change_url": self._change_url(obj),
            "changelist_url": self._changelist_url(),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.action_form_template, context)

    # -- export ---------------------------------------------------------------------------

    @admin.action(description=_("Export selected to CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Any]) -> StreamingHttpResponse:
        """Stream the selection as CSV (UTF-8 with BOM, so Excel reads Vietnamese), after one
        audit entry per agency whose cases it holds: {model, count, filters}."""
        queryset = self.export_queryset(queryset)
        model = queryset.model
        counts = queryset.order_by().values_list("agency_id").annotate(count=Count("pk"))
        filters = {key: value for key, value in request.GET.items()}
        agency_model: type[models.Model] = model._meta.get_field("agency").related_model  # type: ignore[assignment]
        per_agency = dict(counts)
        for agency in agency_model._default_manager.filter(pk__in=per_agency):
            audit.record(
                request.user,
                "export_csv",
                agency,
                agency_id=agency.pk,
                details={
                    "model": model._meta.label_lower,
                    "count": per_agency[agency.pk],
                    "filters": filters,
                },
            )
        columns = self.export_columns

        def lines() -> Iterable[str]:
            writer = csv.writer(_Echo())
            yield codecs.BOM_UTF8.decode("utf-8")
            yield writer.writerow([column.header for column in columns])
            for obj in queryset.iterator(chunk_size=500):
                yield writer.writerow([_csv_value(column.value(obj)) for column in columns])

        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{model._meta.model_name}-{stamp}.csv"'
        )
        response["Cache-Control"] = "private, no-store"
        return response


def schema_rows(schema: Any, data: Any, language: str, prefix: str = "") -> list[tuple[str, str]]:
    """(label, value) lines of a JSON form for people: labels from the schema's `title`s
    (nested ones joined with ›), falling back to the key; values as plain text."""
    rows: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return [(prefix or "—", "" if data is None else str(data))]
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    if not isinstance(properties, dict):
        properties = {}
    for key, value in data.items():
        spec = properties.get(key, {})
        title = translate(spec.get("title") if isinstance(spec, dict) else None, language)
        label = f"{prefix} › {title or key}" if prefix else (title or key)
        if isinstance(value, dict):
            rows.extend(schema_rows(spec, value, language, label))
        elif isinstance(value, list):
            rows.append((label, ", ".join(str(v) for v in value)))
        elif isinstance(value, bool):
            rows.append((label, gettext("Yes") if value else gettext("No")))
        else:
            rows.append((label, "" if value is None else str(value)))
    return rows


def schema_fields(
    schema: Any, language: str, prefix: str = "", label: str = ""
) -> list[tuple[str, str]]:
    """(dotted path, label) of every leaf field a JSON Schema form declares, in order."""
    fields: list[tuple[str, str]] = []
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return fields
    for key, spec in properties.items():
        dotted = f"{prefix}.{key}" if prefix else key
        title = translate(spec.get("title") if isinstance(spec, dict) else None, language) or key
        full = f"{label} › {title}" if label else title
        if isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
            fields.extend(schema_fields(spec, language, dotted, full))
        else:
            fields.append((dotted, full))
    return fields


def table(rows: Iterable[Iterable[Any]], headers: Iterable[Any] = ()) -> str:
    """A small HTML table of escaped cells (cells already marked safe stay as they are)."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    if not body:
        return format_html("<p>{}</p>", gettext("None"))
    return format_html(
        '<table class="workflow-table">{}<tbody>{}</tbody></table>',
        format_html("<thead><tr>{}</tr></thead>", head) if head else "",
        body,
    )
