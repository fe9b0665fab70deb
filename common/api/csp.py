"""A Content-Security-Policy for the pages people open in a browser: the admin and the API
documentation. Everything comes from this origin: no third-party script, style or font
(Redoc's web fonts are dropped, Swagger UI's set-up script is a file, not inline). Styles
may be inline (the admin's and the docs' own `style` attributes); scripts may not."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGES = ("/admin/", "/api/docs/", "/api/redoc/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PAGES) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = POLICY
        return response
