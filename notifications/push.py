"""The only module that talks to FCM.

`send()` takes plain `OutgoingPush` values and answers one `PushResult` per message, in order.
The backend is chosen by `settings.PUSH_BACKEND`:

- `fcm`: firebase-admin (`messaging.send_each_async`, chunks of 500). `FCM_ENDPOINT` points it
  at another host, e.g. the fake server of `notifications.fake_fcm`.
- `log`: writes each push to the log and reports it sent (development).
- `memory`: keeps pushes in a module-level list for tests, and can be told to answer a token
  with `invalid_token` or `retry` (`memory_answer()`).

Nothing here touches the database: the caller owns the outbox rows and their state.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import enum
import json
import logging
import math
import os
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common import request_id

logger = logging.getLogger(__name__)

FCM_BATCH_LIMIT = 500  # firebase-admin refuses more per send_each_async call
# Messages per send_each_async call. Each message is its own HTTP request and the httpx pool
# holds 100 connections: a call of 500 queues 400 behind the pool and opens connections in a
# burst; calls of 100 measured faster from a cold start (2.3 s against 7.8 s for 500 against
# the fake server) and keep each call well inside its deadline.
FCM_CALL_SIZE = 100
APNS_COLLAPSE_ID_MAX = 64  # bytes, Apple's limit for apns-collapse-id


class PushOutcome(enum.StrEnum):
    SENT = "sent"
    # Transient: try again later (honour `retry_after` when given).
    RETRY = "retry"
    # The token is dead or not ours: deactivate the device, never retry.
    # An outcome's name, not a secret.
    INVALID_TOKEN = "invalid_token"  # nosec B105
    # FCM refused the message itself (not the token): retrying cannot help.
    FAILED = "failed"


@dataclass(frozen=True)
class OutgoingPush:
    """One push to one device token; `data` values must be strings (FCM's data map)."""

    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    collapse_key: str = ""


@dataclass(frozen=True)
class PushResult:
    """What became of one `OutgoingPush`."""

    outcome: PushOutcome
    error: str = ""
    retry_after: int | None = None  # seconds, from the server's Retry-After
    message_id: str = ""

    @property
    def is_sent(self) -> bool:
        return self.outcome == PushOutcome.SENT


def send(messages: Sequence[OutgoingPush]) -> list[PushResult]:
    """Send `messages` through the configured backend; one result per message, in order.

    Never raises for a delivery problem: failures come back as `retry`, `invalid_token` or
    `failed` results. Call it with no database transaction open.
    """
    if not messages:
        return []
    backend = settings.PUSH_BACKEND
    if backend == "fcm":
        return _send_fcm(messages)
    if backend == "log":
        return _send_log(messages)
    if backend == "memory":
        return _send_memory(messages)
    raise ImproperlyConfigured(f"Unknown PUSH_BACKEND {backend!r} (fcm, log or memory)")


def string_data(data: dict[str, Any] | None) -> dict[str, str]:
    """FCM data is map<string, string>: turn values into strings, drop the empty ones."""
    result: dict[str, str] = {}
    for key, value in (data or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            result[str(key)] = "true" if value else "false"
        elif isinstance(value, dict | list):
            result[str(key)] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            result[str(key)] = str(value)
    return result


# -- log backend ---------------------------------------------------------------------------


def _send_log(messages: Sequence[OutgoingPush]) -> list[PushResult]:
    for message in messages:
        logger.info(
            "push (log backend) to %s…: %s | %s | data=%s collapse_key=%s",
            message.token[:12],
            message.title,
            message.body,
            message.data,
            message.collapse_key,
        )
    return [PushResult(PushOutcome.SENT) for _ in messages]


# -- memory backend ------------------------------------------------------------------------


@dataclass
class _MemoryAnswer:
    outcome: PushOutcome
    error: str
    retry_after: int | None
    times: int | None


_memory_lock = threading.Lock()
_memory_sent: list[OutgoingPush] = []
_memory_answers: dict[str, _MemoryAnswer] = {}


def reset_memory_backend() -> None:
    """Forget what the memory backend sent and every answer it was told to give."""
    with _memory_lock:
        _memory_sent.clear()
        _memory_answers.clear()


def memory_messages() -> list[OutgoingPush]:
    """The pushes the memory backend accepted, oldest first."""
    with _memory_lock:
        return list(_memory_sent)


def memory_answer(
    token: str,
    outcome: PushOutcome | str,
    *,
    error: str = "",
    retry_after: int | None = None,
    times: int | None = None,
) -> None:
    """Make the memory backend answer `token` with `outcome` (`times` times, or always).

    `outcome=sent` removes an earlier instruction.
    """
    outcome = PushOutcome(outcome)
    with _memory_lock:
        if outcome == PushOutcome.SENT:
            _memory_answers.pop(token, None)
            return
        _memory_answers[token] = _MemoryAnswer(
            outcome=outcome,
            error=error or f"memory backend told to answer {outcome}",
            retry_after=retry_after,
            times=times,
        )


def _send_memory(messages: Sequence[OutgoingPush]) -> list[PushResult]:
    results = []
    with _memory_lock:
        for message in messages:
            answer = _memory_answers.get(message.token)
            if answer is None:
                _memory_sent.append(message)
                results.append(
                    PushResult(PushOutcome.SENT, message_id=f"memory-{len(_memory_sent)}")
                )
                continue
            if answer.times is not None:
                answer.times -= 1
                if answer.times <= 0:
                    del _memory_answers[message.token]
            results.append(PushResult(answer.outcome, answer.error, answer.retry_after))
    return results


# -- fcm backend ---------------------------------------------------------------------------

T = TypeVar("T")


class _EventLoopThread:
    """One event loop per process, in a daemon thread, that every FCM send runs on.

    firebase-admin's messaging service keeps one httpx AsyncClient for the life of the app,
    and its pooled connections belong to the loop that opened them: a second `asyncio.run()`
    reuses them from a closed loop and fails with "Event loop is closed". Running every send
    on one long-lived loop keeps those connections (and HTTP/2 to Google) usable.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="push-fcm-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def is_usable(self) -> bool:
        return self.pid == os.getpid() and self._thread.is_alive() and not self.loop.is_closed()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise


_fcm_lock = threading.Lock()
_fcm_loop: _EventLoopThread | None = None
_fcm_apps: dict[tuple[Any, ...], Any] = {}


def _event_loop() -> _EventLoopThread:
    global _fcm_loop
    with _fcm_lock:
        # A forked worker (Celery prefork) inherits the object but not the thread.
        if _fcm_loop is None or not _fcm_loop.is_usable():
            _fcm_loop = _EventLoopThread()
        return _fcm_loop


def _fcm_url(endpoint: str) -> str:
    return f"{endpoint.rstrip('/')}/v1/projects/{{0}}/messages:send"


def fcm_app() -> Any:
    """The firebase-admin app for the current settings, created once per process."""
    import firebase_admin
    from firebase_admin import credentials, messaging

    key = (
        os.getpid(),
        settings.FCM_PROJECT_ID,
        settings.GOOGLE_APPLICATION_CREDENTIALS,
        settings.FCM_ENDPOINT,
    )
    with _fcm_lock:
        app = _fcm_apps.get(key)
        if app is not None:
            return app
        timeout = getattr(settings, "FCM_HTTP_TIMEOUT_SECONDS", 10)
        options: dict[str, Any] = {"httpTimeout": timeout}
        if settings.GOOGLE_APPLICATION_CREDENTIALS:
            # The service account names its own project.
            credential: Any = credentials.Certificate(settings.GOOGLE_APPLICATION_CREDENTIALS)
        else:
            from google.auth.credentials import AnonymousCredentials

            # Sends no Authorization header: only meaningful against FCM_ENDPOINT.
            credential = AnonymousCredentials()
            options["projectId"] = settings.FCM_PROJECT_ID
        name = f"dichvu-push-{os.getpid()}-{len(_fcm_apps)}"
        app = firebase_admin.initialize_app(credential, options, name=name)
        if settings.FCM_ENDPOINT:
            # There is no emulator switch for FCM: the send URL is formatted once, when the
            # app's messaging service is created, and both send() and send_each_async() read
            # the instance's `_fcm_url`. tests/notifications proves this still holds.
            service = messaging._get_messaging_service(app)
            if not hasattr(service, "_fcm_url"):
                raise ImproperlyConfigured(
                    "This firebase-admin version has no _fcm_url; FCM_ENDPOINT cannot be applied"
                )
            service._fcm_url = _fcm_url(settings.FCM_ENDPOINT).format(app.project_id)
        _fcm_apps[key] = app
        return app


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fcm_message(push: OutgoingPush, ttl: int) -> Any:
    from firebase_admin import messaging

    collapse_key = push.collapse_key or None
    apns_headers = {
        "apns-priority": "10",
        "apns-push-type": "alert",
        "apns-expiration": str(int(time.time()) + ttl),
    }
    if collapse_key:
        apns_headers["apns-collapse-id"] = collapse_key.encode()[:APNS_COLLAPSE_ID_MAX].decode(
            errors="ignore"
        )
    message = messaging.Message(
        notification=messaging.Notification(title=push.title, body=push.body),
        data=string_data(push.data),
        android=messaging.AndroidConfig(priority="high", collapse_key=collapse_key, ttl=ttl),
        apns=messaging.APNSConfig(
            headers=apns_headers,
            payload=messaging.APNSPayload(
                aps=messaging.Aps(
                    alert=messaging.ApsAlert(title=push.title, body=push.body), sound="default"
                )
            ),
        ),
        webpush=messaging.WebpushConfig(headers={"TTL": str(ttl), "Urgency": "high"}),
    )
    # The apps send FCM registration tokens. firebase-admin 7.7 deprecates the `token`
    # argument in favour of `fid` (installation IDs, a different identifier we do not have)
    # and warns on every message; the attribute is what its encoder sends as "token".
    message.token = push.token
    return message


def _send_fcm(messages: Sequence[OutgoingPush]) -> list[PushResult]:
    from firebase_admin import messaging

    app = fcm_app()
    loop = _event_loop()
    ttl = int(settings.PUSH_TTL_SECONDS)
    # Stay well inside the lease, so no other worker reclaims rows still being sent.
    deadline = max(5.0, settings.PUSH_LEASE_SECONDS / 2)
    results: list[PushResult] = []
    for chunk in _chunks(messages, min(FCM_CALL_SIZE, FCM_BATCH_LIMIT)):
        built: list[Any] = []
        chunk_results: list[PushResult | None] = []
        for push in chunk:
            try:
                built.append(_fcm_message(push, ttl))
                chunk_results.append(None)
            except (TypeError, ValueError) as exc:
                chunk_results.append(PushResult(PushOutcome.FAILED, f"invalid message: {exc}"))
        if built:
            _tag_fcm_requests(app)
            try:
                batch = loop.run(messaging.send_each_async(built, app=app), timeout=deadline)
                answers = [_fcm_answer(response) for response in batch.responses]
            except Exception as exc:
                # Timeouts, transport failures, anything that failed the whole chunk: some
                # may have gone out, but a duplicate is harmless (collapse key), a loss not.
                logger.warning("FCM batch of %d failed: %r", len(built), exc)
                answers = [PushResult(PushOutcome.RETRY, _error_text(exc))] * len(built)
            answer_iter = iter(answers)
            chunk_results = [r if r is not None else next(answer_iter) for r in chunk_results]
        results.extend(r for r in chunk_results if r is not None)
    return results


def _tag_fcm_requests(app: Any) -> None:
    """Send the current request id with the FCM calls that follow (firebase-admin copies
    the service's headers into each request). A process sends one batch at a time."""
    from firebase_admin import messaging

    headers = getattr(messaging._get_messaging_service(app), "_fcm_headers", None)
    if isinstance(headers, dict):
        headers.pop(request_id.HEADER, None)
        headers.update(request_id.outgoing_headers())


def _fcm_answer(response: Any) -> PushResult:
    if response.success:
        return PushResult(PushOutcome.SENT, message_id=response.message_id or "")
    return classify_error(response.exception)


def classify_error(exc: BaseException) -> PushResult:
    """Map a firebase-admin error to what the outbox should do about it."""
    from firebase_admin import exceptions, messaging

    text = _error_text(exc)
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushResult(PushOutcome.INVALID_TOKEN, text)
    if isinstance(exc, exceptions.InvalidArgumentError):
        if _is_about_token(exc):
            return PushResult(PushOutcome.INVALID_TOKEN, text)
        return PushResult(PushOutcome.FAILED, text)
    # Quota, unavailable, internal, deadline, transport errors, and configuration problems
    # an operator can fix (auth, APNs certificate): try again later.
    return PushResult(PushOutcome.RETRY, text, _retry_after(exc))


def _error_text(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    prefix = f"{type(exc).__name__}"
    if code:
        prefix += f" ({code})"
    return f"{prefix}: {exc}"[:2000]


def _is_about_token(exc: Any) -> bool:
    """Whether an INVALID_ARGUMENT names the registration token rather than the payload."""
    response = getattr(exc, "http_response", None)
    if response is not None:
        with contextlib.suppress(Exception):
            details = response.json().get("error", {}).get("details", [])
            for detail in details:
                for violation in detail.get("fieldViolations", []):
                    if violation.get("field") in {"message.token", "message.fid"}:
                        return True
    text = str(exc).lower()
    return "registration token" in text or "installation id" in text


def _retry_after(exc: Any) -> int | None:
    response = getattr(exc, "http_response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("Retry-After")
    if not value:
        return None
    return parse_retry_after(value)


def parse_retry_after(value: str) -> int | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, math.ceil((when - datetime.now(UTC)).total_seconds()))
