"""Text hygiene at the edge of the API, and pages that render whatever was stored.

Query parameters of API requests are checked like bodies (`common.api.parsers`): a
forbidden character is a 400 naming the parameter. A page whose text cannot be encoded (a
row stored before such text was refused) is rendered with U+FFFD in its place instead of
failing with a 500.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import SimpleTemplateResponse

from common.api.parsers import bad_text_error
from common.text import BadText, check_text, printable


class TextHygieneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                for key in request.GET:
                    # A parameter may repeat (`?status=a&status=b`): errors name it alone.
                    check_text({key: " ".join(request.GET.getlist(key))})
            except BadText as bad:
                error = bad_text_error(bad)
                detail: Any = error.detail
                errors = [
                    {"code": str(getattr(message, "code", "invalid")), "detail": str(message)}
                    | {"attr": attr}
                    for attr, messages in detail.items()
                    for message in messages
                ]
                return JsonResponse(
                    {"type": "validation_error", "errors": errors},
                    status=400,
                    json_dumps_params={"ensure_ascii": False},
                )
        return self.get_response(request)

    def process_template_response(
        self, request: HttpRequest, response: SimpleTemplateResponse
    ) -> SimpleTemplateResponse:
        return render_printable(response)


def render_printable(response: Any) -> Any:
    """Render `response` now (a DRF or template response; any other is returned as it is);
    text that cannot be encoded comes out as U+FFFD."""
    if not callable(getattr(response, "render", None)) or response.is_rendered:
        return response
    try:
        response.render()
    except UnicodeEncodeError:
        response.content = printable(response.rendered_content).encode(response.charset)
    return response
