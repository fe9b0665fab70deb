"""Push relay benchmark: one Celery worker → firebase-admin → the fake FCM server.

    DATABASE_URL=postgres://… DJANGO_ENV=test .venv/bin/python bench/push.py

Starts its own redis-server (spare port), fake FCM server and one worker (`--pool=solo`),
on the database of DATABASE_URL (migrated; PostgreSQL for SKIP LOCKED). In one run it reports:

1. the fake server's own ceiling: requests per second a plain asyncio keep-alive client
   gets from it, with no Django, Celery or firebase-admin in the way;
2. relay throughput: N pending outbox rows, one task; messages per second from the first to
   the last message the fake server received;
3. commit → delivery latency: `notify()` commits at a steady rate (a fraction of the measured
   throughput) and each push's arrival time at the fake server is compared with its commit;
4. with `--announcement N`: an announcement to N people (each with one device, all living in
   one commune of Lai Châu; seeded once and reused): seconds from `send_announcement` until
   all N outbox rows exist (the fan-out, in batches of 1,000, by a second solo worker that
   takes the `fanout` queue only, as deployed), and until the fake server has received all
   N pushes (delivered by the first worker meanwhile). The announcement's rows are deleted
   afterwards.

Compare 2 with 1 (a ratio from the same run): on a shared machine bare figures move. The
worker's CPU time per relayed message (from /proc) moves less than its rate.

`--http2` runs the fake as FCM is spoken to, HTTP/2 over TLS (`--tls`, its CA in FCM_CA_FILE),
and measures 1 with a raw HTTP/2 client (the sender's own, 200 streams at once).
`--fcm-latency-ms N` has the fake wait N ms before each answer, as the network and FCM do:
HTTP/1.1 then keeps FCM_CONNECTIONS requests in flight, HTTP/2 a hundred per connection.
`--json PATH` writes the figures for `bench/http_bench.py`, which runs this script on a
database of its own (`BENCH_PUSH_DATABASE_URL`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout=30.0, what="condition", every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


# Trusts the fake's CA when it serves TLS (`--http2`).
FAKE_TLS: ssl.SSLContext | None = None


def fake_get(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/_fake/messages", timeout=30, context=FAKE_TLS) as response:
        return json.loads(response.read())


def fake_clear(base: str) -> None:
    request = urllib.request.Request(f"{base}/_fake/messages", method="DELETE")
    urllib.request.urlopen(request, timeout=10, context=FAKE_TLS).close()


def fake_configure(base: str, spec: dict) -> None:
    request = urllib.request.Request(
        f"{base}/_fake/behaviours",
        data=json.dumps(spec).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10, context=FAKE_TLS).close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- 1. the fake server's ceiling ----------------------------------------------------------------


async def _hammer(port: int, total: int, connections: int) -> float:
    body = json.dumps(
        {"message": {"token": "ceiling", "notification": {"title": "T", "body": "B"}}}
    ).encode()
    request = (
        b"POST /v1/projects/bench/messages:send HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    per_connection = total // connections

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(per_connection):
            writer.write(request)
            await writer.drain()
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return per_connection * connections / (time.perf_counter() - start)


async def _hammer_h2(port: int, ca_file: Path, total: int, streams: int) -> float:
    """The same over HTTP/2 and TLS, with the relay's own client (no Django in it)."""
    from notifications.push import _FcmSender

    body = json.dumps(
        {"message": {"token": "ceiling", "notification": {"title": "T", "body": "B"}}}
    ).encode()
    sender = _FcmSender(
        f"https://127.0.0.1:{port}/v1/projects/bench/messages:send", 30, 8, str(ca_file)
    )
    await sender.post(body, {})  # the connection and its SETTINGS
    per_stream = total // streams

    async def one_stream() -> None:
        for _ in range(per_stream):
            status, _, _ = await sender.post(body, {})
            assert status == 200, status

    start = time.perf_counter()
    await asyncio.gather(*(one_stream() for _ in range(streams)))
    return per_stream * streams / (time.perf_counter() - start)


# -- the processes -----------------------------------------------------------------------------


# The deployment runs one worker per queue (compose.yaml); here one worker takes every queue
# but the announcements' fan-out, which gets a worker of its own when it is measured.
QUEUES_BUT_FANOUT = "pushes,sms,housekeeping,celery"


