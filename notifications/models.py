import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.i18n import validate_language_code
from common.models import TimeStampedModel, UUIDModel


class Device(TimeStampedModel):
    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người dùng"),
        on_delete=models.CASCADE,
        related_name="devices",
    )
    token = models.CharField(_("FCM token"), max_length=512, unique=True)
    platform = models.CharField(_("nền tảng"), max_length=16, choices=Platform.choices)
    app_version = models.CharField(_("phiên bản ứng dụng"), max_length=32, blank=True)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    last_seen_at = models.DateTimeField(_("lần cuối đăng ký"), null=True, blank=True)
    deactivated_reason = models.CharField(_("lý do ngừng"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("thiết bị")
        verbose_name_plural = pgettext_lazy("plural", "thiết bị")
        indexes = [models.Index(fields=("user", "is_active"))]

    def __str__(self) -> str:
        return f"{self.platform} {self.token[:12]}…"


class Notification(UUIDModel):
    """One row of a user's in-app inbox, rendered in the user's language."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người nhận"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("loại"), max_length=64)
    title = models.CharField(_("tiêu đề"), max_length=200)
    body = models.TextField(_("nội dung"))
    data = models.JSONField(_("dữ liệu"), default=dict, blank=True)
    read_at = models.DateTimeField(_("đã đọc lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("thông báo")
        verbose_name_plural = pgettext_lazy("plural", "thông báo")
        indexes = [models.Index(fields=("user", "-created_at"))]

    def __str__(self) -> str:
        return self.title


class PushMessage(UUIDModel):
    """Outbox row: one push to one device, written in the transaction of the change."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENDING = "sending", _("Đang gửi")
        SENT = "sent", _("Đã gửi")
        DEAD = "dead", _("Thất bại")

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("thông báo"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pushes",
    )
    device = models.ForeignKey(
        Device, verbose_name=_("thiết bị"), on_delete=models.CASCADE, related_name="pushes"
    )
    token = models.CharField(_("FCM token"), max_length=512)
    title = models.CharField(_("tiêu đề"), max_length=200)
    body = models.TextField(_("nội dung"))
    data = models.JSONField(_("dữ liệu"), default=dict, blank=True)
    collapse_key = models.CharField(_("khoá gộp"), max_length=100, blank=True)
    status = models.CharField(
        _("trạng thái"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
    )
    attempts = models.PositiveSmallIntegerField(_("số lần thử"), default=0)
    next_attempt_at = models.DateTimeField(_("thử lại lúc"), null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(_("giữ đến"), null=True, blank=True)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)
    sent_at = models.DateTimeField(_("đã gửi lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("tin đẩy")
        verbose_name_plural = pgettext_lazy("plural", "tin đẩy")
        # The sweep asks "what is due" by status and time, and the device API retires a
        # device's pending rows.
        indexes = [
            models.Index(fields=("status", "next_attempt_at")),
            models.Index(fields=("device", "status")),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.token[:12]}… ({self.status})"


class NotificationTemplate(models.Model):
    """Title, body and SMS text of one kind of notification in one language.

    Texts are `str.format` templates: `{tracking_code}` and the other placeholders that
    `notifications.messages.PLACEHOLDERS` lists for the kind. Rows are data, edited in the
    admin; vi and en are seeded by a migration.
    """

    kind = models.CharField(_("loại"), max_length=64)
    language = models.CharField(_("ngôn ngữ"), max_length=12, validators=[validate_language_code])
    title = models.CharField(_("tiêu đề"), max_length=200)
    body = models.TextField(_("nội dung"))
    sms = models.TextField(
        _("tin nhắn SMS"),
        blank=True,
        help_text=_("Để trống: tin nhắn là tiêu đề kèm mã hồ sơ."),
    )
    reviewed = models.BooleanField(_("đã duyệt"), default=False)
    # Demo text in a minority language that no speaker has checked: shown like any other
    # translation, but never reviewed and not counted in `GET languages/` completeness.
    is_sample = models.BooleanField(
        _("sample text"),
        default=False,
        help_text=_("Sample text nobody has checked yet; it is never marked reviewed."),
    )
    updated_at = models.DateTimeField(_("cập nhật lúc"), auto_now=True)

    class Meta:
        verbose_name = _("mẫu thông báo")
        verbose_name_plural = pgettext_lazy("plural", "mẫu thông báo")
        ordering = ("kind", "language")
        constraints = [
            models.UniqueConstraint(
                fields=("kind", "language"), name="unique_notification_template"
            ),
            models.CheckConstraint(
                condition=~models.Q(reviewed=True, is_sample=True),
                name="notification_template_sample_not_reviewed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.language}]"


class SmsMessage(UUIDModel):
    """Outbox row of one SMS: a notification's fallback (the record its per-phone rate
    limit counts), a one-time code or a security notice (`outbox.queue_sms`).

    Written in the transaction of the change (like `PushMessage`); sent after commit by a
    worker, or by the beat sweep when publishing failed. Fallbacks over the limit are kept
    as `suppressed`, so staff can see what was not sent and why. A one-time code's digits
    are masked once its row is done with.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENDING = "sending", _("Đang gửi")
        SENT = "sent", _("Đã gửi")
        FAILED = "failed", _("Thất bại")
        SUPPRESSED = "suppressed", _("Vượt giới hạn")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người nhận"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    phone = models.CharField(_("số điện thoại"), max_length=20)
    kind = models.CharField(_("loại"), max_length=64)
    text = models.TextField(_("nội dung"))
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("số lần thử"), default=0)
    lease_until = models.DateTimeField(_("giữ đến"), null=True, blank=True)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)
    sent_at = models.DateTimeField(_("đã gửi lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("tin nhắn SMS")
        verbose_name_plural = pgettext_lazy("plural", "tin nhắn SMS")
        indexes = [
            # The rate limit: "how many for this phone in the last hour".
            models.Index(fields=("phone", "created_at")),
            models.Index(fields=("status", "created_at")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.phone[:3]}…{self.phone[-3:]} ({self.status})"


class Announcement(UUIDModel):
    """A message from an agency's manager to everyone whose home commune lies in an area.

    The fan-out to inboxes and pushes runs in batches after commit (`fanout_cursor` is the
    last recipient id done, so a retried batch resumes instead of repeating).
    """

    title = models.CharField(_("tiêu đề"), max_length=200)
    body = models.TextField(_("nội dung"))
    language = models.CharField(
        _("ngôn ngữ"), max_length=12, default="vi", validators=[validate_language_code]
    )
    administrative_unit = models.ForeignKey(
        "agencies.AdministrativeUnit",
        verbose_name=_("địa bàn"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người gửi"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recipient_count = models.PositiveIntegerField(_("số người nhận"), default=0)
    fanout_cursor = models.UUIDField(null=True, blank=True, editable=False)
    fanout_done_at = models.DateTimeField(_("gửi xong lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("thông báo chung")
        verbose_name_plural = pgettext_lazy("plural", "thông báo chung")
        indexes = [models.Index(fields=("fanout_done_at", "updated_at"))]

    def __str__(self) -> str:
        return self.title
