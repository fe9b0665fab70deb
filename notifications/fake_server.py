"""What the local fakes of outside services share, for development and tests.

`notifications.fake_fcm` and `notifications.fake_sms` each keep only their own endpoints,
state and injected behaviours; the rest lives here so that the two cannot drift apart:

- `FakeState`: the accepted messages, an injected latency and connection drops, and the
  protocol of every connection, behind one lock;
- `JsonHandler`: HTTP/1.1 keep-alive JSON plumbing and the `/_fake` control endpoints
  (`GET`/`DELETE /_fake/messages`, `POST`/`DELETE /_fake/behaviours`, `GET /_fake/connections`);
  `JsonHandler.respond()` runs the same logic for a request that came in over TLS;
- `QuietThreadingServer`: a threading server that ignores clients hanging up on it; with
  `tls=True` it serves the same handler over TLS instead, HTTP/2 to a client that offers `h2`
  in ALPN (as FCM does) and HTTP/1.1 to the others, with a certificate of its own CA
  (`ca_file`) made at start;
- `FakeServer`: a fake in a background thread, for tests;
- `command_line()` and `serve()`: the common part of each fake's `main()`.

Plain HTTP needs only the standard library; TLS also needs `cryptography` (the certificates)
and `h2` (HTTP/2), both dependencies of the project, imported only then.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import http.client
import io
import ipaddress
import json
import shutil
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Generic, Self, TypeVar, cast

# The behaviours of `POST /_fake/behaviours` about connections rather than messages (0: off).
CONNECTION_BEHAVIOURS = ("close_after", "goaway_after")


class FakeState:
    """What every fake remembers; shared by the handler threads behind one lock.

    A fake adds its own behaviours by overriding `configure()` and `_forget_behaviours()`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.latency_ms = 0
        # Answer this many requests on each connection, then drop it without a word: what
        # else was in flight on it is lost, unanswered and unrecorded.
        self.close_after = 0
        # HTTP/2: answer this many requests on each connection, then send GOAWAY naming the
        # last one answered and close: the client must send the others again.
        self.goaway_after = 0
        # Connections accepted, by protocol ("HTTP/1.1", "HTTP/2").
        self.connections: dict[str, int] = {}
        self._waited = threading.local()

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply the body of `POST /_fake/behaviours`; an invalid one raises (→ a 400)."""
        raise NotImplementedError

    def _configure_connections(self, key: str, value: Any) -> bool:
        """Apply one of `CONNECTION_BEHAVIOURS` (with the lock held); False for another key."""
        if key not in CONNECTION_BEHAVIOURS:
            return False
        setattr(self, key, max(0, int(value or 0)))
        return True

    def _forget_behaviours(self) -> None:
        """Drop every injected behaviour; called with the lock held."""
        self.latency_ms = 0
        self.close_after = 0
        self.goaway_after = 0

    def note_connection(self, protocol: str) -> None:
        """Count a connection accepted with `protocol`."""
        with self.lock:
            self.connections[protocol] = self.connections.get(protocol, 0) + 1

    def connection_counts(self) -> dict[str, int]:
        """Connections accepted so far, by protocol."""
        with self.lock:
            return dict(self.connections)

    def reset(self) -> None:
        """Forget every behaviour (`DELETE /_fake/behaviours`), keep the messages."""
        with self.lock:
            self._forget_behaviours()

    def clear(self) -> None:
        """Forget the messages, the connections and every behaviour, as a fresh fake."""
        with self.lock:
            self.messages.clear()
            self.connections.clear()
            self._forget_behaviours()

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the messages, safe to read while requests keep arriving."""
        with self.lock:
            return list(self.messages)

    def delay(self) -> None:
        """Wait the injected latency, as a slow service would before answering (unless the
        transport already waited it, `latency_waited()`)."""
        latency = self.latency_ms
        if latency and not getattr(self._waited, "value", False):
            time.sleep(latency / 1000)

    @contextlib.contextmanager
    def latency_waited(self) -> Iterator[None]:
        """Within: `delay()` in this thread returns at once (an asyncio transport waited the
        latency without holding up its other requests)."""
        self._waited.value = True
        try:
            yield
        finally:
            self._waited.value = False


