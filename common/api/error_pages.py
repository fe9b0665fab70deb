"""Every answer under `/api/` is JSON, errors in the one error shape, DEBUG or not.

DRF views answer their own errors. What reaches the client from elsewhere (Django's 404 and
500 pages, the debug pages when DEBUG is on, a 400 for a bad Host header, a 413 for a body
Django itself refuses) is replaced by the same `{"type", "errors"}` body with the same status.
Outermost but for SecurityMiddleware, so it sees what every other layer answered.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# status → (type, code, message)
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("client_error", "bad_request", gettext_noop("The request cannot be read.")),
    403: (
        "client_error",
        "permission_denied",
        gettext_noop("You do not have permission to perform this action."),
    ),
    404: ("client_error", "not_found", gettext_noop("Not found.")),
    405: ("client_error", "method_not_allowed", gettext_noop("Method not allowed.")),
    413: ("client_error", "request_too_large", gettext_noop("The request body is too large.")),
}
_SERVER_ERROR = ("server_error", "error", gettext_noop("A server error occurred."))


def api_error_response(status: int) -> JsonResponse:
    """The error-shape body for `status` (an unknown 4xx as `bad_request`, any 5xx as `error`)."""
    error_type, code, message = _ERRORS.get(status, _ERRORS[400] if status < 500 else _SERVER_ERROR)
    body = {"type": error_type, "errors": [{"code": code, "detail": _(message), "attr": None}]}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = api_error_response(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
