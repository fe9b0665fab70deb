"""The language of the staff admin: Vietnamese unless the staff member chose otherwise.

Browsers announce their own language (Chromium on an office PC sends `en-US`), which says
nothing about the language the staff member works in, so the admin ignores Accept-Language:
the language switch of the admin pages (Django's language cookie) wins, then the signed-in
user's `preferred_language` where Django has a catalog for it, then Vietnamese. The API
negotiates its own language (`common.api.mixins.LanguageMixin`) and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from common.i18n import DEFAULT_LANGUAGE


def admin_language(request: HttpRequest) -> str:
    """The language an admin page for `request` is shown in."""
    available = {code for code, _name in settings.LANGUAGES}
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in available:
        return str(chosen)
    user: Any = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        preferred = getattr(user, "preferred_language", None)
        if preferred in available:
            return str(preferred)
    return DEFAULT_LANGUAGE


class AdminLanguageMiddleware:
    """Activates `admin_language` for requests under the admin's URL.

    Goes after AuthenticationMiddleware (it reads the user) and after LocaleMiddleware (whose
    choice it replaces, and which then labels the response with `Content-Language`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            prefix = reverse("admin:index")
        except NoReverseMatch:  # a URLconf without the admin
            prefix = None
        if prefix is not None and request.path.startswith(prefix):
            language = admin_language(request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
