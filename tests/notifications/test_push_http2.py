"""The `fcm` backend over HTTP/2 and TLS, as FCM itself is spoken to, against the fake FCM
server in TLS mode (its HTTP/2 side is the h2 library, which checks every frame we send)."""

import asyncio
import socket
import ssl
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from django.conf import settings as django_settings
from h2 import events as h2_events
from h2.config import H2Configuration
from h2.connection import H2Connection
from hyperframe.frame import GoAwayFrame, PingFrame

from notifications import push
from notifications.fake_fcm import FakeFCMServer
from notifications.push import OutgoingPush, PushOutcome


def _push(token="tok-ok", **fields):
    return OutgoingPush(
        token=token,
        title=fields.get("title", "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận"),
        body=fields.get("body", "UBND xã Lâm Bình đã tiếp nhận hồ sơ của bạn."),
        data=fields.get("data", {"type": "service_request", "id": "42", "status": "received"}),
        collapse_key=fields.get("collapse_key", "service_request-42"),
    )


@pytest.fixture(scope="module")
def h2_server():
    server = FakeFCMServer(tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_http1_server():
    server = FakeFCMServer(tls=True, http2=False)
    server.start()
    yield server
    server.stop()


_projects = iter(range(1, 10_000))


def _point_at(server, settings):
    """Send through `server`, on a fresh app (and so fresh connections)."""
    settings.PUSH_BACKEND = "fcm"
    settings.FCM_ENDPOINT = server.base_url
    settings.FCM_CA_FILE = str(server.ca_file) if server.base_url.startswith("https") else ""
    settings.FCM_PROJECT_ID = f"demo-h2-{next(_projects)}"
    settings.GOOGLE_APPLICATION_CREDENTIALS = ""
    server.clear()


@pytest.fixture
def fake_h2(h2_server, settings, monkeypatch):
    """The real sending path, pointed at the fake speaking HTTP/2 over TLS."""
    # 500/503 are retried after 0, 1, 2 and 4 s: keep the suite fast.
    monkeypatch.setattr(push, "FCM_BACKOFF_SECONDS", 0)
    _point_at(h2_server, settings)
    yield h2_server
    h2_server.clear()


def _tokens(server):
    return Counter(m["message"]["token"] for m in server.messages)


def test_every_message_reaches_the_fake_once_over_http2_on_few_connections(fake_h2, settings):
    pushes = [_push(f"tok-{i}") for i in range(250)]  # three calls of up to 100

    results = push.send(pushes)

    assert [r.outcome for r in results] == [PushOutcome.SENT] * 250
    assert all(
        r.message_id.startswith(f"projects/{settings.FCM_PROJECT_ID}/messages/") for r in results
    )
    assert _tokens(fake_h2) == Counter(f"tok-{i}" for i in range(250))
    assert {m["protocol"] for m in fake_h2.messages} == {"HTTP/2"}
    # A hundred streams at once on a connection, kept between calls; two calls may be in
    # flight together (one encoded while the other is sent): at most two connections.
    assert set(fake_h2.connections) == {"HTTP/2"}
    assert fake_h2.connections["HTTP/2"] <= 2
    message = next(m["message"] for m in fake_h2.messages if m["message"]["token"] == "tok-7")
    assert message["notification"] == {
        "title": "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận",
        "body": "UBND xã Lâm Bình đã tiếp nhận hồ sơ của bạn.",
    }
    assert message["data"] == {"type": "service_request", "id": "42", "status": "received"}
    assert message["android"]["collapse_key"] == "service_request-42"


class _H2Peer:
    """The server end of HTTP/2 over plain TCP (prior knowledge), in the test's event loop, to
    speak to an `_H2Connection` directly: h2 checks every frame and header the client sends,
    and `on_request(peer, stream_id)` answers each request (`answer()`), now or later."""

    def __init__(self, on_request):
        self.on_request = on_request
        self.requests = {}  # stream id → (headers, body), as received
        self.h2 = None
        self.writer = None
        self._unsent = {}  # answer bodies waiting for the client's window
        self.done = asyncio.Event()  # the client hung up

    async def start(self):
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer):
        self.writer = writer
        self.h2 = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.h2.initiate_connection()
        writer.write(self.h2.data_to_send())
        try:
            await self._read(reader)
        finally:
            writer.close()
            self.done.set()

    async def _read(self, reader):
        while data := await reader.read(65536):
            for event in self.h2.receive_data(data):
                if isinstance(event, h2_events.RequestReceived):
                    self.requests[event.stream_id] = (event.headers, b"")
                elif isinstance(event, h2_events.DataReceived):
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    headers, body = self.requests[event.stream_id]
                    self.requests[event.stream_id] = (headers, body + event.data)
                elif isinstance(event, h2_events.StreamEnded):
                    self.on_request(self, event.stream_id)
                elif isinstance(event, h2_events.WindowUpdated):
                    for stream_id in list(self._unsent):
                        self._send_body(stream_id)
            if not self.writer.is_closing():
                self.writer.write(self.h2.data_to_send())

    def answer(self, stream_id, body):
        self.h2.send_headers(stream_id, [(":status", "200"), ("content-length", str(len(body)))])
        self._unsent[stream_id] = body
        self._send_body(stream_id)
        self.writer.write(self.h2.data_to_send())

    def _send_body(self, stream_id):
        data = self._unsent.pop(stream_id)
        while data:
            size = min(
                len(data),
                self.h2.local_flow_control_window(stream_id),
                self.h2.max_outbound_frame_size,
            )
            if size <= 0:
                self._unsent[stream_id] = data
                return
            self.h2.send_data(stream_id, data[:size], end_stream=size == len(data))
            data = data[size:]


