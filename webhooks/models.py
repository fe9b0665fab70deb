"""Webhook subscriptions of agency systems and their outbox.

A `WebhookSubscription` belongs to an agency and hears of the cases of its whole subtree.
Each event a subscription takes becomes one `WebhookDelivery` (the outbox row, written in
the transaction of the change it announces); each try at sending it leaves a
`WebhookAttempt` (the delivery log).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.models import UUIDModel

# The events a subscription may ask for (an empty list asks for all of them).
EVENT_TYPES = (
    "service_request.created",
    "service_request.status_changed",
    "feedback.created",
    "feedback.status_changed",
)


class WebhookSubscription(UUIDModel):
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("cơ quan"),
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    url = models.URLField(_("địa chỉ nhận"), max_length=500)
    events = models.JSONField(_("sự kiện"), default=list, blank=True)
    # Standard Webhooks secrets (`whsec_<base64>`): the HMAC key is what follows the prefix.
    secret = models.CharField(_("khoá ký"), max_length=100, editable=False)
    # After a rotation the old secret keeps signing beside the new one until this time.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(
        _("khoá cũ còn ký đến"), null=True, blank=True, editable=False
    )
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    disabled_at = models.DateTimeField(_("tắt lúc"), null=True, blank=True)
    disabled_reason = models.CharField(_("lý do tắt"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người tạo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("đăng ký webhook")
        verbose_name_plural = pgettext_lazy("plural", "đăng ký webhook")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.url} ({self.agency_id})"

    def takes(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookDelivery(UUIDModel):
    """One event for one subscription: the outbox row. Its id is the `webhook-id` header,
    the same on every try, so a receiver drops a repeat."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENDING = "sending", _("Đang gửi")
        DELIVERED = "delivered", _("Đã gửi")
        FAILED = "failed", _("Thất bại")

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("đăng ký"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_type = models.CharField(_("sự kiện"), max_length=64)
    # The exact bytes signed and sent (UTF-8 JSON), so every try sends the same body.
    body = models.TextField(_("nội dung"))
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("số lần thử"), default=0)
    next_attempt_at = models.DateTimeField(_("thử lại lúc"), null=True, blank=True)
    lease_until = models.DateTimeField(_("giữ đến"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("đã gửi lúc"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("mã trả lời"), null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(_("thời gian (ms)"), null=True, blank=True)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)

    class Meta:
        verbose_name = _("lần gửi webhook")
        verbose_name_plural = pgettext_lazy("plural", "lần gửi webhook")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("status", "next_attempt_at"))]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per try."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", _("Đã gửi")
        RETRY = "retry", _("Thử lại")
        GAVE_UP = "gave_up", _("Bỏ cuộc")
        REFUSED = "refused", _("Địa chỉ bị chặn")

    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("lần gửi webhook"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
    )
    at = models.DateTimeField(_("lúc"), auto_now_add=True)
    outcome = models.CharField(_("kết quả"), max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("mã trả lời"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("thời gian (ms)"), null=True, blank=True)
    error = models.TextField(_("lỗi"), blank=True)

    class Meta:
        verbose_name = _("lượt thử webhook")
        verbose_name_plural = pgettext_lazy("plural", "lượt thử webhook")
        ordering = ("-at",)

    def __str__(self) -> str:
        return f"{self.outcome} {self.status_code or ''}".strip()
