import unicodedata
from typing import Any, cast

from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import (
    PasswordField,
    TokenObtainPairSerializer,
    TokenObtainSerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import otp, sessions
from accounts import second_factor as second_factor_device
from accounts.models import Consent, User
from common.api.mixins import LanguageCodeField
from common.i18n import DEFAULT_LANGUAGE
from common.phones import normalize_phone
from common.text import squash_spaces, strip_bidi_controls

# Longer passwords only cost hashing time; no one types more on a phone.
PASSWORD_MAX_LENGTH = 128
PHONE_MAX_LENGTH = 32


# Refuses numbers: `{"phone": 912345678}` is a client bug (the leading 0 is lost), not a phone.
class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PhoneField(StrictCharField):
    default_error_messages = {"invalid_phone": _("Enter a valid phone number.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PHONE_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        normalized = normalize_phone(super().to_internal_value(data))
        if normalized is None:
            self.fail("invalid_phone")
        return normalized


class NewPasswordField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(write_only=True, trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)


class OtpField(serializers.RegexField):
    """A one-time code as typed: 6 digits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("The 6-digit code received by SMS (`POST auth/otp/`)."))
        super().__init__(r"^\d{6}$", max_length=otp.CODE_DIGITS, **kwargs)
        self.error_messages["invalid"] = _("Enter the 6 digits of the code.")

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def clean_full_name(value: str) -> str:
    # Phones may send decomposed Vietnamese (NFD); store one form so search and sorting agree.
    # Bidi controls would make the name display otherwise than it reads.
    return squash_spaces(strip_bidi_controls(unicodedata.normalize("NFC", value)))


class OtpRequestSerializer(serializers.Serializer):
    phone = PhoneField(help_text=_("Where the code goes; for `change_phone` the new number."))
    purpose = serializers.ChoiceField(choices=otp.Purpose.choices)


class OtpIssuedSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(help_text=_("Seconds the code stays valid."))
    resend_after = serializers.IntegerField(
        help_text=_("Seconds before another code may be asked for this phone.")
    )


class RegistrationSerializer(serializers.Serializer):
    phone = PhoneField(help_text=_("Any common format; stored as E.164 (+84…)."))
    password = NewPasswordField()
    full_name = StrictCharField(max_length=150)
    preferred_language = LanguageCodeField(default=DEFAULT_LANGUAGE, required=False)
    otp = OtpField(help_text=_("A code of purpose `register` sent to `phone`."))

    def validate_full_name(self, value: str) -> str:
        return clean_full_name(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An unsaved user lets the similarity validator compare the password with the
        # person's own phone and name.
        candidate = User(phone=attrs["phone"], full_name=attrs["full_name"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise DjangoValidationError({"password": exc.error_list}) from exc
        return attrs


class ClaimStartSerializer(serializers.Serializer):
    phone = PhoneField(help_text=_("The phone an officer opened the account for."))


class ClaimConfirmSerializer(serializers.Serializer):
    phone = PhoneField()
    otp = OtpField(
        required=False, help_text=_("A code of purpose `claim` (`POST auth/otp/` or auth/claim/).")
    )
    code = OtpField(required=False, help_text=_("The same code under its older name."))
    password = NewPasswordField()
    full_name = StrictCharField(
        max_length=150, required=False, help_text=_("Replaces the name the officer typed.")
    )

    def validate_full_name(self, value: str) -> str:
        return clean_full_name(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Errors about the code name the field the client used.
        otp_code, old_code = attrs.pop("otp", None), attrs.pop("code", None)
        field_name = "otp" if otp_code is not None or old_code is None else "code"
        value = otp_code if otp_code is not None else old_code
        if value is None:
            message = str(_("This field is required."))
            raise serializers.ValidationError(
                {"otp": [serializers.ErrorDetail(message, code="required")]}
            )
        return {**attrs, "code": value, "code_field": field_name}


class PasswordResetSerializer(serializers.Serializer):
    phone = PhoneField()
    otp = OtpField(help_text=_("A code of purpose `reset_password` sent to `phone`."))
    new_password = NewPasswordField()


class RefreshTokenField(StrictCharField):
    """A refresh token in a body, parsed (signature, expiry, blacklist) into its token."""

    def __init__(self, token_class: type[RefreshToken] = RefreshToken, **kwargs: Any) -> None:
        self.token_class = token_class
        super().__init__(write_only=True, **kwargs)

    def to_internal_value(self, data: Any) -> RefreshToken:  # type: ignore[override]
        try:
            return self.token_class(super().to_internal_value(data))  # type: ignore[arg-type]
        except TokenError as exc:
            raise serializers.ValidationError(str(exc), code="token_not_valid") from exc


def kept_session() -> RefreshTokenField:
    return RefreshTokenField(
        required=False,
        help_text=_("This app's own refresh token, kept valid; every other one is revoked."),
    )


def current_password() -> PasswordField:
    # Kept verbatim, as at login.
    return PasswordField(trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = current_password()
    new_password = NewPasswordField()
    refresh = kept_session()


class PhoneChangeSerializer(serializers.Serializer):
    password = current_password()
    new_phone = PhoneField()
    otp = OtpField(help_text=_("A code of purpose `change_phone` sent to `new_phone`."))
    refresh = kept_session()


class PhoneVerifySerializer(serializers.Serializer):
    otp = OtpField(help_text=_("A code of purpose `verify_phone` sent to the account's phone."))


class HomeCommuneSerializer(serializers.Serializer):
    code = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    level = serializers.CharField(read_only=True)


class AccountSerializer(serializers.ModelSerializer):
    administrative_unit = HomeCommuneSerializer(read_only=True, allow_null=True)
    # Only ever serialised for the account's owner (`me/` and the auth answers).
    ethnic_group = serializers.SerializerMethodField(
        help_text=_(
            "Code of my ethnic group (`ethnic-groups/`), or null; kept only while my "
            "`ethnic_group` consent is active."
        )
    )

    class Meta:
        model = User
        fields = (
            "id",
            "phone",
            "full_name",
            "preferred_language",
            "administrative_unit",
            "is_staff",
            "phone_verified_at",
            "ethnic_group",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ethnic_group(self, obj: User) -> str | None:
        return obj.ethnic_group or None


class ProfileUpdateSerializer(serializers.Serializer):
    full_name = StrictCharField(max_length=150, required=False)
    preferred_language = LanguageCodeField(required=False)
    administrative_unit = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        allow_null=True,
        required=False,
        help_text=_("Commune code of the home commune; null clears it."),
    )
    ethnic_group = serializers.RegexField(
        r"^[0-9]{2}$",
        allow_null=True,
        required=False,
        help_text=_(
            "Code of an ethnic group (`ethnic-groups/`); needs an active `ethnic_group` "
            "consent. Null clears it."
        ),
    )

    def validate_full_name(self, value: str) -> str:
        return clean_full_name(value)

    def validate_ethnic_group(self, value: Any) -> Any:
        if value is not None and not isinstance(self.initial_data.get("ethnic_group"), str):
            raise serializers.ValidationError(_("Send the code as text, e.g. 08."))
        return value


class ConsentOutput(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices)
    text_version = serializers.CharField(
        help_text=_("The version of the consent text the person was shown.")
    )
    given_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(
        allow_null=True, help_text=_("Null while the consent is active.")
    )


class ConsentInput(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices)
    given = serializers.BooleanField(help_text=_("true gives the consent, false withdraws it."))
    # Required both ways: the record says which text was given, and which was withdrawn.
    text_version = StrictCharField(
        max_length=32,
        help_text=_("The version of the consent text shown to the person."),
    )


class EthnicGroupOutput(serializers.Serializer):
    code = serializers.CharField(help_text=_("01–54, in the General Statistics Office's order."))
    name = serializers.CharField()
    other_names = serializers.ListField(child=serializers.CharField())


class AccountDeletionInput(serializers.Serializer):
    password = current_password()
    otp = OtpField(
        required=False,
        help_text=_("A code of purpose `delete_account` sent to my phone (`POST auth/otp/`)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].required = False

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("password" in attrs) == ("otp" in attrs):
            message = str(_("Send either your password or a code, not both."))
            raise serializers.ValidationError(
                {"password": [serializers.ErrorDetail(message, code="password_or_otp")]}
            )
        return attrs


# simplejwt's login, with the phone accepted in any common format.
class PhoneTokenObtainPairSerializer(TokenObtainPairSerializer):
    """simplejwt's login, with the phone accepted in any common format; each login opens a
    session (`GET auth/sessions/`) named by the app's platform and version."""

    platform = StrictCharField(
        max_length=16, required=False, help_text=_("e.g. android, ios, web; shown in sessions.")
    )
    app_version = StrictCharField(max_length=32, required=False)
    otp = StrictCharField(
        max_length=16,
        required=False,
        help_text=_(
            "Staff only: the code of their authenticator app (or a recovery code). Without "
            "it, where a second factor is required, the tokens act as the person's citizen "
            "self and staff actions answer 403 `second_factor_required`."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = StrictCharField(
            write_only=True, max_length=PHONE_MAX_LENGTH
        )
        # Kept verbatim: a password set with surrounding spaces must still match at login.
        self.fields["password"] = current_password()

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        phone = attrs[self.username_field]
        # An unparseable phone simply matches no account: the same 401 as a wrong password.
        attrs[self.username_field] = normalize_phone(phone) or phone
        # Authenticates (401 otherwise) and sets `self.user`; the pair comes from the session.
        TokenObtainSerializer.validate(self, attrs)
        user = cast(User, self.user)
        second_factor = False
        if attrs.get("otp") and user.is_staff:
            if second_factor_device.verify(user, attrs["otp"]) is None:
                raise AuthenticationFailed(
                    _("The second-factor code is wrong."), code="invalid_second_factor"
                )
            second_factor = True
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(User, user)
        return sessions.open_session(
            user,
            platform=attrs.get("platform", ""),
            app_version=attrs.get("app_version", ""),
            second_factor=second_factor,
        )


class TokenRefreshRequestSerializer(serializers.Serializer):
    refresh = StrictCharField(write_only=True)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class _LogoutRefreshToken(RefreshToken):
    # Logging out twice (a retry after a lost response) is a success, not an error.
    def check_blacklist(self) -> None:
        return None


class LogoutSerializer(serializers.Serializer):
    refresh = RefreshTokenField(token_class=_LogoutRefreshToken)
    device_token = StrictCharField(write_only=True, required=False, max_length=512)


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    platform = serializers.CharField()
    app_version = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the app last renewed its tokens.")
    )
    current = serializers.SerializerMethodField(help_text=_("The session of this request."))

    def get_current(self, obj: Any) -> bool:
        return str(obj.pk) == str(self.context.get("session_id"))
