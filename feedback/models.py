"""Citizen feedback and petitions (phản ánh, kiến nghị — PAKN)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.models import Case, CaseCategory, CaseEvent, CaseRating
from common.models import StoredFile, UUIDModel


class FeedbackCategory(CaseCategory):
    """What a feedback is about; its level decides which agency receives it."""

    class Level(models.TextChoices):
        COMMUNE = "commune", _("Cấp xã")
        PROVINCE = "province", _("Cấp tỉnh")

    default_level = models.CharField(
        _("cấp xử lý mặc định"), max_length=16, choices=Level.choices, default=Level.COMMUNE
    )
    sms_default = models.BooleanField(
        _("nhận phản ánh gửi qua SMS"),
        default=False,
        help_text=_(
            "Phản ánh gửi bằng tin nhắn (PA <nội dung>) vào lĩnh vực này; chỉ một lĩnh vực."
        ),
    )

    class Meta(CaseCategory.Meta):
        verbose_name = _("lĩnh vực phản ánh")
        verbose_name_plural = pgettext_lazy("plural", "lĩnh vực phản ánh")
        constraints = [
            models.UniqueConstraint(
                fields=("sms_default",),
                condition=models.Q(sms_default=True),
                name="one_sms_default_feedback_category",
                violation_error_message=_("Chỉ một lĩnh vực nhận phản ánh gửi qua SMS."),
            )
        ]


class Feedback(Case):
    """One citizen's feedback or petition, routed to one agency."""

    OWNER_FIELD = "author"
    TRACKING_PREFIX = "PA"

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

    class Meta(Case.Meta):
        verbose_name = _("phản ánh, kiến nghị")
        verbose_name_plural = pgettext_lazy("plural", "phản ánh, kiến nghị")
        indexes = [models.Index(fields=("agency", "status"))]


class FeedbackEvent(CaseEvent):
    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)

    class Meta(CaseEvent.Meta):
        verbose_name = _("diễn biến phản ánh")
        verbose_name_plural = pgettext_lazy("plural", "diễn biến phản ánh")


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


class FeedbackRating(CaseRating):
    """The author's rating of the answer; one per feedback."""

    feedback = models.OneToOneField(
        Feedback, verbose_name=_("phản ánh"), on_delete=models.CASCADE, related_name="rating"
    )

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
