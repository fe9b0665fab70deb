"""What every kind of case shares: abstract models only, no table of their own.

A case (a dossier, a feedback item) is opened by a citizen, routed to an agency, and moves
through a state table (`casework.engine`). Each concrete case model adds its own fields, its
`Status`, and names the field holding the citizen who opened it (`OWNER_FIELD`).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.i18n import validate_translations
from common.i18n.translations import TRANSLATION_STATUS_HELP, validate_translation_status
from common.models import TimeStampedModel, UUIDModel


class CaseCategory(TimeStampedModel):
    """What a case is about, in the catalog a phone keeps: a code and a translated name."""

    code = models.SlugField(_("mã"), max_length=64, unique=True)
    name = models.JSONField(_("tên"), validators=[validate_translations])
    position = models.PositiveSmallIntegerField(_("thứ tự"), default=0)
    translation_status = models.JSONField(
        _("translation status"),
        default=dict,
        blank=True,
        validators=[validate_translation_status],
        help_text=TRANSLATION_STATUS_HELP,
    )

    class Meta:
        abstract = True
        ordering = ("position", "code")

    def __str__(self) -> str:
        return str(self.name.get("vi", self.code))


class Case(TimeStampedModel):
    """A case: a UUID the phone may choose, a place, an agency handling it and a state.

    Subclasses declare `tracking_code`, `agency`, `status` (with their own names and
    lengths), the owner's foreign key named by `OWNER_FIELD`, and `OPEN`: the states in which
    staff may still forward or comment.
    """

    OWNER_FIELD = "owner"
    # The prefix of the kind's tracking codes (`DV`, `PA`).
    TRACKING_PREFIX = ""
    OPEN: tuple[str, ...] = ()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    administrative_unit = models.ForeignKey(
        "agencies.AdministrativeUnit",
        verbose_name=_("xã/phường"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    # Declared by subclasses; typed here for the engine.
    tracking_code: str
    status: str
    agency_id: uuid.UUID

    class Meta:
        abstract = True
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.tracking_code

    @property
    def owner_id(self) -> uuid.UUID:
        """The id of the citizen who opened the case (the applicant, the author)."""
        return getattr(self, f"{self.OWNER_FIELD}_id")  # type: ignore[no-any-return]

    @property
    def owner(self) -> models.Model:
        return getattr(self, self.OWNER_FIELD)  # type: ignore[no-any-return]


class CaseEvent(UUIDModel):
    """One line of a case's timeline. Subclasses add the case's foreign key and the
    `from_status`/`to_status` columns sized to their state names."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=32)
    note = models.TextField(blank=True)
    internal = models.BooleanField(default=False)
    # What the action carried beyond the note: supplement items, paused working days,
    # assignee, forwarding agencies, the original of a duplicate.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ("created_at",)


class CaseRating(UUIDModel):
    """The owner's rating (1–5) of how a case was handled; one per case (a one-to-one key
    in the subclass)."""

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
        abstract = True
