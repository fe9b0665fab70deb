"""Small pieces every API view shares."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from common.i18n import request_language


class LanguageMixin:
    """Negotiates the response language once per request and announces it."""

    def get_language(self) -> str:
        request: Request = self.request  # type: ignore[attr-defined]
        if not hasattr(request, "_negotiated_language"):
            request._negotiated_language = request_language(request)  # type: ignore[attr-defined]
        return request._negotiated_language  # type: ignore[attr-defined]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["language"] = self.get_language()
        return context

    def finalize_response(self, request, response: Response, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Content-Language"] = self.get_language()
        vary = response.get("Vary")
        response["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
        return response
