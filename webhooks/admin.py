"""Webhook subscriptions and their delivery log, for agency admins (their subtrees) and
superusers. Secrets are shown once, in a message, when made or rotated."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agencies.admin_access import ADMIN, RankScopedAdmin
from common.exceptions import DomainError
from webhooks import actions, selectors
from webhooks.models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookSubscription


class WebhookSubscriptionForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(label=_("địa chỉ nhận"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("sự kiện"),
        choices=[(event, event) for event in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Để trống: mọi sự kiện."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ("agency", "url", "events")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            actions.check_url(url)
        except DomainError as exc:
            raise forms.ValidationError(exc.messages()) from exc
        return str(url)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(RankScopedAdmin):
    form = WebhookSubscriptionForm
    view_rank = ADMIN
    add_rank = ADMIN
    change_rank = ADMIN
    delete_rank = ADMIN
    list_display = ("url", "agency", "event_list", "is_active", "disabled_at", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("agency",)
    search_fields = ("url",)
    readonly_fields = ("is_active", "disabled_at", "disabled_reason", "previous_secret_until")
    actions = ("rotate_secret", "enable")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookSubscription]:
        return selectors.subscriptions_managed_by(request.user)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "agency":
            kwargs["queryset"] = selectors.webhook_agencies(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "agency") if obj is not None else fields

    @admin.display(description=_("sự kiện"))
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events) or str(_("tất cả"))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, secret = actions.create_subscription(
            request.user, url=obj.url, events=obj.events, agency=obj.agency
        )
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
        obj._state.adding = False
        messages.warning(
            request,
            _("Secret of the new subscription, shown only now: %(secret)s") % {"secret": secret},
        )

    @admin.action(description=_("Đổi khoá ký (khoá cũ còn ký thêm một thời gian)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            secret = actions.rotate_secret(request.user, subscription)
            messages.warning(
                request,
                _("New secret of %(url)s, shown only now: %(secret)s")
                % {"url": subscription.url, "secret": secret},
            )

    @admin.action(description=_("Bật lại"))
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset.filter(is_active=False):
            actions.enable_subscription(request.user, subscription)


class WebhookAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    fields = ("at", "outcome", "status_code", "latency_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RankScopedAdmin):
    """The delivery log: read-only; `redeliver` sends chosen rows again."""

    view_rank = ADMIN
    list_display = (
        "event_type",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event_type")
    list_select_related = ("subscription",)
    date_hierarchy = "created_at"
    fields = (
        "subscription",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_latency_ms",
        "last_error",
        "body",
    )
    readonly_fields = fields
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return WebhookDelivery.objects.filter(
            subscription__agency__in=selectors.webhook_agencies(request.user)
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Gửi lại"), permissions=["view"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = actions.redeliver(request.user, queryset)
        messages.success(request, _("%(count)d deliveries queued again.") % {"count": count})
