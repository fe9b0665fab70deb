import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.crypto import EncryptedTextField
from common.i18n import DEFAULT_LANGUAGE
from common.phones import normalize_phone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, phone: str, password: str | None, **fields: object) -> "User":
        normalized = normalize_phone(phone)
        if not normalized:
            raise ValidationError({"phone": _("Enter a valid phone number.")})
        user = self.model(phone=normalized, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, phone: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(phone, password, **fields)

    def create_superuser(self, phone: str, password: str | None = None, **fields: object) -> "User":
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(phone, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(phone=normalize_phone(username or "") or username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person using the service: a citizen, or a staff member of an agency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(_("số điện thoại"), max_length=20, unique=True)
    full_name = models.CharField(_("họ và tên"), max_length=150)
    preferred_language = models.CharField(
        _("ngôn ngữ ưa dùng"), max_length=12, default=DEFAULT_LANGUAGE
    )
    administrative_unit = models.ForeignKey(
        "agencies.AdministrativeUnit",
        verbose_name=_("xã/phường cư trú"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"level": "commune"},
    )
    is_staff = models.BooleanField(_("là cán bộ"), default=False)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    # False for an account an officer created when filing a dossier for the person
    # (assisted submission): it has no usable password until the person claims it.
    is_claimed = models.BooleanField(_("đã xác nhận chủ tài khoản"), default=True)
    # When a one-time code sent to `phone` was last entered correctly: proof that the account
    # holder owns the number. Accounts from before codes existed have none and keep working;
    # dossiers filed for the phone at a public office stay hidden from them until then.
    phone_verified_at = models.DateTimeField(_("xác thực số điện thoại lúc"), null=True, blank=True)
    date_joined = models.DateTimeField(_("ngày đăng ký"), default=timezone.now)
    # Carried by every access token (`ver`); raising it cuts every access token at once
    # (log out everywhere, a new password or phone, deactivation).
    token_version = models.PositiveIntegerField(default=0, editable=False)
    # Sensitive personal data (Decree 13/2023 art. 2.4): the code of an `EthnicGroup`, kept
    # only while the `ethnic_group` consent is active, encrypted at rest (`common.crypto`),
    # shown to its owner only.
    ethnic_group = EncryptedTextField(_("dân tộc"), blank=True, default="", editable=False)
    # When the person closed the account (`DELETE me/`): the row stays, anonymised, for the
    # records that still point at it (dossiers kept by law, anonymous feedback).
    deleted_at = models.DateTimeField(_("xoá tài khoản lúc"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("người dùng")
        verbose_name_plural = pgettext_lazy("plural", "người dùng")

    def __str__(self) -> str:
        return f"{self.full_name} ({self.phone})"


class OneTimeCode(models.Model):
    """A one-time code sent by SMS to prove that the person holds a phone, for one purpose.

    Only a keyed hash of the code is kept. A code serves once, for one purpose, until it
    expires, and dies after too many wrong guesses; only the latest code of a phone and
    purpose counts. Every request leaves a row, also when no SMS went out (the phone has no
    account to reset…), so that the limits answer the same whether or not an account exists.
    """

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Đăng ký")
        RESET_PASSWORD = "reset_password", _("Đặt lại mật khẩu")
        CLAIM = "claim", _("Nhận tài khoản")
        CHANGE_PHONE = "change_phone", _("Đổi số điện thoại")
        VERIFY_PHONE = "verify_phone", _("Xác thực số điện thoại")
        DELETE_ACCOUNT = "delete_account", _("Xoá tài khoản")

    phone = models.CharField(_("số điện thoại"), max_length=20)
    purpose = models.CharField(_("mục đích"), max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    # False when no SMS went out: the purpose does not apply to this phone.
    sent = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("mã xác thực một lần")
        verbose_name_plural = pgettext_lazy("plural", "mã xác thực một lần")
        indexes = [models.Index(fields=["phone", "-created_at"], name="otp_phone_latest")]

    def __str__(self) -> str:
        return f"OneTimeCode({self.purpose}, {self.created_at:%Y-%m-%d %H:%M})"


class Session(models.Model):
    """A signed-in app: one family of refresh tokens, each rotation replacing the last.

    Only the latest refresh token of a family (`current_jti`) may be spent. The one before
    it, sent again within the grace (the phone lost the answer), gets the same answer again
    (`successor`); sent later, it means the family was stolen and the session is revoked.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    platform = models.CharField(_("nền tảng"), max_length=16, blank=True)
    app_version = models.CharField(_("phiên bản ứng dụng"), max_length=32, blank=True)
    # Signed in with a staff second factor (TOTP): its tokens carry `mfa`.
    second_factor = models.BooleanField(_("có xác thực hai lớp"), default=False)
    created_at = models.DateTimeField(_("bắt đầu lúc"), default=timezone.now)
    # Written when a refresh token is spent, not on every request.
    last_used_at = models.DateTimeField(_("dùng lần cuối lúc"), null=True, blank=True)
    expires_at = models.DateTimeField(_("hết hạn lúc"))
    current_jti = models.CharField(max_length=64)
    previous_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    successor = models.JSONField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("thu hồi lúc"), null=True, blank=True)
    revoke_reason = models.CharField(_("lý do thu hồi"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("phiên đăng nhập")
        verbose_name_plural = pgettext_lazy("plural", "phiên đăng nhập")
        indexes = [models.Index(fields=["user", "revoked_at"], name="session_user_live")]

    def __str__(self) -> str:
        return f"Session({self.platform or '?'}, {self.created_at:%Y-%m-%d %H:%M})"


class EthnicGroup(models.Model):
    """One of the 54 ethnic groups of Vietnam, as the General Statistics Office lists them
    (Quyết định 1019/QĐ-TCTK, 2008): reference data loaded by a migration."""

    code = models.CharField(_("mã"), max_length=2, primary_key=True)
    name = models.CharField(_("tên dân tộc"), max_length=64)
    other_names = models.JSONField(_("tên gọi khác"), default=list, blank=True)

    class Meta:
        verbose_name = _("dân tộc")
        verbose_name_plural = pgettext_lazy("plural", "dân tộc")
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Consent(models.Model):
    """One consent of a person to one purpose, under one version of its text (Decree
    13/2023 art. 11; Personal Data Protection Law): given at `given_at`, withdrawn at
    `withdrawn_at`. Giving again after a withdrawal opens a new record, so the history
    stays; at most one record per person and purpose is active."""

    class Purpose(models.TextChoices):
        LOCATION = "location", _("Vị trí chính xác trong phản ánh")
        ETHNIC_GROUP = "ethnic_group", _("Dân tộc trong hồ sơ cá nhân")
        PUBLISH = "publish", _("Công khai phản ánh")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, verbose_name=_("người dùng"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("mục đích"), max_length=20, choices=Purpose.choices)
    text_version = models.CharField(_("phiên bản nội dung"), max_length=32)
    given_at = models.DateTimeField(_("đồng ý lúc"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("rút lại lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("sự đồng ý")
        verbose_name_plural = pgettext_lazy("plural", "sự đồng ý")
        ordering = ("-given_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("user", "purpose"),
                condition=models.Q(withdrawn_at__isnull=True),
                name="one_active_consent_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"Consent({self.purpose}, {self.text_version})"
