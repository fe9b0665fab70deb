from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from casework import admin as queue
from common.i18n import DEFAULT_LANGUAGE, translate
from common.i18n.admin import TranslatedAdminMixin
from common.tracking import normalize_tracking_code
from feedback import actions
from feedback.models import Feedback, FeedbackCategory
from feedback.selectors import TRACKING_PREFIX, feedback_actionable_by


@admin.register(FeedbackCategory)
class FeedbackCategoryAdmin(TranslatedAdminMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "__str__",
        "default_level",
        "sms_default",
        "position",
        "translation_summary",
    )
    search_fields = ("code",)
    exclude = ("translation_status",)
    readonly_fields = ("translation_summary",)


class MarkDuplicateForm(queue.WorkflowForm):
    title = _("Mark as duplicate")
    help_text = _("The author is pointed to the original and follows it from then on.")
    duplicate_of = forms.CharField(
        label=_("Original feedback (tracking code)"),
        max_length=20,
        help_text=_("For example PA-7K3M-9QX2-H; case and hyphens do not matter."),
    )

    def clean_duplicate_of(self) -> Feedback:
        code = normalize_tracking_code(self.cleaned_data["duplicate_of"], TRACKING_PREFIX)
        original = (
            feedback_actionable_by(self.user)
            .exclude(pk=self.obj.pk)
            .filter(tracking_code=code)
            .first()
            if code is not None
            else None
        )
        if original is None:
            raise forms.ValidationError(_("No other feedback with this code is in your queue."))
        return original

    def action_kwargs(self) -> dict[str, Any]:
        return {"duplicate_of": self.cleaned_data["duplicate_of"].pk}


class AnswerForm(queue.WorkflowForm):
    title = _("Answer")
    help_text = _("The author and everyone who supports the feedback receive the answer.")
    answer = queue.text_area(_("Answer"))

    def action_kwargs(self) -> dict[str, Any]:
        return {"note": self.cleaned_data["answer"]}


class ForwardFeedbackForm(queue.ForwardForm):
    help_text = _(
        "Send the feedback to another agency; it leaves your queue if that agency is not yours."
    )


class CommentFeedbackForm(queue.CommentForm):
    internal_help_text = _("Untick to let the author see this note.")


@admin.register(Feedback)
class FeedbackAdmin(queue.WorkflowAdmin):
    """The feedback queue of staff, by the same mechanism as dossiers. An anonymous author
    stays hidden here too: not shown, not searchable, not exported; coordinates are never
    shown (the commune and the village say where)."""

    list_display = ("tracking_code", "category_name", "commune", "status", "created", "agency")
    list_display_links = ("tracking_code",)
    list_filter = ("status", "category", ("agency", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("tracking_code", "title")
    search_help_text = _("Tracking code, words of the title, or the phone of a named author")
    list_per_page = 50
    fields = (
        "tracking_code",
        "status",
        "category_name",
        "title",
        "content",
        "village",
        "commune",
        "agency",
        "author_display",
        "is_public",
        "support_count",
        "created_at",
        "answer",
        "answered_at",
        "duplicate_of",
        "attachments_display",
        "timeline_display",
    )
    readonly_fields = fields
    workflow = actions.FEEDBACK
    search_text_field = "title"
    other_event_labels = {
        "close": _("Closed"),
        "reopen": _("Reopened by the author"),
        "withdraw": _("Withdrawn by the author"),
    }
    workflow_forms: dict[str, type[queue.WorkflowForm]] = {
        "accept": queue.confirm_form(
            _("Accept"),
            _("The feedback is taken up; if its author agreed, it appears in the public feed."),
        ),
        "answer": AnswerForm,
        "reject": queue.reason_form(
            _("Reject"), _("The author is told the reason. This ends the feedback.")
        ),
        "mark_duplicate": MarkDuplicateForm,
        "forward": ForwardFeedbackForm,
        "comment": CommentFeedbackForm,
    }
    workflow_final_actions = ("reject", "mark_duplicate")
    export_subject = queue.ExportColumn("category_code", lambda i: i.category.code)
    export_extra = (
        queue.ExportColumn("answered_at", lambda i: i.answered_at),
        queue.ExportColumn("support_count", lambda i: i.support_count),
        queue.ExportColumn("is_public", lambda i: i.is_public),
    )
    accept_selected = queue.bulk_transition("accept", _("Accept selected"), "accept_selected")
    actions = ["accept_selected", "export_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Feedback]:
        # What the user handles as staff, by the API's own rule; a foreign item's change URL
        # finds nothing and the admin redirects away from it.
        return feedback_actionable_by(request.user)

    def phone_condition(self, phone: str) -> Q:
        # Only named authors: an anonymous author's phone must not find their feedback.
        return Q(author__phone=phone, is_anonymous=False)

    @admin.display(description=_("Category"), ordering="category__code")
    def category_name(self, obj: Feedback) -> str:
        return translate(obj.category.name, get_language() or DEFAULT_LANGUAGE)

    @admin.display(description=_("Created"), ordering="created_at")
    def created(self, obj: Feedback) -> str:
        return queue.local_datetime(obj.created_at)

    @admin.display(description=_("Author"))
    def author_display(self, obj: Feedback) -> str:
        if obj.is_anonymous:
            return gettext("Anonymous")
        return f"{obj.author.full_name} · {obj.author.phone}"

    def event_actor(self, obj: Any, event: Any) -> str:
        if event.actor_id is not None and event.actor_id == obj.author_id and obj.is_anonymous:
            return gettext("Author")
        return super().event_actor(obj, event)
