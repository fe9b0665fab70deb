import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.models import TimeStampedModel


class AdministrativeUnit(models.Model):
    """A province or a commune (two tiers since 1 July 2025).

    Province and commune codes come from the official list and overlap (province 8 and
    commune 8 both exist), so the pair (level, code) is the natural key.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", _("Tỉnh/thành phố")
        COMMUNE = "commune", _("Xã/phường/đặc khu")

    code = models.PositiveIntegerField(_("mã"))
    level = models.CharField(_("cấp"), max_length=16, choices=Level.choices)
    name = models.CharField(_("tên"), max_length=120)
    division_type = models.CharField(_("loại"), max_length=40, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("trực thuộc"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    search_name = models.CharField(max_length=120, db_index=True, editable=False)

    class Meta:
        verbose_name = _("đơn vị hành chính")
        verbose_name_plural = pgettext_lazy("plural", "đơn vị hành chính")
        ordering = ("level", "code")
        constraints = [
            models.UniqueConstraint(fields=("level", "code"), name="unique_unit_level_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Agency(TimeStampedModel):
    """A node of the agency tree (ministry → provincial boards → commune offices).

    `path` is a materialised path of ancestor ids so a subtree is one indexed prefix query;
    `agencies.actions.move_agency` keeps it right when a reorganisation moves a branch.
    """

    class Level(models.TextChoices):
        MINISTRY = "ministry", _("Bộ/ngành trung ương")
        PROVINCE = "province", _("Cấp tỉnh")
        COMMUNE = "commune", _("Cấp xã")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(_("mã"), max_length=64, unique=True)
    name = models.CharField(_("tên"), max_length=200)
    level = models.CharField(_("cấp"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("cơ quan cấp trên"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=1000, db_index=True, editable=False)
    administrative_unit = models.ForeignKey(
        AdministrativeUnit,
        verbose_name=_("địa bàn"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agencies",
    )
    address = models.CharField(_("địa chỉ"), max_length=300, blank=True)
    phone = models.CharField(_("điện thoại"), max_length=32, blank=True)
    opening_hours = models.CharField(_("giờ làm việc"), max_length=200, blank=True)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)

    class Meta:
        verbose_name = _("cơ quan")
        verbose_name_plural = pgettext_lazy("plural", "cơ quan")
        ordering = ("path",)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Invariant: the path always follows the parent. Descendants are re-pathed by
        # agencies.actions.move_agency, the one place that changes a parent.
        self.path = self.compute_path()
        super().save(*args, **kwargs)

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id and self.parent else ""
        return f"{prefix}{self.id.hex}/"

    @property
    def lineage_ids(self) -> list[uuid.UUID]:
        """Ids of the agencies above this one, from the root, and of this one, last."""
        return [uuid.UUID(hex=part) for part in self.path.strip("/").split("/") if part]


class StaffMembership(TimeStampedModel):
    class Role(models.TextChoices):
        OFFICER = "officer", _("Cán bộ")
        MANAGER = "manager", _("Lãnh đạo")
        ADMIN = "admin", _("Quản trị")

    RANK = {Role.OFFICER: 1, Role.MANAGER: 2, Role.ADMIN: 3}

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cán bộ"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("cơ quan"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("vai trò"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("phân công cán bộ")
        verbose_name_plural = pgettext_lazy("plural", "phân công cán bộ")
        constraints = [
            models.UniqueConstraint(fields=("user", "agency"), name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.agency} ({self.get_role_display()})"

    @property
    def rank(self) -> int:
        return self.RANK[self.Role(self.role)]


class CalendarOverride(models.Model):
    """A day that differs from the `holidays` VN calendar: a compensatory working Saturday,
    or an extra day off decided by the government."""

    date = models.DateField(_("ngày"), unique=True)
    is_working_day = models.BooleanField(_("là ngày làm việc"))
    note = models.CharField(_("ghi chú"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("điều chỉnh lịch làm việc")
        verbose_name_plural = pgettext_lazy("plural", "điều chỉnh lịch làm việc")
        ordering = ("date",)

    def __str__(self) -> str:
        return f"{self.date} {'làm việc' if self.is_working_day else 'nghỉ'}"
