"""Citizen feedback and petitions (phản ánh, kiến nghị — PAKN)."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.i18n import validate_translations
from common.models import StoredFile, TimeStampedModel, UUIDModel
from common.translations import TRANSLATION_STATUS_HELP, validate_translation_status


class FeedbackCategory(TimeStampedModel):
    """What a feedback is about; its level decides which agency receives it."""

    class Level(models.TextChoices):
        COMMUNE = "commune", _("Cấp xã")
        PROVINCE = "province", _("Cấp tỉnh")

    code = models.SlugField(_("mã"), max_length=64, unique=True)
    name = models.JSONField(_("tên"), validators=[validate_translations])
    default_level = models.CharField(
        _("cấp xử lý mặc định"), max_length=16, choices=Level.choices, default=Level.COMMUNE
    )
    position = models.PositiveSmallIntegerField(_("thứ tự"), default=0)
    translation_status = models.JSONField(
        _("translation status"),
        default=dict,
        blank=True,
        validators=[validate_translation_status],
        help_text=TRANSLATION_STATUS_HELP,
    )

    class Meta:
        verbose_name = _("lĩnh vực phản ánh")
        verbose_name_plural = pgettext_lazy("plural", "lĩnh vực phản ánh")
        ordering = ("position", "code")

    def __str__(self) -> str:
        return str(self.name.get("vi", self.code))


class Feedback(TimeStampedModel):
    """One citizen's feedback or petition, routed to one agency."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Đã gửi")
        IN_PROGRESS = "in_progress", _("Đang xử lý")
        ANSWERED = "answered", _("Đã trả lời")
        CLOSED = "closed", _("Đã đóng")
        REJECTED = "rejected", _("Không được tiếp nhận")
        WITHDRAWN = "withdrawn", _("Đã rút")

    OPEN = (Status.SUBMITTED, Status.IN_PROGRESS, Status.ANSWERED)
    # What the public feed shows: accepting is the moderation step.
    PUBLISHED = (Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tracking_code = models.CharField(_("mã phản ánh"), max_length=20, unique=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người gửi"),
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    category = models.ForeignKey(
        FeedbackCategory,
        verbose_name=_("lĩnh vực"),
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    administrative_unit = models.ForeignKey(
        "agencies.AdministrativeUnit",
        verbose_name=_("xã/phường"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    village = models.CharField(_("thôn/bản"), max_length=120, blank=True)
    latitude = models.DecimalField(
        _("vĩ độ"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("kinh độ"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    is_anonymous = models.BooleanField(_("ẩn danh"), default=False)
    is_public = models.BooleanField(_("đồng ý công khai"), default=False)
    title = models.CharField(_("tiêu đề"), max_length=200)
    content = models.TextField(_("nội dung"), max_length=5000)
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("cơ quan xử lý"),
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    status = models.CharField(
        _("trạng thái"),
        max_length=16,
        choices=Status.choices,
        default=Status.SUBMITTED,
        db_index=True,
    )
    answer = models.TextField(_("trả lời"), blank=True)
    answered_at = models.DateTimeField(_("thời điểm trả lời"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("trùng với"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    reopened = models.BooleanField(_("đã mở lại"), default=False)
    support_count = models.PositiveIntegerField(_("số người ủng hộ"), default=0)
    client_created_at = models.DateTimeField(_("thời điểm tạo trên máy"), null=True, blank=True)

    class Meta:
        verbose_name = _("phản ánh, kiến nghị")
        verbose_name_plural = pgettext_lazy("plural", "phản ánh, kiến nghị")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("agency", "status"))]

    def __str__(self) -> str:
        return self.tracking_code


class FeedbackEvent(UUIDModel):
    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    internal = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("diễn biến phản ánh")
        verbose_name_plural = pgettext_lazy("plural", "diễn biến phản ánh")
        ordering = ("created_at",)


class FeedbackSupport(UUIDModel):
    """A "me too": one per user and feedback."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback_supports"
    )

    class Meta:
        verbose_name = _("ủng hộ phản ánh")
        verbose_name_plural = pgettext_lazy("plural", "ủng hộ phản ánh")
        constraints = [
            models.UniqueConstraint(fields=("feedback", "user"), name="feedback_support_once")
        ]


class FeedbackRating(UUIDModel):
    """The author's rating of the answer; one per feedback."""

    feedback = models.OneToOneField(
        Feedback, verbose_name=_("phản ánh"), on_delete=models.CASCADE, related_name="rating"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người đánh giá"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    score = models.PositiveSmallIntegerField(
        _("điểm"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("nhận xét"), blank=True)

    class Meta:
        verbose_name = _("đánh giá trả lời")
        verbose_name_plural = pgettext_lazy("plural", "đánh giá trả lời")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="feedback_rating_score_1_5"
            )
        ]


class FeedbackAttachment(StoredFile):
    """A photo or the voice note of a feedback, in private storage (`common.files`)."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Ảnh")
        AUDIO = "audio", _("Ghi âm")

    feedback = models.ForeignKey(
        Feedback, verbose_name=_("phản ánh"), on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)

    class Meta(StoredFile.Meta):
        verbose_name = _("tệp đính kèm phản ánh")
        verbose_name_plural = pgettext_lazy("plural", "tệp đính kèm phản ánh")