@dataclass(frozen=True)
class Answer:
    """A handler's answer to one request, for a transport other than its own socket."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class JsonHandler(BaseHTTPRequestHandler):
    """JSON in and out, plus the `/_fake` control endpoints every fake offers.

    A fake routes its own `POST` endpoints in `_post()`; the error bodies for an unknown
    path or unreadable JSON are class attributes, so that each fake answers in its
    service's own error format. The same logic serves requests that came in over TLS (HTTP/2
    or HTTP/1.1, `_TlsServing`) through `respond()`.
    """

    # httpx (and firebase-admin on top of it) keeps connections alive; HTTP/1.1 with an
    # exact Content-Length on every answer is what lets it reuse them.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server: QuietThreadingServer

    not_found_body: Any = {"error": "no such path"}
    invalid_json_body: Any = {"error": "invalid JSON"}

    # Set by `respond()`: `_reply` keeps the answer here instead of writing to a socket.
    _answer: Answer | None = None
    _answer_only = False
    _requests_on_connection = 0

    @classmethod
    def respond(
        cls,
        server: QuietThreadingServer,
        client_address: Any,
        method: str,
        path: str,
        version: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Answer:
        """Run this handler's routes for one request read by another transport."""
        # BaseRequestHandler.__init__ would serve a whole connection: set up by hand what
        # the routes read (the server, the request line, the headers, the body).
        handler = cls.__new__(cls)
        handler.server = server
        handler.client_address = client_address
        handler.command, handler.path, handler.request_version = method, path, version
        handler.requestline = f"{method} {path} {version}"
        message = http.client.HTTPMessage()
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding"):
                message[name] = value
        message["Content-Length"] = str(len(body))
        handler.headers = message
        handler.rfile = io.BytesIO(body)
        handler._answer_only = True
        route = getattr(handler, f"do_{method}", None)
        if route is None:
            handler._reply(501, {"error": f"unsupported method {method}"})
        else:
            route()
        if handler._answer is None:
            raise RuntimeError(f"{cls.__name__} gave no answer to {method} {path}")
        return handler._answer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self._requests_on_connection += 1
        limit = self.server.state.close_after
        if limit and self._requests_on_connection >= limit:
            # Without a `Connection: close`: the client finds out on its next request.
            self.close_connection = True

    # -- plumbing -------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section, up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_json(self) -> Any:
        raw = self._read_body()
        if not raw:
            return None
        return json.loads(raw.decode("utf-8"))

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        fields: list[tuple[str, str]] = []
        if body is not None:
            fields.append(("Content-Type", "application/json; charset=UTF-8"))
        if status != 204:  # a 204 has no body and must not announce one
            fields.append(("Content-Length", str(len(payload))))
        fields.extend((headers or {}).items())
        if self._answer_only:
            self._answer = Answer(status, fields, payload)
            self.log_request(status)
            return
        self.send_response(status)
        for name, value in fields:
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _not_found(self) -> None:
        self._reply(404, self.not_found_body)

    # -- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/_fake/messages":
            self._reply(200, self.server.state.snapshot())
        elif path == "/_fake/connections":
            self._reply(200, self.server.state.connection_counts())
        else:
            self._not_found()

    def do_DELETE(self) -> None:
        path = self.path.split("?")[0]
        state = self.server.state
        if path == "/_fake/messages":
            with state.lock:
                state.messages.clear()
            self._reply(204, None)
        elif path == "/_fake/behaviours":
            state.reset()
            self._reply(204, None)
        else:
            self._not_found()

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        try:
            body = self._read_json()
        except (ValueError, UnicodeDecodeError):
            self._reply(400, self.invalid_json_body)
            return
        if path != "/_fake/behaviours":
            self._post(path, body)
            return
        try:
            self.server.state.configure(body or {})
        except (AttributeError, TypeError, ValueError) as exc:
            self._reply(400, {"error": str(exc)})
            return
        self._reply(204, None)

    def _post(self, path: str, body: Any) -> None:
        """The fake's own `POST` endpoints; `body` is the parsed JSON (None when empty)."""
        self._not_found()