async def _h2_client(peer):
    """An `_H2Connection` to `peer`, started."""
    server, port = await peer.start()
    peer.server = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connection = push._H2Connection(reader, writer, lambda: None)
    await connection.start(5)
    return connection


async def _hang_up(peer, connection):
    connection.close(ConnectionError("done"))
    await asyncio.wait_for(peer.done.wait(), 5)
    peer.server.close()


def _fields():
    """The header fields of a request with no headers of its own."""
    return push._FcmSender("https://fcm.example/v1/m", 5, 1)._h2_headers({})


def _goaway(last_stream_id):
    return GoAwayFrame(0, last_stream_id=last_stream_id).serialize()


def test_the_server_decodes_the_request_headers_as_meant():
    sender = push._FcmSender("https://fcm.example:8443/v1/projects/p/messages:send", 5, 1)
    headers = {"X-Goog-Api-Format-Version": "2", "X-Request-ID": "r" * 300}
    body = b'{"message": {"token": "tok-1"}}'

    async def scenario():
        peer = _H2Peer(lambda peer, stream_id: peer.answer(stream_id, b'{"name": "n-1"}'))
        connection = await _h2_client(peer)
        # Twice: the second block refers to what the first left in the server's HPACK table.
        for _ in range(2):
            answer = await connection.request(sender._h2_headers(headers), body, 5)
            assert answer == (200, [("content-length", "15")], b'{"name": "n-1"}')
        await _hang_up(peer, connection)
        return peer.requests

    requests = asyncio.run(scenario())

    expected = [
        (":method", "POST"),
        (":scheme", "https"),
        (":path", "/v1/projects/p/messages:send"),
        (":authority", "fcm.example:8443"),
        ("content-type", "application/json; charset=UTF-8"),
        ("x-goog-api-format-version", "2"),
        ("x-request-id", "r" * 300),
    ]
    assert requests == {1: (expected, body), 3: (expected, body)}


def test_an_answer_larger_than_the_receive_window_is_read_whole():
    big = b"x" * (3 << 20)  # past the 1 MiB window of a stream: the client gives it back

    async def scenario():
        peer = _H2Peer(lambda peer, stream_id: peer.answer(stream_id, big))
        connection = await _h2_client(peer)
        answers = await asyncio.gather(
            *(connection.request(_fields(), b"{}", 10) for _ in range(2))
        )
        await _hang_up(peer, connection)
        return answers

    assert [body for _, _, body in asyncio.run(scenario())] == [big, big]


def test_after_goaway_the_server_finishes_the_streams_it_took():
    # A graceful shutdown (RFC 9113, 6.8): GOAWAY naming the last stream possible, a PING,
    # GOAWAY naming the last stream taken, then the answers to the streams taken.
    def on_request(peer, stream_id):
        if stream_id == 5:  # the last of the three in
            peer.writer.write(
                _goaway(2**31 - 1) + PingFrame(0, opaque_data=b"12345678").serialize() + _goaway(3)
            )
            peer.answer(1, b'{"name": "n-1"}')
            peer.answer(3, b'{"name": "n-3"}')

    async def scenario():
        peer = _H2Peer(on_request)
        connection = await _h2_client(peer)
        answers = await asyncio.gather(
            *(connection.request(_fields(), b"{}", 5) for _ in range(3)), return_exceptions=True
        )
        closed = connection.closed  # by itself, once the streams taken were answered
        await _hang_up(peer, connection)
        return answers, closed

    (first, second, third), closed = asyncio.run(scenario())

    assert first[2] == b'{"name": "n-1"}'
    assert second[2] == b'{"name": "n-3"}'
    # Not taken: to be sent again on another connection.
    assert isinstance(third, push._Unanswered)
    assert closed


