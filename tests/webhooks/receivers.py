"""Local HTTP receivers for webhook tests: each records what it accepted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A webhook endpoint on 127.0.0.1. `behaviour(tries_of_this_id)` says what to do with
    a request: an int status to answer, or ("sleep", seconds, status)."""

    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.tries: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver.lock:
                    receiver.tries[headers.get("webhook-id", "")] += 1
                    tries = receiver.tries[headers.get("webhook-id", "")]
                action = receiver.behaviour(tries)
                if isinstance(action, tuple):
                    _sleep, seconds, status = action
                    time.sleep(seconds)
                else:
                    status = action
                accepted = 200 <= status < 300 and not isinstance(action, tuple)
                if accepted:
                    # Kept before answering: the sender may read `accepted` the moment the
                    # answer reaches it.
                    with receiver.lock:
                        receiver.accepted.append((headers, body))
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    if accepted:  # the sender gave up waiting: not accepted after all
                        with receiver.lock:
                            receiver.accepted.remove((headers, body))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
