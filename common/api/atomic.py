"""No write commits behind a 5xx: an API write and the rendering of its answer are one
transaction.

Django's `ATOMIC_REQUESTS` wraps the view but not the rendering, so a response that fails to
render (a value the renderer cannot write) used to leave its write committed behind a 500;
the client retries and the action happens twice. Here the view runs and its response is
rendered inside `transaction.atomic()`; an exception or a 5xx rolls everything back. A 4xx
commits what the view chose to store (failed sign-in counters, used one-time codes).

Two kinds of request open their transaction elsewhere:
- uploads (multipart, tus): the body may take minutes to arrive over 2G and no transaction
  stays open while it does; their views store in short transactions of their own;
- a request with an `Idempotency-Key` to an idempotent handler: its key must be claimed
  (and committed, so a concurrent repeat sees it) before the work starts, so
  `common.api.idempotency` opens the transaction after the claim.
"""

import contextlib
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from common.api.hygiene import render_printable
from common.api.idempotency import HEADER as IDEMPOTENCY_HEADER

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
UPLOAD_TYPES = ("multipart/", "application/offset+octet-stream")


class AtomicWritesMiddleware:
    """Runs an API write and renders its response in one transaction. Last in MIDDLEWARE:
    it calls the view itself from `process_view`, so the others' `process_view` run first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if not self._applies(request, view_func):
            return None
        # Received before the transaction opens (bounded by DATA_UPLOAD_MAX_MEMORY_SIZE);
        # too large a body is left for the view, which answers 413.
        with contextlib.suppress(RequestDataTooBig):
            request.body  # noqa: B018
        with transaction.atomic():
            response = render_printable(view_func(request, *view_args, **view_kwargs))
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response

    @staticmethod
    def _applies(request: HttpRequest, view_func: Callable[..., HttpResponse]) -> bool:
        if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
            return False
        if (request.content_type or "").startswith(UPLOAD_TYPES):
            return False
        handler = getattr(getattr(view_func, "cls", None), (request.method or "").lower(), None)
        return not (getattr(handler, "idempotent", False) and IDEMPOTENCY_HEADER in request.headers)