def test_the_app_keeps_its_connection_between_sends(fake_h2):
    for i in range(3):
        [result] = push.send([_push(f"tok-again-{i}")])
        assert result.outcome == PushOutcome.SENT, result.error
    assert fake_h2.connections == {"HTTP/2": 1}
    assert len(fake_h2.messages) == 3


def test_bodies_larger_than_the_flow_control_window_go_through(fake_h2):
    # 70 kB each, past HTTP/2's initial 64 kB window: sent as the server opens it.
    big = {"blob": "x" * 70_000}
    results = push.send([_push(f"tok-big-{i}", data=big) for i in range(3)])
    assert [r.outcome for r in results] == [PushOutcome.SENT] * 3
    assert all(m["message"]["data"]["blob"] == "x" * 70_000 for m in fake_h2.messages)


_FAILURES = {
    "tok-gone": {"error": "UNREGISTERED"},
    "tok-other-project": {"error": "SENDER_ID_MISMATCH"},
    "tok-garbage": {"error": "INVALID_ARGUMENT"},
    "tok-busy": {"error": "QUOTA", "retry_after": 37},
    "tok-down": {"error": "UNAVAILABLE"},
    "tok-500": {"error": "INTERNAL"},
    "tok-blip": {"error": "UNAVAILABLE", "times": 1},
}


def _send_with_failures(server, settings):
    _point_at(server, settings)
    server.configure(_FAILURES)
    results = push.send([_push(token) for token in [*_FAILURES, "tok-fine"]])
    return {
        token: (r.outcome, r.error.split(":")[0], r.retry_after)
        for token, r in zip([*_FAILURES, "tok-fine"], results, strict=True)
    }


def test_failures_map_as_they_do_over_http11(fake_h2, tls_http1_server, fake_fcm_server, settings):
    over_http2 = _send_with_failures(fake_h2, settings)

    assert over_http2 == {
        "tok-gone": (PushOutcome.INVALID_TOKEN, "UnregisteredError (NOT_FOUND)", None),
        "tok-other-project": (
            PushOutcome.INVALID_TOKEN,
            "SenderIdMismatchError (PERMISSION_DENIED)",
            None,
        ),
        "tok-garbage": (PushOutcome.INVALID_TOKEN, "InvalidArgumentError (INVALID_ARGUMENT)", None),
        "tok-busy": (PushOutcome.RETRY, "QuotaExceededError (RESOURCE_EXHAUSTED)", 37),
        "tok-down": (PushOutcome.RETRY, "UnavailableError (UNAVAILABLE)", None),
        "tok-500": (PushOutcome.RETRY, "InternalError (INTERNAL)", None),
        # One 503 is retried at once and then goes through.
        "tok-blip": (PushOutcome.SENT, "", None),
        "tok-fine": (PushOutcome.SENT, "", None),
    }
    assert _tokens(fake_h2) == Counter({"tok-blip": 1, "tok-fine": 1})
    # The same answers, the same outcomes: plain HTTP/1.1, and HTTP/1.1 over TLS.
    assert _send_with_failures(fake_fcm_server, settings) == over_http2
    assert _send_with_failures(tls_http1_server, settings) == over_http2
    fake_fcm_server.clear()


@pytest.mark.parametrize("behaviour", ["close_after", "goaway_after"])
def test_a_connection_closed_midway_is_recovered_from(fake_h2, behaviour):
    # The fake answers 40 requests on each connection, then drops it (or says GOAWAY):
    # the rest of the hundred in flight go again on a new connection.
    fake_h2.configure({behaviour: 40})

    results = push.send([_push(f"tok-{i}") for i in range(100)])

    assert [r.outcome for r in results] == [PushOutcome.SENT] * 100, {r.error for r in results}
    assert _tokens(fake_h2) == Counter(f"tok-{i}" for i in range(100))
    assert fake_h2.connections == {"HTTP/2": 3}


def test_a_connection_closed_between_sends_is_replaced(fake_h2):
    fake_h2.configure({"close_after": 2})
    for i in range(3):
        results = push.send([_push(f"tok-{i}-a"), _push(f"tok-{i}-b")])
        assert [r.outcome for r in results] == [PushOutcome.SENT] * 2, results
    assert sum(_tokens(fake_h2).values()) == 6
    assert fake_h2.connections == {"HTTP/2": 3}


def test_a_server_that_keeps_dropping_connections_gives_retries_not_losses(fake_h2):
    # One answer per connection: each message is sent again on a few new connections, then
    # comes back as a retry for the outbox to send later; none is lost or sent twice.
    fake_h2.configure({"close_after": 1})

    results = push.send([_push(f"tok-{i}") for i in range(10)])

    outcomes = Counter(r.outcome for r in results)
    assert set(outcomes) == {PushOutcome.SENT, PushOutcome.RETRY}
    assert outcomes[PushOutcome.SENT] == sum(_tokens(fake_h2).values())
    assert max(_tokens(fake_h2).values()) == 1
    retry = next(r for r in results if r.outcome == PushOutcome.RETRY)
    assert "UnavailableError" in retry.error


