"""Real processes for the worker and fault tests: a private redis-server, a Celery worker.

Each test starts what it needs on spare ports and stops it by PID, so the shared services
of the machine are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


class RedisServer:
    """A throwaway redis-server (no persistence) on a spare port; stop() and start() again."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs redis-server on PATH")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.ping, 10, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class Worker:
    """`celery worker --pool=solo` for this test database, broker and fake FCM server."""

    def __init__(self, broker_url: str, fcm_endpoint: str, log_path: Path, **env: str) -> None:
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        self.env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": database_url,
            # Redis doubles as the cache when it is the broker; with RabbitMQ the cache is
            # the machine's Redis, if any.
            "REDIS_URL": broker_url
            if broker_url.startswith("redis")
            else os.environ.get("REDIS_URL", ""),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PUSH_BACKEND": "fcm",
            "FCM_ENDPOINT": fcm_endpoint,
            "FCM_PROJECT_ID": "demo-project",
            "GOOGLE_APPLICATION_CREDENTIALS": "",
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        marker = f"--- start {self.starts}\n"
        with open(self.log_path, "a") as log:
            log.write(marker)
        log = open(self.log_path, "a")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
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
                "-n",
                f"test-{os.getpid()}-{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(
            lambda: "ready" in self.log_path.read_text().split(marker)[-1],
            60,
            "the Celery worker",
        )

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or recorded."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


def amqp_broker_url() -> str:
    """A RabbitMQ broker the tests share (`CELERY_BROKER_URL=amqp://…`), or ""."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith(("amqp://", "pyamqp://")) else ""


def purge_queues(broker_url: str) -> None:
    """Empty the project's queues on a shared broker, so no test inherits another's tasks."""
    from django.conf import settings

    with celery_app.connection_for_write(broker_url) as connection:
        channel = connection.default_channel
        for queue in settings.CELERY_TASK_QUEUES:
            queue(channel).declare()
            queue(channel).purge()


def _reset_producer_pool() -> None:
    # The app caches its pool; dropping it makes the next publish look up the pool of the
    # current broker URL. Not closed: kombu keeps pools per URL in a global registry, and a
    # closed one would be handed to the next user of that URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def publishing_to(broker_url: str, settings: Any) -> Iterator[None]:
    """Make this process publish tasks to `broker_url` instead of running them eagerly."""
    eager, broker = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    # Celery prefers the CELERY_BROKER_URL variable to its configuration (CI sets it to
    # RabbitMQ for the worker tests), so that is set for the while too.
    env_broker = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = broker_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_producer_pool()
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.broker_url = broker
        if env_broker is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = env_broker
        _reset_producer_pool()


def database_url() -> str:
    """The test database as a URL a child process can use (PostgreSQL only)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WebServer:
    """The project under gunicorn (one sync worker) in a process of its own, on a spare port,
    for this test database; `env` adds or overrides settings."""

    def __init__(self, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": database_url(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it (start several, then wait for each)."""
        log = open(self.log_path, "a")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self) -> None:
        import requests

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the web server exited: {self.log_path.read_text()}")
            try:
                return requests.get(f"{self.url}/health/live", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, 60, f"the web server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None