class QuietThreadingServer(ThreadingHTTPServer):
    """The HTTP server of a fake: its handler class, its state and a `verbose` switch.

    Quiet because a client that gives up (its own timeout) is not an error of the fake's.
    With `tls=True` the same handler is served over TLS by `_TlsServing`, an asyncio loop in
    the thread that calls `serve_forever()`: HTTP/2 to a client that offers `h2` in ALPN
    (unless `http2=False`), HTTP/1.1 to the others. Clients trust `ca_file`.
    """

    daemon_threads = True
    allow_reuse_address = True
    handler_class: type[JsonHandler] = JsonHandler
    state: FakeState

    def __init__(
        self,
        address: tuple[str, int],
        *,
        verbose: bool = False,
        tls: bool = False,
        http2: bool = True,
    ) -> None:
        super().__init__(address, self.handler_class)
        self.verbose = verbose
        self.tls: _TlsServing | None = None
        if tls:
            try:
                self.tls = _TlsServing(self, http2=http2)
            except BaseException:
                self.server_close()
                raise

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{host if isinstance(host, str) else bytes(host).decode()}:{port}"

    @property
    def ca_file(self) -> Path:
        """The PEM certificate of the CA that signed the fake's own (TLS only)."""
        if self.tls is None:
            raise RuntimeError("this fake serves plain HTTP: it has no certificate")
        return self.tls.ca_file

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        if self.tls is None:
            super().serve_forever(poll_interval)
        else:
            self.tls.serve_forever(poll_interval)

    def shutdown(self) -> None:
        if self.tls is None:
            super().shutdown()
        else:
            self.tls.shutdown()

    def server_close(self) -> None:
        super().server_close()
        if self.tls is not None:
            self.tls.remove_certificates()

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.state.note_connection("HTTP/1.1")
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket under us: not our error.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        super().handle_error(request, client_address)


# -- TLS: HTTP/2 and HTTP/1.1 ---------------------------------------------------------------


