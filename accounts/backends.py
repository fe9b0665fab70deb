from django.contrib.auth.backends import ModelBackend

from common.phones import normalize_phone


class PhoneBackend(ModelBackend):
    """Log in with a phone number typed in any common format."""

    def authenticate(self, request, username=None, password=None, **kwargs):  # type: ignore[no-untyped-def]
        phone = kwargs.pop("phone", None) or username
        normalized = normalize_phone(phone) if phone else None
        if not normalized:
            return None
        return super().authenticate(request, username=normalized, password=password, **kwargs)
