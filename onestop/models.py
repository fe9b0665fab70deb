from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.models import UUIDModel


class InboundSms(UUIDModel):
    """One SMS a citizen sent to the service's number, relayed by the SMS gateway, and what
    came of it (`onestop.sms`). Kept for every message, refused ones included, so staff can
    see what people asked and what they were told."""

    class Command(models.TextChoices):
        STATUS = "status", _("Tra cứu (TT)")
        PETITION = "petition", _("Phản ánh (PA)")
        HELP = "help", _("Hướng dẫn (HD)")

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Đã trả lời trạng thái")
        NOT_FOUND = "not_found", _("Không tìm thấy")
        FILED = "filed", _("Đã tạo phản ánh")
        HELP = "help", _("Đã gửi hướng dẫn")
        NEEDS_COMMUNE = "needs_commune", _("Thiếu mã xã")
        REFUSED = "refused", _("Không tiếp nhận")
        RATE_LIMITED = "rate_limited", _("Vượt giới hạn, không trả lời")
        IGNORED = "ignored", _("Số gửi không hợp lệ, không trả lời")

    gateway_id = models.CharField(_("mã tin của nhà mạng"), max_length=100, unique=True)
    phone = models.CharField(_("số điện thoại"), max_length=32)
    text = models.TextField(_("nội dung"))
    received_at = models.DateTimeField(_("thời điểm nhận"))
    command = models.CharField(_("lệnh"), max_length=16, choices=Command.choices)
    outcome = models.CharField(_("kết quả"), max_length=16, choices=Outcome.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tài khoản gửi"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tracking_code = models.CharField(_("mã hồ sơ, phản ánh"), max_length=20, blank=True)
    feedback = models.ForeignKey(
        "feedback.Feedback",
        verbose_name=_("phản ánh đã tạo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reply = models.ForeignKey(
        "notifications.SmsMessage",
        verbose_name=_("tin trả lời"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("tin nhắn đến")
        verbose_name_plural = pgettext_lazy("plural", "tin nhắn đến")
        ordering = ("-created_at",)
        # The per-number limits count a phone's recent messages.
        indexes = [models.Index(fields=("phone", "created_at"))]

    def __str__(self) -> str:
        return f"{self.get_command_display()} · {self.get_outcome_display()}"


class Open311Client(UUIDModel):
    """An application that files and reads feedback through Open311 GeoReport v2
    (`onestop.open311`). Its `api_key` is issued in the admin and kept only as a hash."""

    name = models.CharField(_("tên ứng dụng"), max_length=200)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("đầu khoá"), max_length=12, editable=False)
    requests_per_minute = models.PositiveIntegerField(_("số yêu cầu mỗi phút"), default=60)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    # The author of what the application files for a phone whose account is not verified.
    system_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tài khoản hệ thống"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("ứng dụng Open311")
        verbose_name_plural = pgettext_lazy("plural", "ứng dụng Open311")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Open311Request(models.Model):
    """A feedback filed through Open311: which application filed it, and its token."""

    feedback = models.OneToOneField(
        "feedback.Feedback",
        verbose_name=_("phản ánh"),
        on_delete=models.CASCADE,
        related_name="open311",
        primary_key=True,
    )
    client = models.ForeignKey(
        Open311Client,
        verbose_name=_("ứng dụng Open311"),
        on_delete=models.PROTECT,
        related_name="requests",
    )
    token = models.CharField(_("token"), max_length=32, unique=True)
    # GeoReport's `media_url`: a link to the photo, shown back to the filing application only.
    media_url = models.URLField(_("đường dẫn ảnh"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("yêu cầu Open311")
        verbose_name_plural = pgettext_lazy("plural", "yêu cầu Open311")

    def __str__(self) -> str:
        return self.token
