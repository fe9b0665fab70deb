"""A local stand-in for an HTTP SMS gateway, for development and tests (stdlib only).

    python -m notifications.fake_sms --port 9198

Point the project at it with
`SMS_BACKEND=http SMS_HTTP_URL=http://127.0.0.1:9198/send SMS_HTTP_TOKEN=dev-sms-token`;
`POST /_fake/inbound` sends a citizen's SMS to the project's hook (by default
`http://127.0.0.1:8000/api/v1/sms/inbound/` with the development token).

Endpoints:
- `POST /send` with `{"to", "text", "sender"}` and `Authorization: Bearer <token>` → 200
  `{"id": "<uuid>", "status": "accepted"}`; a wrong or missing token is a 401, a missing
  `to` or `text` a 400.
- `GET /_fake/messages` → `[{id, to, text, sender, received_at}, ...]`; `DELETE` clears them.
- `POST /_fake/inbound` with `{"from", "text"}` → a citizen's SMS to the service: the fake
  calls the service's inbound hook (`--inbound-url`, with `Authorization: Bearer
  <--inbound-token>`) with `{id, from, text, received_at}` as a telecom's gateway would and
  answers `{"status": <the hook's status>, "body": <its JSON>}`; 502 when the hook cannot be
  reached, 409 when no hook is configured. `"id"` may be given, to send the same message
  twice.
- `POST /_fake/behaviours` → failures or a latency for the next sends, e.g.
  `{"status": 503, "times": 2}`, `{"status": 429, "retry_after": 1, "times": 1}` or
  `{"latency_ms": 200}`. Without `times` a failure repeats forever; `{"status": null}` ends it.
  `DELETE /_fake/behaviours` forgets them all.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
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

# The local fake's own token, and the one it sends to the service's inbound hook.
DEFAULT_TOKEN = "dev-sms-token"  # nosec B105
DEFAULT_INBOUND_URL = "http://127.0.0.1:8000/api/v1/sms/inbound/"
DEFAULT_INBOUND_TOKEN = "dev-sms-inbound-token"  # nosec B105
INBOUND_TIMEOUT = 10.0


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


class FakeSmsState(FakeState):
    """The messages and latency of every fake, plus one failure for the next sends."""

    def __init__(self) -> None:
        super().__init__()
        self.failure: dict[str, Any] | None = None

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

    def _forget_behaviours(self) -> None:
        super()._forget_behaviours()
        self.failure = None

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


class FakeSmsHandler(JsonHandler):
    server: FakeSmsHTTPServer

    def _post(self, path: str, body: Any) -> None:
        if path == "/send":
            self._send(body)
        elif path == "/_fake/inbound":
            self._inbound(body)
        else:
            self._not_found()

    def _inbound(self, body: Any) -> None:
        fields = body if isinstance(body, dict) else {}
        sender, text = fields.get("from"), fields.get("text")
        if not isinstance(sender, str) or not sender or not isinstance(text, str):
            self._reply(400, {"error": "`from` and `text` are required"})
            return
        if not self.server.inbound_url:
            self._reply(409, {"error": "no inbound hook configured (--inbound-url)"})
            return
        message = {
            "id": str(fields.get("id") or uuid.uuid4()),
            "from": sender,
            "text": text,
            "received_at": datetime.now(UTC).isoformat(),
        }
        request = urllib.request.Request(  # noqa: S310 (a URL the developer configured)
            self.server.inbound_url,
            data=json.dumps(message, ensure_ascii=False).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.server.inbound_token}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=INBOUND_TIMEOUT) as answer:  # noqa: S310  # nosec B310
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as error:
            self._reply(502, {"error": f"the inbound hook cannot be reached: {error}"})
            return
        try:
            answer_body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            answer_body = raw.decode("utf-8", "replace")
        self._reply(200, {"status": status, "body": answer_body, "id": message["id"]})

    def _send(self, body: Any) -> None:
        state = self.server.state
        state.delay()
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


class FakeSmsHTTPServer(QuietThreadingServer):
    handler_class = FakeSmsHandler
    state: FakeSmsState

    def __init__(
        self,
        address: tuple[str, int],
        *,
        token: str = DEFAULT_TOKEN,
        inbound_url: str = "",
        inbound_token: str = DEFAULT_INBOUND_TOKEN,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, verbose=verbose)
        self.state = FakeSmsState()
        self.token = token
        self.inbound_url = inbound_url
        self.inbound_token = inbound_token


class FakeSmsServer(FakeServer[FakeSmsHTTPServer]):
    """The fake in a background thread, for tests: `base_url = FakeSmsServer().start()`."""

    label = "SMS"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        inbound_url: str = "",
        inbound_token: str = DEFAULT_INBOUND_TOKEN,
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.inbound_url = inbound_url
        self.inbound_token = inbound_token

    def _make_httpd(self, address: tuple[str, int]) -> FakeSmsHTTPServer:
        return FakeSmsHTTPServer(
            address,
            token=self.token,
            inbound_url=self.inbound_url,
            inbound_token=self.inbound_token,
        )

    def messages(self) -> list[dict[str, Any]]:
        return self.httpd.state.snapshot()


def main(argv: list[str] | None = None) -> None:
    parser = command_line("Fake HTTP SMS gateway", default_port=9198)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bearer token it accepts")
    parser.add_argument(
        "--inbound-url",
        default=DEFAULT_INBOUND_URL,
        help="the service's inbound hook, called by POST /_fake/inbound",
    )
    parser.add_argument(
        "--inbound-token", default=DEFAULT_INBOUND_TOKEN, help="the token sent to the hook"
    )
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    httpd = FakeSmsHTTPServer(
        (args.host, args.port),
        token=args.token,
        inbound_url=args.inbound_url,
        inbound_token=args.inbound_token,
        verbose=args.verbose,
    )
    serve(httpd, "fake SMS gateway", path="/send")


if __name__ == "__main__":
    main()
