"""One id per request, carried wherever its work goes: the log lines of the request, the
Celery tasks it publishes (a message header) and the HTTP calls made for it (`X-Request-ID`
to the SMS gateway and FCM).

A client's (or the proxy's) `X-Request-ID` is kept when it is a short printable token;
otherwise a new one is made. Every response carries it back.
"""

from __future__ import annotations

import contextvars
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# The name of the Celery message header that carries it.
TASK_HEADER = "request_id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current() -> str:
    """The id of the request (or task) this code runs for; "" outside of one."""
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def accepted(value: str | None) -> str | None:
    """`value` when it is usable as a request id (it ends up in logs and headers)."""
    if value and _ACCEPTED.fullmatch(value):
        return value
    return None


@contextmanager
def bound(request_id: str) -> Iterator[str]:
    """Run a block as part of `request_id` (a Celery task, a management command)."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def outgoing_headers() -> dict[str, str]:
    """Headers for an HTTP call made on behalf of the current request or task."""
    request_id = current()
    return {HEADER: request_id} if request_id else {}


class RequestIdMiddleware:
    """Binds the request id for the request's duration and logs one line per request (route,
    status, duration, user) at its end, on the logger `request`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import logging

        from common.metrics import route_of

        request_id = accepted(request.headers.get(HEADER)) or new_id()
        token = _current.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            # DRF authenticates inside the view and sets the user on this request too.
            user_id = str(getattr(getattr(request, "user", None), "pk", "") or "")
            logging.getLogger("request").info(
                "%s %s %s",
                request.method,
                route_of(request),
                response.status_code,
                extra={
                    "route": route_of(request),
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": user_id or None,
                },
            )
            return response
        finally:
            _current.reset(token)


# -- Celery ------------------------------------------------------------------------------


def _before_publish(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    request_id = current()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


_task_tokens: dict[str, contextvars.Token[str]] = {}


def _task_started(task_id: str | None = None, task: Any = None, **_kwargs: Any) -> None:
    request = getattr(task, "request", None)
    request_id = getattr(request, TASK_HEADER, None) or (
        (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    )
    # Eager tasks run inside the request and keep its id; a task published by beat gets an
    # id of its own.
    request_id = accepted(request_id) or current() or f"task-{task_id or new_id()}"
    if task_id:
        _task_tokens[task_id] = _current.set(request_id)


def _task_finished(task_id: str | None = None, **_kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:
            _current.set("")  # set in another context (eager calls nest); forget it


def connect_celery_signals() -> None:
    """Carry the request id in every task published, and bind it while a task runs."""
    from celery import signals

    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
