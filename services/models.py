from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.models import Case, CaseCategory, CaseEvent, CaseRating
from common.i18n import validate_language_code, validate_translations
from common.i18n.translations import TRANSLATION_STATUS_HELP, validate_translation_status
from common.models import StoredFile, TimeStampedModel


class ServiceCategory(CaseCategory):
    class Meta(CaseCategory.Meta):
        verbose_name = _("lĩnh vực")
        verbose_name_plural = pgettext_lazy("plural", "lĩnh vực")


class PublicService(TimeStampedModel):
    class Level(models.TextChoices):
        COMMUNE = "commune", _("Cấp xã")
        PROVINCE = "province", _("Cấp tỉnh")
        MINISTRY = "ministry", _("Cấp bộ")

    class OnlineLevel(models.TextChoices):
        FULL = "full", _("Toàn trình")
        PARTIAL = "partial", _("Một phần")

    code = models.SlugField(_("mã"), max_length=80, unique=True)
    national_code = models.CharField(_("mã thủ tục quốc gia"), max_length=32, blank=True)
    name = models.JSONField(_("tên"), validators=[validate_translations])
    description = models.JSONField(_("mô tả"), default=dict, blank=True)
    category = models.ForeignKey(
        ServiceCategory,
        verbose_name=_("lĩnh vực"),
        on_delete=models.PROTECT,
        related_name="services",
    )
    level = models.CharField(_("cấp giải quyết"), max_length=16, choices=Level.choices)
    processing_days = models.PositiveSmallIntegerField(_("số ngày làm việc"))
    fee = models.PositiveIntegerField(_("lệ phí (VND)"), default=0)
    online_level = models.CharField(
        _("mức độ trực tuyến"), max_length=16, choices=OnlineLevel.choices
    )
    required_documents = models.JSONField(_("giấy tờ cần nộp"), default=list, blank=True)
    form_schema = models.JSONField(_("mẫu tờ khai (JSON Schema)"), default=dict, blank=True)
    is_active = models.BooleanField(_("đang cung cấp"), default=True)
    translation_status = models.JSONField(
        _("translation status"),
        default=dict,
        blank=True,
        validators=[validate_translation_status],
        help_text=TRANSLATION_STATUS_HELP,
    )

    class Meta:
        verbose_name = _("thủ tục hành chính")
        verbose_name_plural = pgettext_lazy("plural", "thủ tục hành chính")
        ordering = ("code",)
        # The translator view (`common.i18n.admin_translations`) covers the catalog, feedback
        # categories and notification texts alike; the right to use it sits here.
        permissions = [("can_translate", "Can translate texts in the translator view")]

    def __str__(self) -> str:
        return str(self.name.get("vi", self.code))


class SupplementItemKind(models.TextChoices):
    """What a supplement request asks for: a document to attach, or a form field to fix."""

    DOCUMENT = "document", _("Giấy tờ")
    FIELD = "field", _("Thông tin trên tờ khai")


