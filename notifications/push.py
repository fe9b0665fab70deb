"""The only module that talks to FCM.

`send()` takes plain `OutgoingPush` values and answers one `PushResult` per message, in order.
The backend is chosen by `settings.PUSH_BACKEND`:

- `fcm`: firebase-admin builds each message and holds the credentials and the send URL;
  `_FcmSender` posts the FCM v1 requests: to FCM itself (https) as HTTP/2 streams, up to a
  hundred at once on each of a few connections; over keep-alive HTTP/1.1 connections to a
  server that does not offer HTTP/2 (`FCM_CONNECTIONS`, default 8, bounds the connections
  either way). `FCM_ENDPOINT` points it at another host, e.g. the fake server of
  `notifications.fake_fcm`, and `FCM_CA_FILE` names the CA to trust instead of the system's.
- `log`: writes each push to the log and reports it sent (development).
- `memory`: keeps pushes in a module-level list for tests, and can be told to answer a token
  with `invalid_token` or `retry` (`memory_answer()`).

Nothing here touches the database: the caller owns the outbox rows and their state.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import email.utils
import enum
import functools
import json
import logging
import math
import os
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common import request_id

if TYPE_CHECKING:
    from h2.connection import H2Connection

logger = logging.getLogger(__name__)

FCM_BATCH_LIMIT = 500  # messages per call of the sender, as firebase-admin's send_each
# Messages per call of the sender: each call waits for its slowest message, and keeps well
# inside its deadline.
FCM_CALL_SIZE = 100
# Retries of a message answered 500 or 503, with firebase-admin's own policy: the first at
# once, then 1, 2, 4 s (or the server's Retry-After).
FCM_RETRIES = 4
FCM_BACKOFF_SECONDS = 0.5
# HTTP/2: concurrent streams per connection, FCM's own limit (a server announcing fewer is
# obeyed).
FCM_H2_STREAMS = 100
# HTTP/2: a request left unanswered because its connection went away (dropped, GOAWAY, a
# refused stream) is sent again on another connection at most this many times.
FCM_H2_RESENDS = 3
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

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start `coroutine` on the loop; `wait()` for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    @staticmethod
    def wait(future: concurrent.futures.Future[T], timeout: float) -> T:
        """The result of a `submit()`ted coroutine; cancelled after `timeout` seconds."""
        try:
            return future.result(timeout=max(0.0, timeout))
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
    """FCM v1 requests over a few keep-alive connections to one host.

    firebase-admin's own `send_each_async` spends most of a worker's time in httpx (a pool
    scan per request, retry and auth wrappers): this client does only what one POST to one
    host needs, so a worker relays several times more messages per second. It runs on the
    process's event loop (`_EventLoopThread`) and keeps its connections between calls.

    Over https the first connection offers `h2` and `http/1.1` in ALPN. FCM chooses h2: every
    request is then a stream of an `_H2Connection`, up to `FCM_H2_STREAMS` at once on each,
    and another connection (at most `connections`) opens only when those are full. A server
    that does not choose h2, and plain http://, get HTTP/1.1: at most `connections`
    connections, one request at a time on each. TLS trusts the system's CA store, or only
    `ca_file` when given.
    """

    def __init__(self, url: str, timeout: float, connections: int, ca_file: str = "") -> None:
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
        self.ca_file = ca_file
        # "h2" or "http/1.1"; over TLS, unknown until the first connection's ALPN says.
        self.protocol: str | None = None if self.tls else "http/1.1"
        self._connections = max(1, connections)
        self._ssl_contexts: dict[bool, ssl.SSLContext] = {}
        # HTTP/1.1
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots: asyncio.Semaphore | None = None
        # HTTP/2
        self._h2: list[_H2Connection] = []
        self._h2_opening: asyncio.Future[None] | None = None
        self._h2_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._h2_fields: tuple[dict[str, str], list[tuple[bytes, bytes]]] | None = None

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, list, bytes]:
        """POST `body`; the status, the headers and the body of the answer. Raises
        OSError/asyncio.TimeoutError/ValueError for transport failures."""
        if self.protocol is None:
            await self._negotiate()
        if self.protocol == "h2":
            return await self._post_h2(body, headers)
        return await self._post_http1(body, headers)

    async def _negotiate(self) -> None:
        """Open the first TLS connection and keep it, in the protocol its ALPN chose; the
        requests that arrive meanwhile share it (or its failure)."""
        if self._h2_opening is not None:
            await asyncio.shield(self._h2_opening)
        else:
            await self._open_h2()

    # -- HTTP/1.1 -------------------------------------------------------------------------

    async def _post_http1(self, body: bytes, headers: dict[str, str]) -> tuple[int, list, bytes]:
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

    async def _open(
        self, *, offer_h2: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        ssl_context = self._ssl_context(offer_h2) if self.tls else None
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=ssl_context), self.timeout
        )

    def _ssl_context(self, offer_h2: bool) -> ssl.SSLContext:
        context = self._ssl_contexts.get(offer_h2)
        if context is None:
            context = ssl.create_default_context(cafile=self.ca_file or None)
            context.set_alpn_protocols(["h2", "http/1.1"] if offer_h2 else ["http/1.1"])
            self._ssl_contexts[offer_h2] = context
        return context

    # -- HTTP/2 ---------------------------------------------------------------------------

    async def _post_h2(self, body: bytes, headers: dict[str, str]) -> tuple[int, list, bytes]:
        fields = self._h2_headers(headers)
        resends = 0
        while True:
            connection = await self._h2_connection()
            if connection is None:  # the server stopped offering h2
                return await self._post_http1(body, headers)
            try:
                return await connection.request(fields, body, self.timeout)
            except _Unanswered:
                # Nothing came back: the server dropped the connection, or said (GOAWAY,
                # REFUSED_STREAM) it did not take the request. A duplicate is harmless
                # (collapse key), a loss not.
                resends += 1
                if resends > FCM_H2_RESENDS:
                    raise

    def _h2_headers(self, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
        """A request's header fields, lowercase as HTTP/2 wants them (h2 checks none).

        A call sends every message with the same `headers`: the list is built once and serves
        them all, HPACK-encoded by h2 into a few bytes each time. No content-length: the end
        of the stream ends the body, and a value that changes with every request would cost
        h2 more to encode than the rest of the headers together.
        """
        if self._h2_fields is None or self._h2_fields[0] is not headers:
            fields = [
                (b":method", b"POST"),
                (b":scheme", b"https"),
                (b":path", self.path.encode("latin-1")),
                (b":authority", self.authority.encode("latin-1")),
                (b"content-type", b"application/json; charset=UTF-8"),
                *(
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in headers.items()
                ),
            ]
            self._h2_fields = (headers, fields)
        return self._h2_fields[1]

    async def _h2_connection(self) -> _H2Connection | None:
        """A connection with room for one more stream: an open one, else a new one (up to
        `connections`), else the first to free a stream. None once the server stopped
        choosing h2."""
        while True:
            if self.protocol != "h2":
                return None
            if any(connection.closed for connection in self._h2):
                self._h2 = [connection for connection in self._h2 if not connection.closed]
            for connection in self._h2:
                if connection.has_room():
                    return connection
            if self._h2_opening is not None:
                # Another request is opening one: share it (or its failure).
                await asyncio.shield(self._h2_opening)
            elif len(self._h2) < self._connections:
                await self._open_h2()
            else:
                waiter = asyncio.get_running_loop().create_future()
                self._h2_waiters.append(waiter)
                await waiter

    async def _open_h2(self) -> None:
        """Open a connection offering h2; keep it as HTTP/2 or, if the server chose
        HTTP/1.1, as an idle HTTP/1.1 connection (and send HTTP/1.1 from then on)."""
        opening: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._h2_opening = opening
        try:
            reader, writer = await self._open(offer_h2=True)
            ssl_object = writer.get_extra_info("ssl_object")
            if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
                self._idle.append((reader, writer))
                self.protocol = "http/1.1"
            else:
                connection = _H2Connection(reader, writer, self._h2_room)
                await connection.start(self.timeout)
                self._h2.append(connection)
                self.protocol = "h2"
        except asyncio.CancelledError:
            opening.cancel()
            raise
        except BaseException as exc:
            opening.set_exception(exc)
            opening.exception()  # retrieved: the requests waiting for it, if any, raise it
            raise
        else:
            opening.set_result(None)
        finally:
            self._h2_opening = None

    def _h2_room(self) -> None:
        """A stream was freed (or a connection closed): wake one request waiting for room."""
        while self._h2_waiters:
            waiter = self._h2_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _Unanswered(ConnectionError):
    """A request got no answer because its HTTP/2 connection went away or the server refused
    its stream; it may be sent again on another connection."""


# What the server may send before hearing from us: a connection window of 16 MiB and 1 MiB
# per stream, so that answers never wait for a WINDOW_UPDATE.
_RECEIVE_WINDOW = 1 << 24
_STREAM_RECEIVE_WINDOW = 1 << 20


@functools.cache
def _h2_protocol() -> type[H2Connection]:
    """h2's `H2Connection`, made to read on after a GOAWAY.

    A server that says GOAWAY still finishes the streams up to the last one it names (RFC
    9113, 6.8), and a graceful shutdown says it before their answers. h2 takes the connection
    for closed at the GOAWAY and every later frame for a protocol error, which would fail
    answers on their way; this subclass reads on, and `_H2Connection` opens no new stream.
    """
    from h2.connection import ConnectionState, H2Connection

    class _Protocol(H2Connection):
        def _receive_goaway_frame(self, frame: Any) -> Any:
            answer = super()._receive_goaway_frame(frame)
            self.state_machine.state = ConnectionState.CLIENT_OPEN
            return answer

    return _Protocol


class _H2Stream:
    __slots__ = ("data", "future", "headers", "status", "unsent")

    def __init__(self, future: asyncio.Future[tuple[int, list, bytes]], body: bytes) -> None:
        self.future = future
        self.unsent = body  # what flow control has not let out yet
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.data: list[bytes] = []


class _H2Connection:
    """One HTTP/2 connection of `_FcmSender`: concurrent requests, each on its own stream.

    The `h2` library speaks the protocol (framing, HPACK, flow control both ways, SETTINGS
    and PING, RST_STREAM, GOAWAY), configured to check and rewrite no header: the requests'
    are built right once per call (`_FcmSender._h2_headers`). This class gives h2's events to
    the requests waiting for them and writes what h2 has to send once per turn of the event
    loop, so that a call's requests leave together. After a GOAWAY the server finishes the
    streams it took; the others go again elsewhere. A request with no answer within the
    timeout is cancelled (RST_STREAM); when nothing at all came from the server meanwhile,
    the connection is taken for dead and closed.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_room: Callable[[], None],
    ) -> None:
        from h2.config import H2Configuration

        self.reader = reader
        self.writer = writer
        self._on_room = on_room
        self._loop = asyncio.get_running_loop()
        self._h2 = _h2_protocol()(
            H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )
        self.streams: dict[int, _H2Stream] = {}
        self.max_streams = FCM_H2_STREAMS
        self.closed = False
        self.draining = False  # GOAWAY received, or stream ids used up: no new streams
        self.last_received = time.monotonic()
        self._flush_scheduled = False
        self._settled: asyncio.Future[None] = self._loop.create_future()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float) -> None:
        """Send the preface and wait for the server's SETTINGS (its stream limit)."""
        from h2.settings import SettingCodes

        self._h2.initiate_connection()
        self._h2.update_settings(
            {SettingCodes.ENABLE_PUSH: 0, SettingCodes.INITIAL_WINDOW_SIZE: _STREAM_RECEIVE_WINDOW}
        )
        self._h2.increment_flow_control_window(_RECEIVE_WINDOW - 65535)
        self._flush()
        self._reader = self._loop.create_task(self._read_loop())
        try:
            await asyncio.wait_for(asyncio.shield(self._settled), timeout)
        except BaseException as exc:
            self.close(_Unanswered(f"HTTP/2 to FCM did not start: {exc!r}"))
            raise

    def has_room(self) -> bool:
        return not self.closed and not self.draining and len(self.streams) < self.max_streams

    async def request(
        self, headers: list[tuple[bytes, bytes]], body: bytes, timeout: float
    ) -> tuple[int, list, bytes]:
        """Send one request on a new stream; its status, headers and body."""
        from h2.exceptions import H2Error, NoAvailableStreamIDError

        if not self.has_room():
            raise _Unanswered("the HTTP/2 connection to FCM takes no new stream")
        try:
            stream_id = self._h2.get_next_available_stream_id()
            self._h2.send_headers(stream_id, headers, end_stream=not body)
        except NoAvailableStreamIDError as exc:
            self._drain()  # a new connection takes over
            raise _Unanswered("the HTTP/2 connection to FCM used up its stream ids") from exc
        except H2Error as exc:
            self._drain()
            raise _Unanswered(f"the HTTP/2 connection to FCM took no stream: {exc!r}") from exc
        future: asyncio.Future[tuple[int, list, bytes]] = self._loop.create_future()
        stream = _H2Stream(future, body)
        self.streams[stream_id] = stream
        if body:
            self._send_body(stream_id, stream)
        self._schedule_flush()
        timer = self._loop.call_later(timeout, self._time_out, stream_id, time.monotonic())
        try:
            return await future
        except asyncio.CancelledError:
            self._forget(stream_id)
            raise
        finally:
            timer.cancel()

    def close(self, error: Exception) -> None:
        """Fail what is in flight with `error` (each with its own copy) and hang up."""
        if self.closed:
            return
        self.closed = True
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if not stream.future.done():
                stream.future.set_exception(type(error)(*error.args))
        if not self._settled.done():
            self._settled.set_exception(error)
            self._settled.exception()  # retrieved: start() may have stopped waiting
        self.writer.close()
        for _ in range(len(streams) + 1):
            self._on_room()

    # -- writing --------------------------------------------------------------------------

    def _send_body(self, stream_id: int, stream: _H2Stream) -> None:
        data = stream.unsent
        while data:
            size = min(
                len(data),
                self._h2.local_flow_control_window(stream_id),
                self._h2.max_outbound_frame_size,
            )
            if size <= 0:
                break  # the rest when the server opens its window (WINDOW_UPDATE)
            self._h2.send_data(stream_id, data[:size], end_stream=size == len(data))
            data = data[size:]
        stream.unsent = data

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self._h2.data_to_send()
        if data and not self.closed:
            self.writer.write(data)

    def _forget(self, stream_id: int) -> None:
        """Drop a request nobody waits for any more, and tell the server (RST_STREAM)."""
        if self.streams.pop(stream_id, None) is None:
            return
        self._cancel(stream_id)
        self._on_room()

    def _cancel(self, stream_id: int) -> None:
        from h2.errors import ErrorCodes
        from h2.exceptions import H2Error

        with contextlib.suppress(H2Error):  # h2 already took the stream for closed
            self._h2.reset_stream(stream_id, ErrorCodes.CANCEL)
        self._schedule_flush()

    def _time_out(self, stream_id: int, started: float) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        if not stream.future.done():
            stream.future.set_exception(TimeoutError("no answer from FCM in time"))
        self._forget(stream_id)
        if self.last_received < started:
            # Not a byte since the request left: the connection is gone, not the answer slow.
            self.close(_Unanswered("the connection to FCM went silent"))

    # -- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        from h2.exceptions import ProtocolError

        error = _Unanswered("FCM closed the connection")
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.last_received = time.monotonic()
                # What this turn queued leaves first: h2 drops its unsent output on a GOAWAY.
                self._flush()
                self._received(data)
                self._flush()
        except OSError as exc:
            error = _Unanswered(f"the connection to FCM failed: {exc!r}")
        except ProtocolError as exc:
            self._flush()  # h2's GOAWAY, saying why
            error = _Unanswered(f"FCM broke HTTP/2: {exc!r}")
        except Exception as exc:
            # Whatever it is, the requests in flight must not wait for answers that will
            # never be read.
            logger.exception("HTTP/2 connection to FCM failed")
            error = _Unanswered(f"HTTP/2 to FCM failed: {exc!r}")
        finally:
            self.close(error)

    def _received(self, data: bytes) -> None:
        from h2 import events

        h2 = self._h2
        for event in h2.receive_data(data):
            if isinstance(event, events.DataReceived):
                h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if (stream := self.streams.get(event.stream_id)) is not None:
                    stream.data.append(event.data)
            elif isinstance(event, events.ResponseReceived):
                if (stream := self.streams.get(event.stream_id)) is not None:
                    stream.headers = cast(list[tuple[bytes, bytes]], event.headers)
                    stream.status = next(
                        (int(value) for name, value in stream.headers if name == b":status"), 0
                    )
            elif isinstance(event, events.StreamEnded):
                if (stream := self.streams.get(event.stream_id)) is not None:
                    self._settle(event.stream_id, stream)
            elif isinstance(event, events.StreamReset):
                self._on_reset(event.stream_id, event.error_code)
            elif isinstance(event, events.WindowUpdated):
                self._resume()
            elif isinstance(event, events.RemoteSettingsChanged):
                self.max_streams = min(FCM_H2_STREAMS, h2.remote_settings.max_concurrent_streams)
                if not self._settled.done():
                    self._settled.set_result(None)
                self._resume()  # the initial window may have grown
                self._on_room()
            elif isinstance(event, events.ConnectionTerminated):
                self._on_goaway(event.last_stream_id or 0)
            if self.closed:
                return

    def _on_reset(self, stream_id: int, code: int) -> None:
        from h2.errors import ErrorCodes

        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return
        if not stream.future.done():
            if code == ErrorCodes.REFUSED_STREAM:
                stream.future.set_exception(_Unanswered("FCM refused the stream"))
            else:
                stream.future.set_exception(
                    ConnectionError(f"FCM reset the stream (error {int(code)})")
                )
        self._on_room()

    def _on_goaway(self, last_stream_id: int) -> None:
        # The server answers the streams up to `last_stream_id` and no other.
        for stream_id in [s for s in self.streams if s > last_stream_id]:
            stream = self.streams.pop(stream_id)
            if not stream.future.done():
                stream.future.set_exception(_Unanswered("FCM did not take the request (GOAWAY)"))
            self._on_room()
        self._drain()

    def _drain(self) -> None:
        """Open no new stream; close once the streams in flight are answered."""
        self.draining = True
        if not self.streams:
            self.close(_Unanswered("the HTTP/2 connection to FCM was drained"))

    def _resume(self) -> None:
        """Send what flow control held back, now that a window opened."""
        for stream_id, stream in self.streams.items():
            if stream.unsent:
                self._send_body(stream_id, stream)

    def _settle(self, stream_id: int, stream: _H2Stream) -> None:
        del self.streams[stream_id]
        if stream.unsent:
            self._cancel(stream_id)  # answered before its whole body went out
        if not stream.future.done():
            if not stream.status:
                stream.future.set_exception(ConnectionError("FCM answered without a status"))
            else:
                headers = [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in stream.headers
                    if not name.startswith(b":")
                ]
                stream.future.set_result((stream.status, headers, b"".join(stream.data)))
        self._on_room()
        if self.draining:
            self._drain()


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


