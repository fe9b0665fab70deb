import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class UUIDModel(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class Language(models.Model):
    """A language the service can speak. Adding one is a row, never a migration."""

    code = models.CharField(_("mã ISO 639"), max_length=12, primary_key=True)
    native_name = models.CharField(_("tên gọi riêng"), max_length=60)
    english_name = models.CharField(_("tên tiếng Anh"), max_length=60)
    enabled = models.BooleanField(_("đang dùng"), default=True)
    position = models.PositiveSmallIntegerField(_("thứ tự"), default=100)

    class Meta:
        verbose_name = _("ngôn ngữ")
        verbose_name_plural = pgettext_lazy("plural", "ngôn ngữ")
        ordering = ("position", "code")

    def __str__(self) -> str:
        return f"{self.native_name} ({self.code})"


class IdempotencyRecord(models.Model):
    """The first response to a create call with an `Idempotency-Key`, kept 24 hours."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    user_id = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user_id", "key"), name="unique_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class AuditLogEntry(models.Model):
    """Who did what to which object, and when."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("thời điểm"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người thực hiện"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("hành động"), max_length=64, db_index=True)
    object_type = models.CharField(_("loại đối tượng"), max_length=100)
    object_id = models.CharField(_("mã đối tượng"), max_length=64)
    agency_id = models.UUIDField(_("cơ quan"), null=True, blank=True, db_index=True)
    details = models.JSONField(_("chi tiết"), default=dict, blank=True)

    class Meta:
        verbose_name = _("nhật ký truy cập và thao tác")
        verbose_name_plural = pgettext_lazy("plural", "nhật ký truy cập và thao tác")
        ordering = ("-at",)
        indexes = [models.Index(fields=("object_type", "object_id"))]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class SyncRemoval(models.Model):
    """An item that left someone's view, so `?updated_since=` can report it in `removed`.

    `user` null means it left everyone's view (e.g. a service withdrawn from the catalog).
    """

    kind = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    removed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=("kind", "removed_at"))]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} removed {self.removed_at:%Y-%m-%d %H:%M}"


class StoredFile(UUIDModel):
    """An uploaded file kept in private storage (`common.files`); subclasses add the parent
    object and the kinds they accept."""

    content_type = models.CharField(_("kiểu nội dung"), max_length=100)
    size = models.PositiveIntegerField(_("dung lượng (byte)"))
    name = models.CharField(_("tên tệp"), max_length=255)
    storage_name = models.CharField(_("tên lưu trữ"), max_length=255, unique=True, editable=False)
    preview_storage_name = models.CharField(
        _("tên lưu trữ ảnh xem trước"), max_length=255, blank=True, editable=False
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người tải lên"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.name


class Upload(UUIDModel):
    """A resumable (tus) upload: bytes arrive in pieces, then the file is attached by its id.

    The bytes live as pieces in the private storage (`common.files.uploads.piece_name`), never
    in a URL-served place. `offset` is how many of them are safely written; `length` is fixed when
    the upload is created. Until `attached_at` is set the upload belongs to nobody but its
    owner; once attached its bytes are gone and the row only remembers that.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    length = models.PositiveIntegerField(_("length (bytes)"))
    offset = models.PositiveIntegerField(_("bytes received"), default=0)
    # The client's names for the file, from Upload-Metadata: shown, never trusted.
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    filetype = models.CharField(_("declared type"), max_length=100, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    attached_at = models.DateTimeField(_("attached at"), null=True, blank=True)

    class Meta:
        verbose_name = _("resumable upload")
        verbose_name_plural = _("resumable uploads")
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offset__lte=models.F("length")),
                name="upload_offset_within_length",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename or self.pk} ({self.offset}/{self.length})"

    @property
    def is_finished(self) -> bool:
        return self.offset == self.length