class ServiceRequest(Case):
    """A dossier: one citizen's request for one public service."""

    OWNER_FIELD = "applicant"
    TRACKING_PREFIX = "DV"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Đã nộp")
        RECEIVED = "received", _("Đã tiếp nhận")
        SUPPLEMENT_REQUESTED = "supplement_requested", _("Yêu cầu bổ sung")
        IN_PROGRESS = "in_progress", _("Đang xử lý")
        RESULT_READY = "result_ready", _("Có kết quả")
        COMPLETED = "completed", _("Đã trả kết quả")
        REJECTED = "rejected", _("Từ chối")
        CANCELLED = "cancelled", _("Đã huỷ")

    FINAL = (Status.COMPLETED, Status.REJECTED, Status.CANCELLED)
    OPEN = (
        Status.SUBMITTED,
        Status.RECEIVED,
        Status.SUPPLEMENT_REQUESTED,
        Status.IN_PROGRESS,
        Status.RESULT_READY,
    )

    tracking_code = models.CharField(_("mã hồ sơ"), max_length=20, unique=True)
    service = models.ForeignKey(
        PublicService,
        verbose_name=_("thủ tục"),
        on_delete=models.PROTECT,
        related_name="requests",
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người nộp"),
        on_delete=models.PROTECT,
        related_name="service_requests",
    )
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("cơ quan giải quyết"),
        on_delete=models.PROTECT,
        related_name="service_requests",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cán bộ thụ lý"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
    )
    status = models.CharField(
        _("trạng thái"),
        max_length=24,
        choices=Status.choices,
        default=Status.SUBMITTED,
        db_index=True,
    )
    form_data = models.JSONField(_("tờ khai"), default=dict, blank=True)
    note = models.TextField(_("ghi chú"), blank=True)
    received_at = models.DateTimeField(_("ngày tiếp nhận"), null=True, blank=True)
    due_at = models.DateTimeField(_("hạn trả kết quả"), null=True, blank=True)
    # Assisted submission: the officer who filed the dossier for `applicant` (null when the
    # applicant filed it themselves). Both see it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cán bộ nộp hộ"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assisted_requests",
    )
    # The open supplement request, as `[{id, kind, label, field, answer}]`; kept on the row
    # (not a table) so the detail costs no extra query. Replaced by each new request.
    supplement_items = models.JSONField(_("nội dung yêu cầu bổ sung"), default=list, blank=True)
    supplement_requested_at = models.DateTimeField(
        _("thời điểm yêu cầu bổ sung"), null=True, blank=True
    )
    status_before_supplement = models.CharField(
        _("trạng thái trước khi yêu cầu bổ sung"), max_length=24, blank=True
    )
    # Copied from the applicant's account when they close it (`DELETE me/`): the law keeps
    # the dossier for its retention period and the handling agency still sees who filed it.
    # Cleared, with the form, when the period ends (`pseudonymise_retained_dossiers`).
    applicant_name_snapshot = models.CharField(
        _("họ tên người nộp (lưu giữ)"), max_length=150, blank=True
    )
    applicant_phone_snapshot = models.CharField(
        _("số điện thoại người nộp (lưu giữ)"), max_length=20, blank=True
    )
    applicant_erased_at = models.DateTimeField(
        _("người nộp xoá tài khoản lúc"), null=True, blank=True
    )
    pseudonymised_at = models.DateTimeField(_("ẩn danh hoá lúc"), null=True, blank=True)

    class Meta(Case.Meta):
        verbose_name = _("hồ sơ")
        verbose_name_plural = pgettext_lazy("plural", "hồ sơ")
        indexes = [
            models.Index(fields=("agency", "status")),
            # Scoped lists, newest first (common.api.pagination): an agency's and an
            # applicant's walk their own rows, not the whole table's created_at index.
            models.Index(fields=("agency", "-created_at"), name="sr_agency_created"),
            models.Index(fields=("applicant", "-created_at"), name="sr_applicant_created"),
            # A phone's sync (`?updated_since=`) of its own dossiers.
            models.Index(fields=("applicant", "updated_at"), name="sr_applicant_updated"),
            # Open dossiers of an agency by due date (queues, overdue, reminders): a small
            # index of the rows still in hand.
            models.Index(
                fields=("agency", "due_at"),
                name="sr_open_agency_due",
                condition=~models.Q(status__in=("completed", "rejected", "cancelled")),
            ),
        ]

    @property
    def applicant_display_name(self) -> str:
        """The applicant's name as staff see it: the copy kept when the account was closed."""
        if self.applicant_erased_at is not None:
            return self.applicant_name_snapshot
        return self.applicant.full_name

    @property
    def applicant_display_phone(self) -> str:
        if self.applicant_erased_at is not None:
            return self.applicant_phone_snapshot
        return self.applicant.phone

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_at is not None
            and self.status not in self.FINAL
            and self.status != self.Status.RESULT_READY
            and timezone.now() > self.due_at
        )


class ServiceRequestEvent(CaseEvent):
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)

    class Meta(CaseEvent.Meta):
        verbose_name = _("diễn biến hồ sơ")
        verbose_name_plural = pgettext_lazy("plural", "diễn biến hồ sơ")


class ServiceRequestAttachment(StoredFile):
    """A file on a dossier. The bytes live in `common.files.private_storage` under a random
    name and leave only through signed links (`common.files.signed_url`)."""

    class Kind(models.TextChoices):
        DOCUMENT = "document", _("Giấy tờ")
        PHOTO = "photo", _("Ảnh")
        AUDIO = "audio", _("Ghi âm")
        RESULT = "result", _("Kết quả giải quyết")

    request = models.ForeignKey(
        ServiceRequest,
        verbose_name=_("hồ sơ"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)

    class Meta(StoredFile.Meta):
        verbose_name = _("tệp đính kèm hồ sơ")
        verbose_name_plural = pgettext_lazy("plural", "tệp đính kèm hồ sơ")


class ServiceRequestRating(CaseRating):
    """The applicant's rating of a completed dossier; one per dossier."""

    request = models.OneToOneField(
        ServiceRequest,
        verbose_name=_("hồ sơ"),
        on_delete=models.CASCADE,
        related_name="rating",
    )

    class Meta:
        verbose_name = _("đánh giá hồ sơ")
        verbose_name_plural = pgettext_lazy("plural", "đánh giá hồ sơ")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="service_rating_score_1_5"
            )
        ]


class AudioHelp(StoredFile):
    """A short recorded explanation of a service or a category, in one language.

    For people who read little or not at all: a phone plays it beside the text. One per
    language and parent; the file lives in private storage and leaves through signed links.
    """

    service = models.ForeignKey(
        PublicService,
        verbose_name=_("thủ tục hành chính"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audio_help",
    )
    category = models.ForeignKey(
        ServiceCategory,
        verbose_name=_("lĩnh vực"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audio_help",
    )
    language = models.CharField(_("ngôn ngữ"), max_length=12, validators=[validate_language_code])
    duration = models.FloatField(_("duration (seconds)"))

    class Meta(StoredFile.Meta):
        verbose_name = _("audio help")
        verbose_name_plural = _("audio help")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(service__isnull=False, category__isnull=True)
                    | models.Q(service__isnull=True, category__isnull=False)
                ),
                name="audio_help_one_parent",
            ),
            models.UniqueConstraint(
                fields=("service", "language"),
                condition=models.Q(service__isnull=False),
                name="unique_audio_help_per_service_language",
            ),
            models.UniqueConstraint(
                fields=("category", "language"),
                condition=models.Q(category__isnull=False),
                name="unique_audio_help_per_category_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id or self.category_id} [{self.language}] {self.name}"