def _make_certificates(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signs, for `host`, localhost, 127.0.0.1 and ::1;
    written to `directory` as `ca.pem`, `server.pem` and `server-key.pem`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake services test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host and host != "localhost":
            names.append(x509.DNSName(host))
    else:
        if not address.is_unspecified and str(address) not in ("127.0.0.1", "::1"):
            names.append(x509.IPAddress(address))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server-key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


def _error_answer(status: int, text: str) -> Answer:
    payload = json.dumps({"error": text}).encode()
    return Answer(
        status,
        [
            ("Content-Type", "application/json; charset=UTF-8"),
            ("Content-Length", str(len(payload))),
        ],
        payload,
    )


class _TlsServing:
    """A fake's handler over TLS on an asyncio loop: HTTP/2 or HTTP/1.1, as ALPN decides.

    Each request is answered by `JsonHandler.respond()` inline on the loop; an injected
    latency is waited asynchronously first, so that a slow answer holds up only its own
    request (one stream of many on an HTTP/2 connection), as in the threading server.
    """

    def __init__(self, httpd: QuietThreadingServer, *, http2: bool) -> None:
        self.httpd = httpd
        self.directory = Path(tempfile.mkdtemp(prefix="fake-tls-"))
        self.ca_file, cert_file, key_file = _make_certificates(
            self.directory, str(httpd.server_address[0])
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert_file, key_file)
        self.context.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self, poll_interval: float) -> None:
        self._stopped.clear()
        try:
            asyncio.run(self._serve(poll_interval))
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop `serve_forever()` and wait for it, from another thread."""
        self._stop.set()
        self._stopped.wait()

    def remove_certificates(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    async def _serve(self, poll_interval: float) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_error)
        connections: set[asyncio.Task[None]] = set()

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                connections.add(task)
            try:
                await self._connection(reader, writer)
            finally:
                if task is not None:
                    connections.discard(task)

        server = await asyncio.start_server(
            accepted,
            sock=self.httpd.socket,
            ssl=self.context,
            backlog=self.httpd.request_queue_size,
        )
        try:
            while not self._stop.is_set():
                await asyncio.sleep(poll_interval)
        finally:
            server.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # TLS handshakes a client gave up on, connections reset under us: not the fake's
        # errors.
        if self.httpd.verbose:
            loop.default_exception_handler(context)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        protocol = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        peer = writer.get_extra_info("peername")
        try:
            if protocol == "h2":
                self.httpd.state.note_connection("HTTP/2")
                await _H2Serving(self, reader, writer, peer).serve()
            else:
                self.httpd.state.note_connection("HTTP/1.1")
                await self._serve_http1(reader, writer, peer)
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError):
            pass  # a client that hung up or spoke nonsense
        finally:
            writer.close()

    def answer_now(
        self,
        peer: Any,
        method: str,
        path: str,
        version: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Answer:
        """The handler's answer to one request (a 500 if the handler itself fails)."""
        try:
            return self.httpd.handler_class.respond(
                self.httpd, peer, method, path, version, headers, body
            )
        except Exception as exc:
            return _error_answer(500, f"the fake failed: {exc!r}")

    async def answer(
        self,
        peer: Any,
        method: str,
        path: str,
        version: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Answer:
        """`answer_now()`, after the injected latency (if any)."""
        state = self.httpd.state
        if not state.latency_ms:
            return self.answer_now(peer, method, path, version, headers, body)
        await asyncio.sleep(state.latency_ms / 1000)
        with state.latency_waited():
            return self.answer_now(peer, method, path, version, headers, body)

    async def _serve_http1(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Any
    ) -> None:
        answered = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed a kept-alive connection
            lines = head[:-4].decode("latin-1").split("\r\n")
            method, path, version = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
            fields = {name.lower(): value for name, value in headers}
            if "chunked" in fields.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            else:
                body = await reader.readexactly(int(fields.get("content-length") or 0))
            answer = await self.answer(peer, method, path, version, headers, body)
            try:
                reason = http.HTTPStatus(answer.status).phrase
            except ValueError:
                reason = ""
            head_lines = [f"HTTP/1.1 {answer.status} {reason}"]
            head_lines.extend(f"{name}: {value}" for name, value in answer.headers)
            writer.write(("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1") + answer.body)
            await writer.drain()
            answered += 1
            limit = self.httpd.state.close_after
            if version != "HTTP/1.1" or fields.get("connection", "").lower() == "close":
                return
            if limit and answered >= limit:
                return  # without a `Connection: close`, as `JsonHandler` does


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readline()


class _H2Serving:
    """One HTTP/2 connection of `_TlsServing`: every stream is one request to the handler.

    Honours the `close_after` and `goaway_after` behaviours of the fake's state, counted per
    connection.
    """

    def __init__(
        self,
        serving: _TlsServing,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: Any,
    ) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection

        self.serving = serving
        self.state = serving.httpd.state
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.h2 = H2Connection(
            # Our own answers need no checking; what the client sends does.
            H2Configuration(
                client_side=False,
                header_encoding="utf-8",
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        self.requests: dict[int, tuple[list[tuple[str, str]], bytearray]] = {}
        self.unsent: dict[int, bytes] = {}  # answer bodies waiting for flow-control window
        self.answering: set[asyncio.Task[None]] = set()  # answers waiting out a latency
        self.completed = 0  # requests received in full on this connection
        self.last_stream = 0  # set by goaway_after: later streams are left unanswered
        self.finished = False

    async def serve(self) -> None:
        from h2.exceptions import ProtocolError

        self.h2.initiate_connection()
        # Room for many request bodies in flight, as a large server gives.
        self.h2.increment_flow_control_window(1 << 24)
        self._flush()
        while not self.finished:
            data = await self.reader.read(65536)
            if not data:
                return
            try:
                events = self.h2.receive_data(data)
            except ProtocolError:
                self._flush()
                return
            for event in events:
                self._on_event(event)
                if self.finished:
                    break
            self._flush()

    def _on_event(self, event: Any) -> None:
        from h2 import events as h2_events

        if isinstance(event, h2_events.RequestReceived):
            if not (self.last_stream and event.stream_id > self.last_stream):
                # Text, with header_encoding set.
                headers = cast(list[tuple[str, str]], event.headers)
                self.requests[event.stream_id] = (headers, bytearray())
        elif isinstance(event, h2_events.DataReceived):
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            request = self.requests.get(event.stream_id)
            if request is not None:
                request[1].extend(event.data)
        elif isinstance(event, h2_events.StreamEnded):
            request = self.requests.pop(event.stream_id, None)
            if request is not None:
                self._complete(event.stream_id, *request)
        elif isinstance(event, h2_events.StreamReset):
            self.requests.pop(event.stream_id, None)
            self.unsent.pop(event.stream_id, None)
        elif isinstance(event, h2_events.WindowUpdated):
            for stream_id in list(self.unsent):
                self._send_body(stream_id)
            self._close_if_done()
        elif isinstance(event, h2_events.ConnectionTerminated):
            self.finished = True

    def _complete(self, stream_id: int, headers: list[tuple[str, str]], body: bytearray) -> None:
        self.completed += 1
        if self.state.close_after and self.completed > self.state.close_after:
            self._finish()  # drop: this request and any other in flight go unanswered
            return
        if self.state.goaway_after and self.completed == self.state.goaway_after:
            self.last_stream = stream_id
        pseudo: dict[str, str] = {}
        fields: list[tuple[str, str]] = []
        for name, value in headers:
            if name.startswith(":"):
                pseudo[name] = value
            else:
                fields.append((name, value))
        if ":authority" in pseudo:
            fields.append(("Host", pseudo[":authority"]))
        request = (
            self.peer,
            pseudo.get(":method", "GET"),
            pseudo.get(":path", "/"),
            "HTTP/2",
            fields,
            bytes(body),
        )
        if self.state.latency_ms:
            task = asyncio.ensure_future(self._answer_later(stream_id, request))
            self.answering.add(task)
            task.add_done_callback(self.answering.discard)
        else:
            self._send_answer(stream_id, self.serving.answer_now(*request))
            self._close_if_done()

    async def _answer_later(self, stream_id: int, request: tuple[Any, ...]) -> None:
        answer = await self.serving.answer(*request)
        if self.finished:
            return
        self._send_answer(stream_id, answer)
        self._flush()
        self._close_if_done()

    def _send_answer(self, stream_id: int, answer: Answer) -> None:
        from h2.exceptions import H2Error

        headers = [(":status", str(answer.status))]
        headers.extend((name.lower(), value) for name, value in answer.headers)
        try:
            self.h2.send_headers(stream_id, headers, end_stream=not answer.body)
        except H2Error:
            return  # the client reset the stream meanwhile
        if answer.body:
            self.unsent[stream_id] = answer.body
            self._send_body(stream_id)

    def _send_body(self, stream_id: int) -> None:
        from h2.exceptions import H2Error

        data = self.unsent[stream_id]
        try:
            while data:
                size = min(
                    self.h2.local_flow_control_window(stream_id),
                    self.h2.max_outbound_frame_size,
                    len(data),
                )
                if size <= 0:
                    break
                self.h2.send_data(stream_id, data[:size], end_stream=size == len(data))
                data = data[size:]
        except H2Error:
            data = b""  # the stream is gone
        if data:
            self.unsent[stream_id] = data
        else:
            del self.unsent[stream_id]

    def _close_if_done(self) -> None:
        """Close the connection once `goaway_after` or `close_after` requests are answered."""
        if self.finished or self.answering - {asyncio.current_task()} or self.unsent:
            return
        if self.last_stream:
            # GOAWAY after the answers: h2 sends nothing more once it has said it.
            self.h2.close_connection(last_stream_id=self.last_stream)
            self._finish()
        elif self.state.close_after and self.completed >= self.state.close_after:
            self._finish()

    def _finish(self) -> None:
        self._flush()
        self.finished = True
        self.writer.close()

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)


ServerT = TypeVar("ServerT", bound=QuietThreadingServer)


class FakeServer(Generic[ServerT]):
    """A fake in a background thread, for tests: `base_url = FakeXServer().start()`.

    A fake names itself in `label` and builds its HTTP server in `_make_httpd()`.
    """

    label: str  # "FCM" → "the fake FCM server", thread "fake-fcm"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: ServerT | None = None
        self._thread: threading.Thread | None = None

    def _make_httpd(self, address: tuple[str, int]) -> ServerT:
        raise NotImplementedError

    @property
    def httpd(self) -> ServerT:
        if self._httpd is None:
            raise RuntimeError(f"the fake {self.label} server is not running")
        return self._httpd

    @property
    def base_url(self) -> str:
        return self.httpd.base_url

    @property
    def ca_file(self) -> Path:
        """The CA certificate a client must trust (a fake started with TLS)."""
        return self.httpd.ca_file

    @property
    def connections(self) -> dict[str, int]:
        """Connections accepted since the last `clear()`, by protocol."""
        return self.httpd.state.connection_counts()

    def start(self) -> str:
        """Bind (port 0 picks a free one), serve in a daemon thread, return the base URL."""
        self._httpd = self._make_httpd(self._address)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.label.lower()}",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # In-process shortcuts to what the HTTP control endpoints do.

    def clear(self) -> None:
        """Forget the messages and every behaviour."""
        self.httpd.state.clear()

    def configure(self, spec: dict[str, Any]) -> None:
        self.httpd.state.configure(spec)


def command_line(description: str, default_port: int) -> argparse.ArgumentParser:
    """The options every fake takes (`--host`, `--port`); a fake adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    return parser


def serve(httpd: QuietThreadingServer, name: str, path: str = "") -> None:
    """Say where the fake listens (the first line, which scripts wait for), serve to Ctrl-C.

    Over TLS the second line names the CA certificate that clients must trust.
    """
    print(f"{name} listening on {httpd.base_url}{path}", flush=True)
    if httpd.tls is not None:
        print(f"{name} CA certificate: {httpd.ca_file}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
