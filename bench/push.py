"""Push relay benchmark: one Celery worker → firebase-admin → the fake FCM server.

    DATABASE_URL=postgres://… DJANGO_ENV=test .venv/bin/python bench/push.py

Starts its own redis-server (spare port), fake FCM server and one worker (`--pool=solo`),
on the database of DATABASE_URL (migrated; PostgreSQL for SKIP LOCKED). In one run it reports:

1. the fake server's own ceiling: requests per second a plain asyncio keep-alive client
   gets from it, with no Django, Celery or firebase-admin in the way;
2. relay throughput: N pending outbox rows, one task; messages per second from the first to
   the last message the fake server received;
3. commit → delivery latency: `notify()` commits at a steady rate (a fraction of the measured
   throughput) and each push's arrival time at the fake server is compared with its commit.

Compare 2 with 1 (a ratio from the same run): on a shared machine bare figures move.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
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


def fake_get(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/_fake/messages", timeout=30) as response:
        return json.loads(response.read())


def fake_clear(base: str) -> None:
    request = urllib.request.Request(f"{base}/_fake/messages", method="DELETE")
    urllib.request.urlopen(request, timeout=10).close()


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


# -- the processes -----------------------------------------------------------------------------


class Processes:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis_port = free_port()
        self.fcm_port = free_port()
        self.children: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def fcm_url(self) -> str:
        return f"http://127.0.0.1:{self.fcm_port}"

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
            ],
            "fake_fcm.log",
        )
        wait_for(self._fake_up, 15, "the fake FCM server")
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PUSH_BACKEND": "fcm",
            "FCM_ENDPOINT": self.fcm_url,
            "FCM_PROJECT_ID": "demo-project",
            "GOOGLE_APPLICATION_CREDENTIALS": "",
            "LOG_LEVEL": "WARNING",
        }
        self.worker = self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            "worker.log",
            env,
        )
        wait_for(lambda: "ready" in (self.workdir / "worker.log").read_text(), 60, "the worker")

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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp:
        processes = Processes(Path(tmp))
        try:
            processes.start()
            run(processes, args)
        finally:
            processes.stop()


def run(processes: Processes, args: argparse.Namespace) -> None:
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
    ceiling = asyncio.run(_hammer(processes.fcm_port, 5000, 64))
    fake_clear(processes.fcm_url)

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
        print(f"fake FCM ceiling (raw asyncio client, 64 conns): {ceiling:8.0f} req/s")
        print(
            f"relay throughput (1 worker, {sent}/{args.messages} sent): {relay_rate:8.0f} msg/s "
            f"= {relay_rate / ceiling:.0%} of the ceiling (wall {time.time() - start:.1f} s)"
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
    finally:
        Notification.objects.filter(user=user).delete()
        Device.objects.filter(user=user).delete()
        user.delete()


if __name__ == "__main__":
    main()