def test_a_slow_answer_past_the_timeout_is_a_retry(fake_h2, settings):
    settings.PUSH_LEASE_SECONDS = 0  # the deadline becomes its 5 s floor
    settings.FCM_HTTP_TIMEOUT_SECONDS = 0.2
    fake_h2.configure({"latency_ms": 600})
    [result] = push.send([_push("tok-slow")])
    assert result.outcome == PushOutcome.RETRY
    assert "Timed out" in result.error


def test_latency_delays_each_stream_not_the_connection(fake_h2):
    # Answers held back in the fake's thread pool: fifty at once take one latency, not fifty.
    import time

    fake_h2.configure({"latency_ms": 300})
    started = time.monotonic()
    results = push.send([_push(f"tok-{i}") for i in range(50)])
    elapsed = time.monotonic() - started
    assert [r.outcome for r in results] == [PushOutcome.SENT] * 50
    assert 0.3 <= elapsed < 3


def test_server_down_is_a_retry(fake_h2, settings):
    server = FakeFCMServer(tls=True)
    base_url = server.start()
    server.stop()  # nothing listens there any more
    settings.FCM_ENDPOINT = base_url
    [result] = push.send([_push()])
    assert result.outcome == PushOutcome.RETRY
    assert "UnavailableError" in result.error


def test_an_untrusted_certificate_is_a_retry(fake_h2, settings):
    settings.FCM_CA_FILE = ""  # the system's CA store does not know the fake's CA
    [result] = push.send([_push()])
    assert result.outcome == PushOutcome.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert fake_h2.messages == []


def test_without_h2_in_alpn_it_speaks_http11_over_tls(tls_http1_server, settings):
    _point_at(tls_http1_server, settings)
    results = push.send([_push(f"tok-{i}") for i in range(20)])
    assert [r.outcome for r in results] == [PushOutcome.SENT] * 20
    assert _tokens(tls_http1_server) == Counter(f"tok-{i}" for i in range(20))
    assert {m["protocol"] for m in tls_http1_server.messages} == {"HTTP/1.1"}
    assert set(tls_http1_server.connections) == {"HTTP/1.1"}
    tls_http1_server.clear()


def test_http11_connections_closed_by_the_server_are_replaced(fake_fcm_server, settings):
    _point_at(fake_fcm_server, settings)
    fake_fcm_server.configure({"close_after": 3})
    for _ in range(3):
        results = push.send([_push(f"tok-{i}") for i in range(10)])
        assert [r.outcome for r in results] == [PushOutcome.SENT] * 10
    assert sum(_tokens(fake_fcm_server).values()) == 30
    fake_fcm_server.clear()


# -- the fake itself over TLS ------------------------------------------------------------------


def test_the_fake_serves_its_control_endpoints_over_http2(h2_server):
    h2_server.clear()
    context = ssl.create_default_context(cafile=str(h2_server.ca_file))
    with httpx.Client(base_url=h2_server.base_url, verify=context, http2=True) as client:
        response = client.post(
            "/v1/projects/demo/messages:send", json={"message": {"token": "tok-1"}}
        )
        assert response.http_version == "HTTP/2"
        assert response.status_code == 200
        assert (
            client.post("/_fake/behaviours", json={"tok-2": {"error": "QUOTA"}}).status_code == 204
        )
        refused = client.post(
            "/v1/projects/demo/messages:send", json={"message": {"token": "tok-2"}}
        )
        assert refused.status_code == 429
        assert refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        [listed] = client.get("/_fake/messages").json()
        assert listed["message"]["token"] == "tok-1"
        assert listed["protocol"] == "HTTP/2"
        assert client.get("/_fake/connections").json() == {"HTTP/2": 1}
        assert client.delete("/_fake/messages").status_code == 204
        assert client.get("/_fake/messages").json() == []
    h2_server.clear()


def test_the_fake_runs_as_a_module_with_tls(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ca_file = tmp_path / "ca.pem"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifications.fake_fcm",
            "--port",
            str(port),
            "--quiet",
            "--tls",
            "--write-ca",
            str(ca_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    try:
        assert f"listening on https://127.0.0.1:{port}" in process.stdout.readline()
        context = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=context, http2=True) as client:
            response = client.post(
                f"https://127.0.0.1:{port}/v1/projects/demo/messages:send",
                json={"message": {"token": "tok-cli"}},
            )
        assert response.http_version == "HTTP/2"
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=5)
