"""The staff second factor (django-otp): an authenticator app (TOTP) and one-use recovery
codes. A 6-digit code is the app's, anything else a recovery code: one device is tried, so a
wrong code never slows down the person's other device."""

from typing import Any

from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


def device_for(user: Any, token: str) -> Any:
    """The confirmed device of `user` that `token` is meant for, or None."""
    token = token.strip()
    model = TOTPDevice if len(token) == 6 and token.isdigit() else StaticDevice
    return model.objects.filter(user=user, confirmed=True).first()


def verify(user: Any, token: str) -> Any:
    """The device that accepts `token` for `user` (spending a recovery code), or None."""
    device = device_for(user, token)
    if device is None or not device.verify_is_allowed()[0]:
        return None
    return device if device.verify_token(token.strip()) else None
