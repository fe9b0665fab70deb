"""`Cache-Control` on API answers that say nothing of it themselves.

An answer to a request with credentials is the caller's own: `private, no-cache` keeps it out
of shared caches and makes a phone revalidate (its `ETag` still saves the body). Answers that
carry tokens say `no-store` themselves; public ones (the catalog) are left as they are.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class ApiCacheControlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and "HTTP_AUTHORIZATION" in request.META
            and not response.has_header("Cache-Control")
        ):
            patch_cache_control(response, private=True, no_cache=True)
        return response


def no_store(response: HttpResponse) -> HttpResponse:
    """Mark an answer that carries secrets (tokens) as never to be stored anywhere."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
