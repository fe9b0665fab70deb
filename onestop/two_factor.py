"""The staff second factor in the admin: TOTP (an authenticator app) with recovery codes.

With `STAFF_2FA_REQUIRED` the admin opens only to a session verified with a second factor
(django-otp's `is_verified()`). A staff member without a confirmed authenticator signs in
with phone and password, lands on the enrolment page (a QR code to scan, one code to
confirm), receives ten one-use recovery codes, and is verified from then on.
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import second_factor
from common import audit

RECOVERY_CODES = 10


def required() -> bool:
    return bool(getattr(settings, "STAFF_2FA_REQUIRED", False))


def needs_enrolment(user: Any) -> bool:
    """A signed-in staff member who has no confirmed second factor yet."""
    return bool(
        required()
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and not user_has_device(user, confirmed=True)
    )


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Phone, password and the authenticator code; the code only once the person has an
    authenticator (without one they sign in to set it up, and the admin stays closed)."""

    def _chosen_device(self, user: Any) -> Any:
        # No device list to pick from: the code's shape says which device it is for.
        return second_factor.device_for(user, self.cleaned_data.get("otp_token") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and user_has_device(user, confirmed=True):
            self.clean_otp(user)
        return cleaned


class ConfirmForm(forms.Form):
    token = forms.CharField(
        label=_("Code shown by the app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _pending_device(user: Any) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="app", confirmed=False)


@login_required
def enrol(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """Scan, confirm one code, receive the recovery codes."""
    user: Any = request.user
    if not user.is_staff or user_has_device(user, confirmed=True):
        return HttpResponseRedirect(reverse("admin:index", current_app=admin_site.name))
    device = _pending_device(user)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
            otp_login(request, device)
            audit.record(user, "enrol_second_factor", user)
            context = {**admin_site.each_context(request), "codes": codes}
            return render(request, "admin/two_factor_done.html", context)
        form.add_error("token", _("The code is wrong or too old; enter the one shown now."))
    qr = segno.make(device.config_url, error="m").svg_data_uri(scale=5)
    context = {
        **admin_site.each_context(request),
        "title": _("Set up two-step sign-in"),
        "form": form,
        "qr": qr,
        "secret": _base32(device),
    }
    return render(request, "admin/two_factor_setup.html", context)


def _base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def _new_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes
