"""The only module that talks to FCM.

`send()` takes plain `OutgoingPush` values and answers one `PushResult` per message, in order.
The backend is chosen by `settings.PUSH_BACKEND`:

- `fcm`: firebase-admin builds each message and holds the credentials and the send URL;
  `_FcmSender` posts the FCM v1 requests over a few keep-alive HTTP/1.1 connections
  (`FCM_CONNECTIONS`, default 8). `FCM_ENDPOINT` points it at another host, e.g. the fake
  server of `notifications.fake_fcm`.
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

FCM_BATCH_LIMIT = 500  # messages per call of the sender, as firebase-admin's send_each
# Messages per call of the sender: each call waits for its slowest message, and keeps well
# inside its deadline.
FCM_CALL_SIZE = 100
# Retries of a message answered 500 or 503, with firebase-admin's own policy: the first at
# once, then 1, 2, 4 s (or the server's Retry-After).
FCM_RETRIES = 4
FCM_BACKOFF_SECONDS = 0.5
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


class _FcmSender:
    """FCM v1 requests over at most `connections` keep-alive HTTP/1.1 connections.

    firebase-admin's own `send_each_async` spends most of a worker's time in httpx (a pool
    scan per request, retry and auth wrappers): this client does only what one POST to one
    host needs, so a worker relays several times more messages per second. It runs on the
    process's event loop (`_EventLoopThread`) and keeps its connections between calls.
    """

    def __init__(self, url: str, timeout: float, connections: int) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.url = url
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        default_port = 443 if self.tls else 80
        self.authority = self.host if self.port == default_port else f"{self.host}:{self.port}"
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots: asyncio.Semaphore | None = None
        self._connections = max(1, connections)

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, list, bytes]:
        """POST `body`; the status, the headers and the body of the answer. Raises
        OSError/asyncio.TimeoutError/ValueError for transport failures."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._connections)
        head = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.authority}",
            "Content-Type: application/json; charset=UTF-8",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
            "",
            "",
        ]
        request = "\r\n".join(head).encode("latin-1") + body
        async with self._slots:
            while True:
                reused = bool(self._idle)
                reader, writer = self._idle.pop() if reused else await self._open()
                try:
                    writer.write(request)
                    status, answer_headers, answer, keep = await asyncio.wait_for(
                        _read_response(reader), self.timeout
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    writer.close()
                    # The server closed an idle connection: try again on a new one.
                    if reused and not isinstance(exc, asyncio.TimeoutError):
                        continue
                    raise
                except BaseException:
                    writer.close()
                    raise
                if keep:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
                return status, answer_headers, answer

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        ssl_context: Any = None
        if self.tls:
            import ssl

            ssl_context = ssl.create_default_context()
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=ssl_context), self.timeout
        )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, list, bytes, bool]:
    """One HTTP/1.1 answer: status, headers, body (Content-Length or chunked), and whether
    the connection may be used again."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    version, status_text = head[0].split(" ", 2)[:2]
    headers = []
    length = None
    chunked = False
    keep = version == "HTTP/1.1"
    for line in head[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        headers.append((name, value))
        lower = name.lower()
        if lower == "content-length":
            length = int(value)
        elif lower == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif lower == "connection":
            keep = value.lower() == "keep-alive" or (keep and value.lower() != "close")
    if chunked:
        parts = []
        while True:
            size = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body = await reader.read()
        keep = False
    return int(status_text), headers, body, keep


_fcm_senders: dict[tuple[str, int], _FcmSender] = {}


def _fcm_sender(app: Any, loop: _EventLoopThread) -> _FcmSender:
    """The sender of `app` on `loop` (its connections belong to that loop)."""
    from firebase_admin import messaging

    key = (app.name, id(loop))
    with _fcm_lock:
        sender = _fcm_senders.get(key)
        if sender is None:
            service = messaging._get_messaging_service(app)
            sender = _FcmSender(
                service._fcm_url,
                float(getattr(settings, "FCM_HTTP_TIMEOUT_SECONDS", 10)),
                int(getattr(settings, "FCM_CONNECTIONS", 8)),
            )
            _fcm_senders[key] = sender
        return sender


def _auth_headers(app: Any) -> dict[str, str]:
    """firebase-admin's FCM headers plus a bearer token from the app's credential (refreshed
    here, in the calling thread, when it has expired); none for anonymous credentials."""
    from firebase_admin import messaging
    from google.auth.credentials import AnonymousCredentials

    service = messaging._get_messaging_service(app)
    headers = dict(service._fcm_headers)
    credential = service._credential
    if not isinstance(credential, AnonymousCredentials):
        if not credential.valid:
            import google.auth.transport.requests

            credential.refresh(google.auth.transport.requests.Request())
        headers["Authorization"] = f"Bearer {credential.token}"
    return headers


async def _send_one(sender: _FcmSender, body: bytes, headers: dict[str, str]) -> PushResult:
    from firebase_admin import exceptions

    attempt = 0
    while True:
        try:
            status, answer_headers, answer = await sender.post(body, headers)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if isinstance(exc, asyncio.TimeoutError):
                error: Exception = exceptions.DeadlineExceededError(
                    f"Timed out waiting for FCM after {sender.timeout} s", cause=exc
                )
            else:
                error = exceptions.UnavailableError(f"Failed to reach FCM: {exc!r}", cause=exc)
            return classify_error(error)
        if status < 300:
            with contextlib.suppress(ValueError):
                return PushResult(PushOutcome.SENT, message_id=json.loads(answer).get("name", ""))
            return PushResult(PushOutcome.SENT)
        if status in (500, 503) and attempt < FCM_RETRIES:
            attempt += 1
            delay = 0.0 if attempt == 1 else FCM_BACKOFF_SECONDS * 2 ** (attempt - 1)
            retry_after = next((v for k, v in answer_headers if k.lower() == "retry-after"), "")
            wait = parse_retry_after(retry_after) if retry_after else None
            await asyncio.sleep(delay if wait is None else wait)
            continue
        return classify_error(_fcm_error(sender.url, status, answer_headers, answer))


def _fcm_error(url: str, status: int, headers: list, body: bytes) -> Exception:
    """firebase-admin's own exception for an error answer (UnregisteredError, …)."""
    import httpx
    from firebase_admin import _utils, messaging

    response = httpx.Response(
        status, headers=headers, content=body, request=httpx.Request("POST", url)
    )
    error = httpx.HTTPStatusError(f"HTTP {status}", request=response.request, response=response)
    return _utils.handle_platform_error_from_httpx(  # type: ignore[no-any-return]
        error, messaging._MessagingService._build_fcm_error_httpx
    )


async def _send_all(
    sender: _FcmSender, bodies: list[bytes], headers: dict[str, str]
) -> list[PushResult]:
    return list(await asyncio.gather(*(_send_one(sender, body, headers) for body in bodies)))


def _send_fcm(messages: Sequence[OutgoingPush]) -> list[PushResult]:
    from firebase_admin import messaging

    app = fcm_app()
    loop = _event_loop()
    sender = _fcm_sender(app, loop)
    ttl = int(settings.PUSH_TTL_SECONDS)
    # Stay well inside the lease, so no other worker reclaims rows still being sent.
    deadline = max(5.0, settings.PUSH_LEASE_SECONDS / 2)
    results: list[PushResult] = []
    for chunk in _chunks(messages, min(FCM_CALL_SIZE, FCM_BATCH_LIMIT)):
        bodies: list[bytes] = []
        chunk_results: list[PushResult | None] = []
        for push in chunk:
            try:
                encoded = messaging._MessagingService.encode_message(_fcm_message(push, ttl))
                bodies.append(json.dumps({"message": encoded}, ensure_ascii=False).encode())
                chunk_results.append(None)
            except (TypeError, ValueError) as exc:
                chunk_results.append(PushResult(PushOutcome.FAILED, f"invalid message: {exc}"))
        if bodies:
            try:
                headers = _auth_headers(app)
                headers.update(request_id.outgoing_headers())
                answers = loop.run(_send_all(sender, bodies, headers), timeout=deadline)
            except Exception as exc:
                # Timeouts, credential failures, anything that failed the whole chunk: some
                # may have gone out, but a duplicate is harmless (collapse key), a loss not.
                logger.warning("FCM batch of %d failed: %r", len(bodies), exc)
                answers = [PushResult(PushOutcome.RETRY, _error_text(exc))] * len(bodies)
            answer_iter = iter(answers)
            chunk_results = [r if r is not None else next(answer_iter) for r in chunk_results]
        results.extend(r for r in chunk_results if r is not None)
    return results


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