_fcm_senders: dict[tuple[str, int, str], _FcmSender] = {}


def _fcm_sender(app: Any, loop: _EventLoopThread) -> _FcmSender:
    """The sender of `app` on `loop` (its connections belong to that loop)."""
    from firebase_admin import messaging

    ca_file = str(getattr(settings, "FCM_CA_FILE", "") or "")
    key = (app.name, id(loop), ca_file)
    with _fcm_lock:
        sender = _fcm_senders.get(key)
        if sender is None:
            service = messaging._get_messaging_service(app)
            sender = _FcmSender(
                service._fcm_url,
                float(getattr(settings, "FCM_HTTP_TIMEOUT_SECONDS", 10)),
                int(getattr(settings, "FCM_CONNECTIONS", 8)),
                ca_file,
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


@dataclass
class _FcmCall:
    """One call's messages on their way: a result already known (an invalid message) or None
    for each, the answers to come for the others, and when they must have come."""

    slots: list[PushResult | None]
    sent: int
    answers: concurrent.futures.Future[list[PushResult]] | None
    failure: Exception | None
    deadline: float


def _send_fcm(messages: Sequence[OutgoingPush]) -> list[PushResult]:
    app = fcm_app()
    loop = _event_loop()
    sender = _fcm_sender(app, loop)
    ttl = int(settings.PUSH_TTL_SECONDS)
    # Stay well inside the lease, so no other worker reclaims rows still being sent.
    deadline = max(5.0, settings.PUSH_LEASE_SECONDS / 2)
    results: list[PushResult] = []
    # The next call is encoded (here, in the calling thread) while the previous one is on
    # the wire (in the loop's thread), then both are in flight.
    previous: _FcmCall | None = None
    for chunk in _chunks(messages, min(FCM_CALL_SIZE, FCM_BATCH_LIMIT)):
        call = _start_fcm_call(app, loop, sender, chunk, ttl, deadline)
        if previous is not None:
            results.extend(_finish_fcm_call(loop, previous))
        previous = call
    if previous is not None:
        results.extend(_finish_fcm_call(loop, previous))
    return results


def _start_fcm_call(
    app: Any,
    loop: _EventLoopThread,
    sender: _FcmSender,
    chunk: Sequence[OutgoingPush],
    ttl: int,
    deadline: float,
) -> _FcmCall:
    from firebase_admin import messaging

    bodies: list[bytes] = []
    slots: list[PushResult | None] = []
    for push in chunk:
        try:
            encoded = messaging._MessagingService.encode_message(_fcm_message(push, ttl))
            bodies.append(json.dumps({"message": encoded}, ensure_ascii=False).encode())
            slots.append(None)
        except (TypeError, ValueError) as exc:
            slots.append(PushResult(PushOutcome.FAILED, f"invalid message: {exc}"))
    answers = None
    failure = None
    if bodies:
        try:
            headers = _auth_headers(app)
            headers.update(request_id.outgoing_headers())
            answers = loop.submit(_send_all(sender, bodies, headers))
        except Exception as exc:
            failure = exc
    return _FcmCall(slots, len(bodies), answers, failure, time.monotonic() + deadline)


def _finish_fcm_call(loop: _EventLoopThread, call: _FcmCall) -> list[PushResult]:
    if not call.sent:
        return [r for r in call.slots if r is not None]
    try:
        if call.answers is None:
            raise call.failure or RuntimeError("the call never started")
        answers = loop.wait(call.answers, call.deadline - time.monotonic())
    except Exception as exc:
        # Timeouts, credential failures, anything that failed the whole call: some may have
        # gone out, but a duplicate is harmless (collapse key), a loss not.
        logger.warning("FCM batch of %d failed: %r", call.sent, exc)
        answers = [PushResult(PushOutcome.RETRY, _error_text(exc))] * call.sent
    answer_iter = iter(answers)
    return [r if r is not None else next(answer_iter) for r in call.slots]


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
