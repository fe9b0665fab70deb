"""What the local fakes of outside services share, for development and tests (stdlib only).

`notifications.fake_fcm` and `notifications.fake_sms` each keep only their own endpoints,
state and injected behaviours; the rest lives here so that the two cannot drift apart:

- `FakeState`: the accepted messages and an injected latency, behind one lock;
- `JsonHandler`: HTTP/1.1 keep-alive JSON plumbing and the `/_fake` control endpoints
  (`GET`/`DELETE /_fake/messages`, `POST`/`DELETE /_fake/behaviours`);
- `QuietThreadingServer`: a threading server that ignores clients hanging up on it;
- `FakeServer`: a fake in a background thread, for tests;
- `command_line()` and `serve()`: the common part of each fake's `main()`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar


class FakeState:
    """What every fake remembers; shared by the handler threads behind one lock.

    A fake adds its own behaviours by overriding `configure()` and `_forget_behaviours()`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.latency_ms = 0

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply the body of `POST /_fake/behaviours`; an invalid one raises (→ a 400)."""
        raise NotImplementedError

    def _forget_behaviours(self) -> None:
        """Drop every injected behaviour; called with the lock held."""
        self.latency_ms = 0

    def reset(self) -> None:
        """Forget every behaviour (`DELETE /_fake/behaviours`), keep the messages."""
        with self.lock:
            self._forget_behaviours()

    def clear(self) -> None:
        """Forget the messages and every behaviour, as a fresh fake."""
        with self.lock:
            self.messages.clear()
            self._forget_behaviours()

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the messages, safe to read while requests keep arriving."""
        with self.lock:
            return list(self.messages)

    def delay(self) -> None:
        """Wait the injected latency, as a slow service would before answering."""
        latency = self.latency_ms
        if latency:
            time.sleep(latency / 1000)


class JsonHandler(BaseHTTPRequestHandler):
    """JSON in and out, plus the `/_fake` control endpoints every fake offers.

    A fake routes its own `POST` endpoints in `_post()`; the error bodies for an unknown
    path or unreadable JSON are class attributes, so that each fake answers in its
    service's own error format.
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

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

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
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        if status != 204:  # a 204 has no body and must not announce one
            self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _not_found(self) -> None:
        self._reply(404, self.not_found_body)

    # -- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/_fake/messages":
            self._reply(200, self.server.state.snapshot())
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
    """

    daemon_threads = True
    allow_reuse_address = True
    handler_class: type[JsonHandler] = JsonHandler
    state: FakeState

    def __init__(self, address: tuple[str, int], *, verbose: bool = False) -> None:
        super().__init__(address, self.handler_class)
        self.verbose = verbose

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host if isinstance(host, str) else bytes(host).decode()}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket under us: not our error.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        super().handle_error(request, client_address)


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
    """Say where the fake listens (the first line, which scripts wait for), serve to Ctrl-C."""
    print(f"{name} listening on {httpd.base_url}{path}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
