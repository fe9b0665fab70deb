"""A local stand-in for FCM HTTP v1, for development and tests.

    python -m notifications.fake_fcm --port 9099
    python -m notifications.fake_fcm --port 9099 --tls --write-ca /tmp/fake-fcm-ca.pem

Point the project at it with `PUSH_BACKEND=fcm FCM_ENDPOINT=http://127.0.0.1:9099`. With
`--tls` it speaks as FCM does, HTTP/2 over TLS (HTTP/1.1 to a client that does not offer `h2`;
`--no-http2` never offers it), with a certificate made at start by a CA of its own: add
`FCM_CA_FILE=/tmp/fake-fcm-ca.pem` and `FCM_ENDPOINT=https://127.0.0.1:9099`. Plain HTTP needs
only the standard library.

Endpoints:
- `POST /v1/projects/{project}/messages:send` with `{"message": {...}}` → 200
  `{"name": "projects/{project}/messages/<id>"}`; the target is read from `token` or `fid`.
- `GET /_fake/messages` → `[{project, message, received_at, protocol}, ...]` (`protocol`:
  `HTTP/1.1` or `HTTP/2`); `DELETE` clears them.
- `POST /_fake/behaviours` → per-token failures or a global latency, e.g.
  `{"tok-1": {"error": "QUOTA", "retry_after": 5, "times": 2}}` or `{"latency_ms": 200}`.
  Errors: UNREGISTERED (404), UNAVAILABLE (503), QUOTA (429), INTERNAL (500),
  INVALID_ARGUMENT (400), SENDER_ID_MISMATCH (403). Without `times` an error repeats forever.
  Connections: `{"close_after": 3}` answers three requests on each connection, then drops it
  without a word (what else was in flight is lost, neither answered nor recorded);
  `{"goaway_after": 3}` (HTTP/2) answers three, then sends GOAWAY and closes. 0 turns them off.
  `DELETE /_fake/behaviours` forgets them all.
- `GET /_fake/connections` → the connections accepted, by protocol: `{"HTTP/2": 1}`.
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import UTC, datetime
from typing import Any

from notifications.fake_server import (
    FakeServer,
    FakeState,
    JsonHandler,
    QuietThreadingServer,
    command_line,
    serve,
)

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


def _google_error(
    status: int, rpc_status: str, message: str, fcm_code: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if fcm_code:
        error["details"] = [{"@type": _FCM_ERROR_TYPE, "errorCode": fcm_code}]
    return {"error": error}


class FakeFCMState(FakeState):
    """The messages and latency of every fake, plus failures per target (token or fid)."""

    def __init__(self) -> None:
        super().__init__()
        self.behaviours: dict[str, dict[str, Any]] = {}

    def configure(self, spec: dict[str, Any]) -> None:
        with self.lock:
            for key, value in spec.items():
                if key == "latency_ms":
                    self.latency_ms = max(0, int(value))
                elif self._configure_connections(key, value):
                    continue
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

    def _forget_behaviours(self) -> None:
        super()._forget_behaviours()
        self.behaviours.clear()

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

    def record(self, project: str, message: dict[str, Any], protocol: str = "HTTP/1.1") -> None:
        with self.lock:
            self.messages.append(
                {
                    "project": project,
                    "message": message,
                    "received_at": datetime.now(UTC).isoformat(),
                    "protocol": protocol,
                }
            )


class FakeFCMHandler(JsonHandler):
    server: FakeFCMHTTPServer

    not_found_body = _google_error(404, "NOT_FOUND", "No such path.")
    invalid_json_body = _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload.")

    def _post(self, path: str, body: Any) -> None:
        match = _SEND_PATH.match(path)
        if match is None:
            self._not_found()
            return
        self._send(match["project"], body)

    def _send(self, project: str, body: Any) -> None:
        self.server.state.delay()
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict):
            self._reply(
                400, _google_error(400, "INVALID_ARGUMENT", "Missing required field: message")
            )
            return
        target = message.get("token") or message.get("fid")
        if not isinstance(target, str) or not target:
            self._reply(
                400,
                _google_error(
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
            self._reply(status, _google_error(status, rpc_status, text, fcm_code), headers)
            return
        if not body.get("validate_only"):
            self.server.state.record(project, message, self.request_version)
        self._reply(200, {"name": f"projects/{project}/messages/{uuid.uuid4().hex}"})


class FakeFCMHTTPServer(QuietThreadingServer):
    handler_class = FakeFCMHandler
    # firebase-admin opens up to a hundred connections at once for a batch; the default
    # backlog of 5 drops their SYNs and each retransmit costs the client a second.
    request_queue_size = 1024
    state: FakeFCMState

    def __init__(
        self,
        address: tuple[str, int],
        *,
        verbose: bool = False,
        tls: bool = False,
        http2: bool = True,
    ) -> None:
        # The state first: a TLS server that fails to start still closes cleanly.
        self.state = FakeFCMState()
        super().__init__(address, verbose=verbose, tls=tls, http2=http2)


class FakeFCMServer(FakeServer[FakeFCMHTTPServer]):
    """The fake in a background thread, for tests: `base_url = FakeFCMServer().start()`.

    `FakeFCMServer(tls=True)` speaks HTTP/2 over TLS as FCM does (`http2=False`: HTTP/1.1
    over TLS only); its clients trust `ca_file`.
    """

    label = "FCM"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False, http2: bool = True
    ) -> None:
        super().__init__(host, port)
        self.tls = tls
        self.http2 = http2

    def _make_httpd(self, address: tuple[str, int]) -> FakeFCMHTTPServer:
        return FakeFCMHTTPServer(address, tls=self.tls, http2=self.http2)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.httpd.state.snapshot()


def main(argv: list[str] | None = None) -> None:
    parser = command_line("Fake FCM HTTP v1 server", default_port=9099)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS, HTTP/2 to clients that offer h2 in ALPN (as FCM does)",
    )
    parser.add_argument("--no-http2", action="store_true", help="with --tls: offer HTTP/1.1 only")
    parser.add_argument(
        "--write-ca",
        metavar="PATH",
        help="with --tls: also write the CA certificate clients must trust (FCM_CA_FILE) here",
    )
    args = parser.parse_args(argv)
    if (args.no_http2 or args.write_ca) and not args.tls:
        parser.error("--no-http2 and --write-ca need --tls")
    httpd = FakeFCMHTTPServer(
        (args.host, args.port), verbose=not args.quiet, tls=args.tls, http2=not args.no_http2
    )
    if args.write_ca:
        shutil.copyfile(httpd.ca_file, args.write_ca)
    serve(httpd, "fake FCM")


if __name__ == "__main__":
    main()
