"""A local stand-in for FCM HTTP v1, for development and tests (stdlib only).

    python -m notifications.fake_fcm --port 9099

Point the project at it with `PUSH_BACKEND=fcm FCM_ENDPOINT=http://127.0.0.1:9099`.

Endpoints:
- `POST /v1/projects/{project}/messages:send` with `{"message": {...}}` → 200
  `{"name": "projects/{project}/messages/<id>"}`; the target is read from `token` or `fid`.
- `GET /_fake/messages` → `[{project, message, received_at}, ...]`; `DELETE` clears them.
- `POST /_fake/behaviours` → per-token failures or a global latency, e.g.
  `{"tok-1": {"error": "QUOTA", "retry_after": 5, "times": 2}}` or `{"latency_ms": 200}`.
  Errors: UNREGISTERED (404), UNAVAILABLE (503), QUOTA (429), INTERNAL (500),
  INVALID_ARGUMENT (400), SENDER_ID_MISMATCH (403). Without `times` an error repeats forever.
  `DELETE /_fake/behaviours` forgets them all.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

# error name → (HTTP status, google.rpc status, FCM errorCode or None, message)
_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    "QUOTA": (
        429,
        "RESOURCE_EXHAUSTED",
        "QUOTA_EXCEEDED",
        "Quota exceeded for quota metric 'Send requests'.",
    ),
    "INTERNAL": (500, "INTERNAL", "INTERNAL", "Internal error encountered."),
    "INVALID_ARGUMENT": (
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "SENDER_ID_MISMATCH": (
        403,
        "PERMISSION_DENIED",
        "SENDER_ID_MISMATCH",
        "SenderId mismatch",
    ),
}


def _text(value: str | bytes | bytearray) -> str:
    return value if isinstance(value, str) else bytes(value).decode()


class FakeFCMState:
    """Everything the fake remembers; shared by the handler threads behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.behaviours: dict[str, dict[str, Any]] = {}
        self.latency_ms = 0

    def configure(self, spec: dict[str, Any]) -> None:
        with self.lock:
            for key, value in spec.items():
                if key == "latency_ms":
                    self.latency_ms = max(0, int(value))
                elif value is None:
                    self.behaviours.pop(key, None)
                else:
                    times = value.get("times")
                    if times is not None and int(times) <= 0:
                        self.behaviours.pop(key, None)
                        continue
                    error = str(value.get("error", "")).upper()
                    if error not in _ERRORS:
                        raise ValueError(f"unknown error {error!r}")
                    self.behaviours[key] = {
                        "error": error,
                        "retry_after": value.get("retry_after"),
                        "times": None if times is None else int(times),
                    }

    def take_failure(self, target: str) -> dict[str, Any] | None:
        """The failure to answer for this target now, counting down `times`."""
        with self.lock:
            behaviour = self.behaviours.get(target)
            if behaviour is None:
                return None
            if behaviour["times"] is not None:
                behaviour["times"] -= 1
                if behaviour["times"] <= 0:
                    del self.behaviours[target]
            return dict(behaviour)

    def record(self, project: str, message: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append(
                {
                    "project": project,
                    "message": message,
                    "received_at": datetime.now(UTC).isoformat(),
                }
            )


class FakeFCMHandler(BaseHTTPRequestHandler):
    # firebase-admin's httpx client keeps connections alive; HTTP/1.1 with exact
    # Content-Length on every answer is what lets it reuse them.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server: FakeFCMHTTPServer

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

    def _google_error(
        self, status: int, rpc_status: str, message: str, fcm_code: str | None = None
    ) -> dict[str, Any]:
        error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
        if fcm_code:
            error["details"] = [{"@type": _FCM_ERROR_TYPE, "errorCode": fcm_code}]
        return {"error": error}

    # -- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/_fake/messages":
            with self.server.state.lock:
                messages = list(self.server.state.messages)
            self._reply(200, messages)
        else:
            self._reply(404, self._google_error(404, "NOT_FOUND", "No such path."))

    def do_DELETE(self) -> None:
        path = self.path.split("?")[0]
        state = self.server.state
        if path == "/_fake/messages":
            with state.lock:
                state.messages.clear()
            self._reply(204, None)
        elif path == "/_fake/behaviours":
            with state.lock:
                state.behaviours.clear()
                state.latency_ms = 0
            self._reply(204, None)
        else:
            self._reply(404, self._google_error(404, "NOT_FOUND", "No such path."))

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        try:
            body = self._read_json()
        except (ValueError, UnicodeDecodeError):
            self._reply(400, self._google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload."))
            return
        if path == "/_fake/behaviours":
            try:
                self.server.state.configure(body or {})
            except (AttributeError, TypeError, ValueError) as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(204, None)
            return
        match = _SEND_PATH.match(path)
        if match is None:
            self._reply(404, self._google_error(404, "NOT_FOUND", "No such path."))
            return
        self._send(match["project"], body)

    def _send(self, project: str, body: Any) -> None:
        latency = self.server.state.latency_ms
        if latency:
            time.sleep(latency / 1000)
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict):
            self._reply(
                400, self._google_error(400, "INVALID_ARGUMENT", "Missing required field: message")
            )
            return
        target = message.get("token") or message.get("fid")
        if not isinstance(target, str) or not target:
            self._reply(
                400,
                self._google_error(
                    400, "INVALID_ARGUMENT", "Exactly one of token, fid, topic or condition."
                ),
            )
            return
        failure = self.server.state.take_failure(target)
        if failure is not None:
            status, rpc_status, fcm_code, text = _ERRORS[failure["error"]]
            headers = {}
            if failure.get("retry_after") is not None:
                headers["Retry-After"] = str(int(failure["retry_after"]))
            self._reply(status, self._google_error(status, rpc_status, text, fcm_code), headers)
            return
        if not body.get("validate_only"):
            self.server.state.record(project, message)
        self._reply(200, {"name": f"projects/{project}/messages/{uuid.uuid4().hex}"})


class FakeFCMHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # firebase-admin opens up to a hundred connections at once for a batch; the default
    # backlog of 5 drops their SYNs and each retransmit costs the client a second.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], *, verbose: bool = False) -> None:
        super().__init__(address, FakeFCMHandler)
        self.state = FakeFCMState()
        self.verbose = verbose

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket under us: not our error.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeFCMServer:
    """The fake in a background thread, for tests: `base_url = FakeFCMServer().start()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: FakeFCMHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def httpd(self) -> FakeFCMHTTPServer:
        if self._httpd is None:
            raise RuntimeError("the fake FCM server is not running")
        return self._httpd

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{_text(host)}:{port}"

    def start(self) -> str:
        """Bind (port 0 picks a free one), serve in a daemon thread, return the base URL."""
        self._httpd = FakeFCMHTTPServer(self._address)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-fcm",
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

    def __enter__(self) -> FakeFCMServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # In-process shortcuts to what the HTTP control endpoints do.

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self.httpd.state.lock:
            return list(self.httpd.state.messages)

    def clear(self) -> None:
        state = self.httpd.state
        with state.lock:
            state.messages.clear()
            state.behaviours.clear()
            state.latency_ms = 0

    def configure(self, spec: dict[str, Any]) -> None:
        self.httpd.state.configure(spec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake FCM HTTP v1 server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    httpd = FakeFCMHTTPServer((args.host, args.port), verbose=not args.quiet)
    host, port = httpd.server_address[:2]
    print(f"fake FCM listening on http://{_text(host)}:{port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
