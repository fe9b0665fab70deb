"""A local stand-in for an HTTP SMS gateway, for development and tests (stdlib only).

    python -m notifications.fake_sms --port 9198

Point the project at it with
`SMS_BACKEND=http SMS_HTTP_URL=http://127.0.0.1:9198/send SMS_HTTP_TOKEN=dev-sms-token`.

Endpoints:
- `POST /send` with `{"to", "text", "sender"}` and `Authorization: Bearer <token>` → 200
  `{"id": "<uuid>", "status": "accepted"}`; a wrong or missing token is a 401, a missing
  `to` or `text` a 400.
- `GET /_fake/messages` → `[{id, to, text, sender, received_at}, ...]`; `DELETE` clears them.
- `POST /_fake/behaviours` → failures or a latency for the next sends, e.g.
  `{"status": 503, "times": 2}`, `{"status": 429, "retry_after": 1, "times": 1}` or
  `{"latency_ms": 200}`. Without `times` a failure repeats forever; `{"status": null}` ends it.
  `DELETE /_fake/behaviours` forgets them all.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TOKEN = "dev-sms-token"


def _text(value: str | bytes | bytearray) -> str:
    return value if isinstance(value, str) else bytes(value).decode()


def _failure(spec: dict[str, Any]) -> dict[str, Any] | None:
    status, times, retry_after = spec["status"], spec.get("times"), spec.get("retry_after")
    if status is None or (times is not None and int(times) <= 0):
        return None
    if not 400 <= int(status) <= 599:
        raise ValueError(f"status {status!r} is not an error status")
    return {
        "status": int(status),
        "retry_after": None if retry_after is None else int(retry_after),
        "times": None if times is None else int(times),
    }


class FakeSmsState:
    """Everything the fake remembers; shared by the handler threads behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.failure: dict[str, Any] | None = None
        self.latency_ms = 0

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply a behaviour (see the module docstring); all of it or, when invalid, none."""
        if not isinstance(spec, dict):
            raise TypeError("a behaviour is a JSON object")
        latency_ms = max(0, int(spec["latency_ms"])) if "latency_ms" in spec else None
        failure = _failure(spec) if "status" in spec else None
        with self.lock:
            if "status" in spec:
                self.failure = failure
            if latency_ms is not None:
                self.latency_ms = latency_ms

    def reset(self) -> None:
        with self.lock:
            self.failure = None
            self.latency_ms = 0

    def take_failure(self) -> dict[str, Any] | None:
        """The failure to answer now, counting down `times`."""
        with self.lock:
            failure = self.failure
            if failure is None:
                return None
            if failure["times"] is not None:
                failure["times"] -= 1
                if failure["times"] <= 0:
                    self.failure = None
            return dict(failure)

    def record(self, to: str, text: str, sender: str) -> dict[str, Any]:
        message = {
            "id": str(uuid.uuid4()),
            "to": to,
            "text": text,
            "sender": sender,
            "received_at": datetime.now(UTC).isoformat(),
        }
        with self.lock:
            self.messages.append(message)
        return message


class FakeSmsHandler(BaseHTTPRequestHandler):
    # httpx keeps connections alive; HTTP/1.1 with exact Content-Length lets it reuse them.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server: FakeSmsHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing -------------------------------------------------------------------------

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
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

    # -- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/_fake/messages":
            with self.server.state.lock:
                messages = list(self.server.state.messages)
            self._reply(200, messages)
        else:
            self._reply(404, {"error": "no such path"})

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
            self._reply(404, {"error": "no such path"})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        try:
            body = self._read_json()
        except (ValueError, UnicodeDecodeError):
            self._reply(400, {"error": "invalid JSON"})
            return
        if path == "/_fake/behaviours":
            try:
                self.server.state.configure(body or {})
            except (TypeError, ValueError) as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(204, None)
        elif path == "/send":
            self._send(body)
        else:
            self._reply(404, {"error": "no such path"})

    def _send(self, body: Any) -> None:
        state = self.server.state
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        if self.headers.get("Authorization", "") != f"Bearer {self.server.token}":
            self._reply(401, {"error": "invalid or missing bearer token"})
            return
        failure = state.take_failure()
        if failure is not None:
            headers = {}
            if failure["retry_after"] is not None:
                headers["Retry-After"] = str(failure["retry_after"])
            self._reply(failure["status"], {"error": "injected failure"}, headers)
            return
        fields = body if isinstance(body, dict) else {}
        to, text = fields.get("to"), fields.get("text")
        if not isinstance(to, str) or not to or not isinstance(text, str) or not text:
            self._reply(400, {"error": "`to` and `text` are required"})
            return
        message = state.record(to, text, str(fields.get("sender") or ""))
        self._reply(200, {"id": message["id"], "status": "accepted"})


class FakeSmsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], *, token: str = DEFAULT_TOKEN, verbose: bool = False
    ) -> None:
        super().__init__(address, FakeSmsHandler)
        self.state = FakeSmsState()
        self.token = token
        self.verbose = verbose

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket under us: not our error.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeSmsServer:
    """The fake in a background thread, for tests: `base_url = FakeSmsServer().start()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN) -> None:
        self._address = (host, port)
        self.token = token
        self._httpd: FakeSmsHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def httpd(self) -> FakeSmsHTTPServer:
        if self._httpd is None:
            raise RuntimeError("the fake SMS server is not running")
        return self._httpd

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{_text(host)}:{port}"

    def start(self) -> str:
        """Bind (port 0 picks a free one), serve in a daemon thread, return the base URL."""
        self._httpd = FakeSmsHTTPServer(self._address, token=self.token)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-sms",
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

    def __enter__(self) -> FakeSmsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # In-process shortcuts to what the HTTP control endpoints do.

    def messages(self) -> list[dict[str, Any]]:
        with self.httpd.state.lock:
            return list(self.httpd.state.messages)

    def clear(self) -> None:
        """Forget the messages and every behaviour."""
        state = self.httpd.state
        with state.lock:
            state.messages.clear()
        state.reset()

    def configure(self, spec: dict[str, Any]) -> None:
        self.httpd.state.configure(spec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake HTTP SMS gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9198)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bearer token it accepts")
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    httpd = FakeSmsHTTPServer((args.host, args.port), token=args.token, verbose=args.verbose)
    host, port = httpd.server_address[:2]
    print(f"fake SMS gateway listening on http://{_text(host)}:{port}/send", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