class Processes:
    def __init__(self, workdir: Path, *, http2: bool = False) -> None:
        self.workdir = workdir
        self.http2 = http2
        self.ca_file = workdir / "fake-fcm-ca.pem"
        self.redis_port = free_port()
        self.fcm_port = free_port()
        self.children: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def fcm_url(self) -> str:
        return f"{'https' if self.http2 else 'http'}://127.0.0.1:{self.fcm_port}"

    def _spawn(self, args, log_name, env=None) -> subprocess.Popen:
        log = open(self.workdir / log_name, "w")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append(process)
        return process

    def start(self) -> None:
        self._spawn(
            ["redis-server", "--port", str(self.redis_port), "--save", "", "--appendonly", "no"],
            "redis.log",
        )
        self._spawn(
            [
                sys.executable,
                "-m",
                "notifications.fake_fcm",
                "--port",
                str(self.fcm_port),
                "--quiet",
                *(["--tls", "--write-ca", str(self.ca_file)] if self.http2 else []),
            ],
            "fake_fcm.log",
        )
        if self.http2:
            global FAKE_TLS
            wait_for(self.ca_file.exists, 15, "the fake FCM server's CA")
            FAKE_TLS = ssl.create_default_context(cafile=str(self.ca_file))
        wait_for(self._fake_up, 15, "the fake FCM server")
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PUSH_BACKEND": "fcm",
            "FCM_ENDPOINT": self.fcm_url,
            "FCM_CA_FILE": str(self.ca_file) if self.http2 else "",
            "FCM_PROJECT_ID": "demo-project",
            "GOOGLE_APPLICATION_CREDENTIALS": "",
            "LOG_LEVEL": "WARNING",
        }
        self.env = env
        self.worker = self._start_worker("worker", QUEUES_BUT_FANOUT)

    def _start_worker(self, name: str, queues: str) -> subprocess.Popen:
        worker = self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "-Q",
                queues,
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            f"{name}.log",
            self.env,
        )
        log = self.workdir / f"{name}.log"
        wait_for(lambda: "ready" in log.read_text(), 60, f"the {name}")
        return worker

    def start_fanout_worker(self) -> None:
        """A worker of its own for announcements' fan-out, as deployed (compose.yaml's
        worker-fanout); the first one keeps delivering the pushes."""
        self._start_worker("fanout-worker", "fanout")

    def _fake_up(self) -> bool:
        try:
            fake_get(self.fcm_url)
            return True
        except OSError:
            return False

    def stop(self) -> None:
        for process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000, help="rows for the throughput run")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="commits/s (0: half the throughput)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the latency run")
    parser.add_argument(
        "--announcement", type=int, default=0, help="recipients of an announcement (0: none)"
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--http2", action="store_true", help="the fake speaks HTTP/2 over TLS, as FCM does"
    )
    parser.add_argument(
        "--fcm-latency-ms",
        type=int,
        default=0,
        help="the fake waits this long before each answer (the network and FCM)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp:
        processes = Processes(Path(tmp), http2=args.http2)
        try:
            processes.start()
            figures = run(processes, args)
            if args.announcement:
                processes.start_fanout_worker()
                figures.update(announcement(processes, args.announcement))
        finally:
            processes.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def run(processes: Processes, args: argparse.Namespace) -> dict[str, float]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction

    from accounts.models import User
    from config.celery import app as celery_app
    from notifications.models import Device, Notification, PushMessage
    from notifications.outbox import notify
    from notifications.tasks import deliver_pushes

    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = processes.redis_url

    # 1. The fake server alone.
    if processes.http2:
        ceiling = asyncio.run(_hammer_h2(processes.fcm_port, processes.ca_file, 5000, 200))
        ceiling_client = "raw asyncio HTTP/2 client, 200 streams"
    else:
        ceiling = asyncio.run(_hammer(processes.fcm_port, 5000, 64))
        ceiling_client = "raw asyncio client, 64 conns"
    fake_clear(processes.fcm_url)
    if args.fcm_latency_ms:
        fake_configure(processes.fcm_url, {"latency_ms": args.fcm_latency_ms})

    # A previous run deleted its rows (and an announcement's 50,000) moments ago; a
    # production outbox is vacuumed as it goes, so measure on vacuumed tables, not on the
    # dead rows (they made the relay 30-40 % slower here).
    from django.db import connection

    with connection.cursor() as cursor:
        for model in (PushMessage, Device, Notification):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')

    run_id = uuid.uuid4().hex[:8]
    user = User.objects.create_user(phone=f"+8490{int(run_id, 16) % 10**7:07d}", full_name="bench")
    try:
        # 2. Throughput: N due rows, one task.
        devices = Device.objects.bulk_create(
            Device(user=user, token=f"bench-{run_id}-{i}", platform="android")
            for i in range(args.messages)
        )
        rows = PushMessage.objects.bulk_create(
            PushMessage(
                device=d,
                token=d.token,
                title="Bench",
                body="Bench body",
                data={"type": "service_request", "id": str(i)},
                collapse_key=f"b-{i}",
            )
            for i, d in enumerate(devices)
        )
        start = time.time()
        worker_cpu = cpu_seconds(processes.worker.pid) if processes.worker else 0.0
        # As the commits of a busy minute would: one task per 500 rows.
        for first in range(0, len(rows), 500):
            deliver_pushes.delay([str(row.pk) for row in rows[first : first + 500]])
        wait_for(
            lambda: (
                not PushMessage.objects.filter(
                    device__user=user, status__in=["pending", "sending"]
                ).exists()
            ),
            300,
            "the throughput run",
            every=0.2,
        )
        received = fake_get(processes.fcm_url)
        times = sorted(datetime.fromisoformat(m["received_at"]).timestamp() for m in received)
        relay_rate = len(times) / max(times[-1] - times[0], 1e-6)
        sent = PushMessage.objects.filter(device__user=user, status="sent").count()
        worker_cpu = cpu_seconds(processes.worker.pid) - worker_cpu if processes.worker else 0.0
        protocols = sorted({m.get("protocol", "HTTP/1.1") for m in received})
        print(f"fake FCM ceiling ({ceiling_client}): {ceiling:8.0f} req/s")
        print(
            f"relay throughput (1 worker, {'+'.join(protocols)}, {sent}/{args.messages} sent): "
            f"{relay_rate:8.0f} msg/s = {relay_rate / ceiling:.0%} of the ceiling "
            f"(wall {time.time() - start:.1f} s); worker CPU "
            f"{worker_cpu / max(sent, 1) * 1e6:.0f} µs per message"
        )

        # 3. Latency at a steady commit rate.
        PushMessage.objects.filter(device__user=user).delete()
        Device.objects.filter(user=user).exclude(pk=devices[0].pk).delete()
        fake_clear(processes.fcm_url)
        rate = args.rate or max(10.0, relay_rate / 2)
        committed: dict[str, float] = {}
        interval = 1.0 / rate
        next_at = time.perf_counter()
        deadline = next_at + args.seconds
        i = 0
        while time.perf_counter() < deadline:
            object_id = f"{run_id}-{i}"
            with transaction.atomic():
                notify(
                    user,
                    "service_request.received",
                    {"tracking_code": object_id},
                    data={"type": "service_request", "id": object_id},
                    collapse_key=f"bench-{object_id}",
                )
            committed[object_id] = time.time()  # on_commit has run: the task is published
            i += 1
            next_at += interval
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        achieved = len(committed) / args.seconds
        wait_for(
            lambda: len(fake_get(processes.fcm_url)) >= len(committed),
            120,
            "the latency run",
            every=0.2,
        )
        latencies = [
            datetime.fromisoformat(m["received_at"]).timestamp()
            - committed[m["message"]["data"]["id"]]
            for m in fake_get(processes.fcm_url)
            if m["message"]["data"].get("id") in committed
        ]
        print(
            f"commit → delivery at {achieved:.0f} commits/s ({len(latencies)} pushes): "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms"
        )
        return {
            "fcm_ceiling_rps": round(ceiling),
            "relay_msgs": sent,
            "relay_msg_per_s": round(relay_rate),
            "relay_share_of_ceiling": round(relay_rate / ceiling, 3),
            "relay_worker_cpu_us_per_msg": round(worker_cpu / max(sent, 1) * 1e6),
            "latency_commits_per_s": round(achieved),
            "latency_pushes": len(latencies),
            "latency_p50_ms": round(statistics.median(latencies) * 1000),
            "latency_p95_ms": round(percentile(latencies, 0.95) * 1000),
            "latency_max_ms": round(max(latencies) * 1000),
        }
    finally:
        Notification.objects.filter(user=user).delete()
        Device.objects.filter(user=user).delete()
        user.delete()


# -- 4. an announcement to many ----------------------------------------------------------------

ANNOUNCEMENT_PREFIX = "+8495"
# Lai Châu and one of its communes: no demo person lives there, so the recipients are ours.
ANNOUNCEMENT_PROVINCE = (12, "Lai Châu")
ANNOUNCEMENT_COMMUNE = (3390, "Xã Bình Lư")
SENDER_PHONE = "+84939999999"


def _announcement_audience(recipients: int):  # type: ignore[no-untyped-def]
    """The commune, `recipients` people living there with one active device each (created
    once, in batches), and a superuser to send from."""
    from accounts.models import User
    from agencies.models import AdministrativeUnit
    from notifications.models import Device

    province, _ = AdministrativeUnit.objects.get_or_create(
        level="province",
        code=ANNOUNCEMENT_PROVINCE[0],
        defaults={"name": ANNOUNCEMENT_PROVINCE[1], "search_name": "lai chau"},
    )
    commune, _ = AdministrativeUnit.objects.get_or_create(
        level="commune",
        code=ANNOUNCEMENT_COMMUNE[0],
        defaults={"name": ANNOUNCEMENT_COMMUNE[1], "search_name": "xa binh lu", "parent": province},
    )
    # Whoever of the `recipients` numbered people is missing (a run interrupted half-way).
    have = set(
        User.objects.filter(phone__startswith=ANNOUNCEMENT_PREFIX).values_list("phone", flat=True)
    )
    missing = [
        phone
        for phone in (f"{ANNOUNCEMENT_PREFIX}{i:07d}" for i in range(recipients))
        if phone not in have
    ]
    for first in range(0, len(missing), 5000):
        users = User.objects.bulk_create(
            User(
                phone=phone,
                full_name=f"Người dân {phone[-7:]}",
                password="!",  # unusable
                administrative_unit=commune,
            )
            for phone in missing[first : first + 5000]
        )
        Device.objects.bulk_create(
            Device(user=user, token=f"announce-{user.phone}", platform="android") for user in users
        )
    # Only the numbered people live there (an older run's sender may be stored with the prefix).
    User.objects.filter(phone__startswith=ANNOUNCEMENT_PREFIX, administrative_unit=commune).exclude(
        phone__in=[f"{ANNOUNCEMENT_PREFIX}{i:07d}" for i in range(recipients)]
    ).update(administrative_unit=None)
    sender = User.objects.filter(phone=SENDER_PHONE).first()
    if sender is None:
        sender = User.objects.create_superuser(SENDER_PHONE, "bench-only-Password#1")
    return commune, sender


def announcement(processes: Processes, recipients: int) -> dict[str, float]:
    """Seconds from sending an announcement to `recipients` people until their outbox rows
    all exist, and until the fake FCM server has all their pushes."""
    from notifications.actions import send_announcement
    from notifications.models import Announcement, Notification, PushMessage

    commune, sender = _announcement_audience(recipients)
    audience = type(sender).objects.filter(administrative_unit=commune, is_active=True).count()
    fake_clear(processes.fcm_url)
    started = time.perf_counter()
    sent = send_announcement(
        sender,
        title="Lịch tiêm chủng",
        body="Tiêm chủng mở rộng tại trạm y tế xã.",
        administrative_unit=commune,
    )
    outbox = PushMessage.objects.filter(collapse_key=f"announcement-{sent.pk}")
    try:
        wait_for(
            lambda: Announcement.objects.filter(pk=sent.pk, recipient_count__gte=audience).exists(),
            600,
            "the announcement's fan-out",
            every=0.1,
        )
        rows_at = time.perf_counter() - started
        rows = outbox.count()
        wait_for(
            lambda: not outbox.filter(status__in=["pending", "sending"]).exists(),
            600,
            "the announcement's pushes",
            every=0.5,
        )
        delivered_at = time.perf_counter() - started
        received = len(fake_get(processes.fcm_url))
        print(
            f"announcement to {audience:,} people: {rows:,} outbox rows in {rows_at:.1f} s, "
            f"{received:,} pushes at the fake FCM server in {delivered_at:.1f} s"
        )
        return {
            "announcement_recipients": audience,
            "announcement_outbox_rows": rows,
            "announcement_rows_seconds": round(rows_at, 1),
            "announcement_pushes_received": received,
            "announcement_delivered_seconds": round(delivered_at, 1),
        }
    finally:
        Notification.objects.filter(kind="announcement", data__id=str(sent.pk)).delete()
        Announcement.objects.filter(pk=sent.pk).delete()
        fake_clear(processes.fcm_url)


if __name__ == "__main__":
    main()
