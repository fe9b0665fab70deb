"""`make bench`: our endpoints against a bare Django view and a textbook DRF peer, over HTTP,
on a server started the production way (gunicorn with deploy/gunicorn.conf.py, DEBUG off,
DJANGO_ENV=prod, PostgreSQL, Redis), plus the push relay and a large announcement.

1. Seeds, at the issue's scale, `BENCH_DOSSIERS` dossiers (default 1,000,000) over 243
   commune offices, `BENCH_USERS` citizens (100,000), `BENCH_FEEDBACK` feedback items
   (200,000) and `BENCH_INBOX` inbox rows (200,000, plus 300 for the measuring citizen), with
   COPY and progress bars (bench/seed.py), into `BENCH_DATABASE_URL` (default
   postgres://postgres@127.0.0.1:5432/dichvu_bench, created if missing; a second run tops
   the tables up and reuses the rows). Prints how long that took.
2. Starts gunicorn (`WEB_CONCURRENCY`, `GUNICORN_THREADS` from the environment, else the
   config's defaults) serving the app plus the peers of bench/peers.py under /bench/.
3. For each endpoint, `--rounds` interleaved rounds of wrk (`--seconds` each, 8 connections):
   ours, bare, textbook, ours, bare, … and takes medians of req/s and latency. The officer's
   list is also fetched at a cursor near the end of the officer's ~half a million dossiers,
   in the same rounds: its time against page 1's is the "deep cursor" ratio.
4. Counts SQL statements per request and body bytes in-process, with the same settings, and
   checks whether each bare peer's body is byte-identical to ours; times page 1 and the deep
   page in-process too (medians of 30, interleaved).
5. Reads the resident memory (VmRSS) of every gunicorn worker after each wrk run.
6. Runs bench/push.py (relay msg/s per worker, commit → delivery latency, and an announcement
   to `BENCH_ANNOUNCEMENT` people, default 50,000) on a database of its own,
   `BENCH_PUSH_DATABASE_URL` (default …/dichvu_bench_push): it never touches the dossiers.
7. Writes bench/results/<date>.json and .md, and prints both tables with the targets.

The throttles are raised for the run (a benchmark sends one user's creates by the thousand);
everything else is as deployed. Dossiers and notifications a previous run created (through
the create endpoint, as `FILER_PHONE`) and the officer's audit entries of list reads are
deleted first, so every run reads the same data. Needs `wrk` (apt-get install wrk).
`--quick`: one round of 2 s and a smaller push run, for a smoke test of a few minutes once
the data exist.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib import parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dichvu_bench"
)
PUSH_DATABASE_URL = os.environ.get(
    "BENCH_PUSH_DATABASE_URL", DATABASE_URL.rsplit("/", 1)[0] + "/dichvu_bench_push"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
SERVER_ENV = {
    "DJANGO_ENV": "prod",
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
    "JWT_SIGNING_KEY": "bench-only-jwt-signing-key-0123456789abcdef",
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1rZXktMzItYnl0ZXMhISE=",
    "PUSH_BACKEND": "fcm",
    "FCM_ENDPOINT": "http://127.0.0.1:9",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "THROTTLE_ANON": "100000000/min",
    "THROTTLE_USER_WRITE": "100000000/min",
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "json",
}
# push.py runs with the test settings, on its own database, with the caller's environment.
PUSH_ENV = {
    **os.environ,
    "DJANGO_ENV": "test",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DATABASE_URL": PUSH_DATABASE_URL,
    "LOG_LEVEL": "WARNING",
}
os.environ.update({k: v for k, v in SERVER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

# Creates are sent as this citizen, so the measured citizen's lists and inbox stay as seeded.
FILER_PHONE = "+84990000002"
OFFICER_LIST = "/api/v1/requests/"

# Targets (the issue's): × bare by kind of endpoint, × textbook, queries per request, …
BARE_TARGET = {"detail": 0.80, "list": 0.65, "create": 0.50, "catalog": 0.80}
TEXTBOOK_TARGET = 1.3
MAX_QUERIES = 6
DEEP_TARGET = 1.1
PUSH_TARGET = 1000.0
PUSH_P95_TARGET_MS = 2000.0
ANNOUNCEMENT_TARGET_S = 60.0
SEED_TARGET_S = 20 * 60.0


@dataclass(frozen=True)
class Side:
    """One way of serving an endpoint: `paths` are requested in turn (the home sync is
    three requests); `token` empty means anonymous."""

    name: str
    method: str
    paths: tuple[str, ...]
    token: str = ""
    body: str = ""


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # a key of BARE_TARGET
    sides: tuple[Side, ...]


@dataclass
class Counted:
    queries: int  # SELECT/INSERT/UPDATE/DELETE, summed over the side's paths
    transaction: int  # BEGIN/COMMIT
    most_per_request: int  # queries of the side's costliest request
    size: int
    body: bytes


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def token_for(phone: str, *, second_factor: bool = False) -> str:
    """An access token as a login gives it (`second_factor`: a staff login with TOTP), but
    valid for the whole run rather than `JWT_ACCESS_MINUTES`: a run takes longer than 10
    minutes, and expired tokens would be measured as fast 401s."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from accounts.sessions import SECOND_FACTOR_CLAIM, VERSION_CLAIM

    user = User.objects.get(phone=phone)
    access = RefreshToken.for_user(user).access_token
    access.set_exp(lifetime=timedelta(hours=12))
    access[VERSION_CLAIM] = user.token_version
    if second_factor:
        access[SECOND_FACTOR_CLAIM] = True
    return str(access)


def reset_previous_run() -> Any:
    """Delete what earlier runs wrote (the filer's dossiers and notifications, the officer's
    list-read audit entries); returns the filer."""
    from accounts.models import User
    from bench.seed import OFFICER_PHONE
    from common.models import AuditLogEntry
    from notifications.models import Notification
    from services.models import ServiceRequest

    filer = User.objects.filter(phone=FILER_PHONE).first()
    if filer is None:
        filer = User.objects.create_user(phone=FILER_PHONE, full_name="Người nộp thử")
    ServiceRequest.objects.filter(applicant=filer).delete()
    Notification.objects.filter(user=filer).delete()
    AuditLogEntry.objects.filter(actor__phone=OFFICER_PHONE, action="view_personal_data").delete()
    return filer


def drf_cursor(position: str) -> str:
    # DRF's own encoding (rest_framework.pagination.CursorPagination.encode_cursor).
    return b64encode(parse.urlencode({"p": position}).encode("ascii")).decode("ascii")


def deep_cursor(phone: str) -> tuple[str, int]:
    """A cursor 25 rows from the end of the officer's list, and how many rows the list has."""
    from accounts.models import User
    from services.selectors import requests_visible_to

    officer = User.objects.get(phone=phone)
    visible = requests_visible_to(officer)
    oldest = visible.order_by("created_at", "id").values_list("created_at", flat=True)
    return drf_cursor(str(oldest[25])), visible.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **SERVER_ENV, "PORT": str(port)}
    env.setdefault("WEB_CONCURRENCY", "2")
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1):  # nosec B310
                return process
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def worker_rss_mb(master: int) -> dict[int, float]:
    """VmRSS of each child of the gunicorn master (its workers), in MB, by pid."""
    sizes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == master and "VmRSS" in fields:
            sizes[int(entry.name)] = int(fields["VmRSS"].split()[0]) / 1024
    return sizes


WRK_LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{headers}
wrk.body = [[{body}]]
local paths = {{ {paths} }}
local n = 0
request = function()
  n = n % #paths + 1
  return wrk.format(nil, paths[n])
end
"""


def wrk_script(side: Side) -> str:
    headers = f'wrk.headers["Authorization"] = "Bearer {side.token}"' if side.token else ""
    paths = ", ".join(f"[[{path}]]" for path in side.paths)
    return WRK_LUA.format(method=side.method, headers=headers, body=side.body, paths=paths)


def wrk(url: str, seconds: float, lua: Path) -> dict[str, float]:
    """One wrk run (2 threads, 8 connections; a request counts until 10 s, not wrk's 2 s);
    its output is kept beside the script (`<script>.out`, appended)."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c8",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with lua.with_suffix(".out").open("a") as log:
        log.write(out + "\n")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(label: str) -> float:
        match = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    broken = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rate,
        "p50_ms": latency("50%"),
        "p99_ms": latency("99%"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": float(sum(int(n) for n in broken.groups())) if broken else 0.0,
    }


TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK")


def count_side(side: Side) -> Counted:
    """SQL statements and body bytes of one round of `side`'s requests, in-process, after a
    first round that warms the caches as a running server has them. Savepoints are not
    counted; BEGIN/COMMIT are counted apart from the queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {side.token}" if side.token else "")
    totals = Counted(0, 0, 0, 0, b"")
    for path in side.paths:
        if side.method == "POST":
            client.post(path, data=side.body, content_type="application/json")
            with CaptureQueriesContext(connection) as queries:
                response = client.post(path, data=side.body, content_type="application/json")
        else:
            client.get(path)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
        assert response.status_code < 300, (path, response.status_code, response.content[:300])
        statements = [
            q["sql"]
            for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
        ]
        control = sum(1 for statement in statements if statement in TRANSACTION)
        totals.queries += len(statements) - control
        totals.transaction += control
        totals.most_per_request = max(totals.most_per_request, len(statements) - control)
        totals.size += len(response.content)
        totals.body += response.content
    return totals


def in_process_pages(token: str, urls: dict[str, str], repeat: int = 30) -> dict[str, float]:
    """Median ms of each of `urls`, fetched in turn `repeat` times through the whole stack."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    timings: dict[str, list[float]] = {name: [] for name in urls}
    for url in urls.values():
        assert client.get(url).status_code == 200, url
    for _ in range(repeat):
        for name, url in urls.items():
            started = time.perf_counter()
            client.get(url)
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 2) for name, values in timings.items()}


def endpoints(data: dict[str, Any], tokens: dict[str, str], deep: str) -> list[Endpoint]:
    from bench.seed import FORM

    citizen, filer, officer = tokens["citizen"], tokens["filer"], tokens["officer"]
    create = json.dumps(
        {"service": data["service"], "administrative_unit": data["commune"], "form_data": FORM},
        ensure_ascii=False,
    )
    textbook_create = json.dumps(
        {"service_code": data["service"], "commune": data["commune"], "form_data": FORM},
        ensure_ascii=False,
    )
    detail = data["detail_id"]
    since = data["inbox_since"]

    def get(name: str, *paths: str, token: str = "") -> Side:
        return Side(name, "GET", paths, token)

    return [
        Endpoint(
            "dossier detail (JWT)",
            "detail",
            (
                get("ours", f"/api/v1/requests/{detail}/", token=citizen),
                get("bare", f"/bench/bare/requests/{detail}/", token=citizen),
                get("textbook", f"/bench/textbook/requests/{detail}/", token=citizen),
            ),
        ),
        Endpoint(
            "my dossiers, 20 (JWT)",
            "list",
            (
                get("ours", "/api/v1/requests/?page_size=20", token=citizen),
                get("bare", "/bench/bare/requests/?page_size=20", token=citizen),
                get("textbook", "/bench/textbook/requests/", token=citizen),
            ),
        ),
        Endpoint(
            "create dossier (JWT)",
            "create",
            (
                Side("ours", "POST", ("/api/v1/requests/",), filer, create),
                Side("bare", "POST", ("/bench/bare/requests/",), filer, create),
                Side("textbook", "POST", ("/bench/textbook/requests/",), filer, textbook_create),
            ),
        ),
        Endpoint(
            "catalog, 20 (anonymous)",
            "catalog",
            (get("ours", "/api/v1/services/?page_size=20"), get("bare", "/bench/bare/services/")),
        ),
        Endpoint(
            "officer's dossiers, 20 (JWT + 2FA, province subtree)",
            "list",
            (
                get("ours", OFFICER_LIST, token=officer),
                get("bare", "/bench/bare/agency-requests/", token=officer),
                get("textbook", "/bench/textbook/agency-requests/", token=officer),
                get("ours, deep cursor", f"{OFFICER_LIST}?cursor={deep}", token=officer),
            ),
        ),
        Endpoint(
            "public feedback feed, 20 (anonymous)",
            "list",
            (
                get("ours", "/api/v1/feedback/public/"),
                get("bare", "/bench/bare/public-feedback/"),
                get("textbook", "/bench/textbook/public-feedback/"),
            ),
        ),
        Endpoint(
            "inbox, 20 (JWT)",
            "list",
            (
                get("ours", "/api/v1/notifications/", token=citizen),
                get("bare", "/bench/bare/notifications/", token=citizen),
                get("textbook", "/bench/textbook/notifications/", token=citizen),
            ),
        ),
        Endpoint(
            "home sync: me + unread count + inbox (3 requests, JWT)",
            "list",
            (
                get(
                    "ours",
                    "/api/v1/me/",
                    "/api/v1/notifications/unread-count/",
                    "/api/v1/notifications/",
                    token=citizen,
                ),
                get(
                    "bare",
                    "/bench/bare/me/",
                    "/bench/bare/notifications/unread-count/",
                    "/bench/bare/notifications/",
                    token=citizen,
                ),
            ),
        ),
        Endpoint(
            "inbox sync, `updated_since` a day back (JWT)",
            "list",
            (
                get("ours", f"/api/v1/notifications/?updated_since={since}", token=citizen),
                get("bare", f"/bench/bare/notifications/?updated_since={since}", token=citizen),
            ),
        ),
    ]


def run_push(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """bench/push.py on its own migrated database; its figures, or an error."""
    ensure_database(PUSH_DATABASE_URL)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=PUSH_ENV, check=True
    )
    out = workdir / "push.json"
    command = [
        sys.executable,
        "bench/push.py",
        "--messages",
        str(args.push_messages),
        "--seconds",
        str(args.push_seconds),
        "--announcement",
        str(args.announcement),
        "--json",
        str(out),
    ]
    print("push:", " ".join(command[1:]))
    done = subprocess.run(command, cwd=ROOT, env=PUSH_ENV, check=False)
    if done.returncode != 0 or not out.exists():
        return {"error": f"bench/push.py exited with {done.returncode}"}
    return dict(json.loads(out.read_text()))


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument(
        "--dossiers", type=int, default=int(os.environ.get("BENCH_DOSSIERS", 1_000_000))
    )
    parser.add_argument("--users", type=int, default=int(os.environ.get("BENCH_USERS", 100_000)))
    parser.add_argument(
        "--feedback", type=int, default=int(os.environ.get("BENCH_FEEDBACK", 200_000))
    )
    parser.add_argument("--inbox", type=int, default=int(os.environ.get("BENCH_INBOX", 200_000)))
    parser.add_argument(
        "--announcement",
        type=int,
        default=int(os.environ.get("BENCH_ANNOUNCEMENT", 50_000)),
        help="recipients of the announcement (push run)",
    )
    parser.add_argument("--push-messages", type=int, default=5000)
    parser.add_argument("--push-seconds", type=float, default=8.0)
    parser.add_argument("--no-push", action="store_true", help="skip bench/push.py")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="smoke run: 1 round of 2 s, 1,000 push messages, 5,000 recipients",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 2.0
        args.push_messages, args.push_seconds = 1000, 3.0
        args.announcement = min(args.announcement, 5000)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from bench.seed import CITIZEN_PHONE, OFFICER_PHONE, Scale, seed
    from notifications.models import Notification
    from services.models import ServiceRequest

    data = seed(Scale(args.dossiers, args.users, args.feedback, args.inbox))
    reset_previous_run()
    # Counted again without what a previous run created.
    data.update(dossiers=ServiceRequest.objects.count(), inbox_rows=Notification.objects.count())
    print(f"seeded in {data['seed_seconds']} s: {data}")
    tokens = {
        "citizen": token_for(CITIZEN_PHONE),
        "filer": token_for(FILER_PHONE),
        "officer": token_for(OFFICER_PHONE, second_factor=True),
    }
    cursor, in_scope = deep_cursor(OFFICER_PHONE)
    data["officer_list_rows"] = in_scope
    measured = endpoints(data, tokens, cursor)
    workdir = Path(os.environ.get("BENCH_WORKDIR", "/tmp")) / f"bench-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    scripts: dict[tuple[str, str], Path] = {}
    for number, endpoint in enumerate(measured):
        for index, side in enumerate(endpoint.sides):
            lua = workdir / f"{number}-{index}.lua"
            lua.write_text(wrk_script(side))
            scripts[(endpoint.name, side.name)] = lua
    counts = {
        (endpoint.name, side.name): count_side(side)
        for endpoint in measured
        for side in endpoint.sides
    }
    pages = in_process_pages(
        tokens["officer"], {"page 1": OFFICER_LIST, "deep": f"{OFFICER_LIST}?cursor={cursor}"}
    )
    port = free_port()
    server = start_server(port, workdir)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {key: [] for key in scripts}
    # Every worker seen (gunicorn recycles them, `GUNICORN_MAX_REQUESTS`) and its largest RSS.
    rss: dict[int, float] = {}
    try:
        for number in range(1, args.rounds + 1):
            for endpoint in measured:
                for side in endpoint.sides:
                    result = wrk(
                        f"http://127.0.0.1:{port}{side.paths[0]}",
                        args.seconds,
                        scripts[(endpoint.name, side.name)],
                    )
                    runs[(endpoint.name, side.name)].append(result)
                    for pid, mb in worker_rss_mb(server.pid).items():
                        rss[pid] = max(mb, rss.get(pid, 0.0))
                    print(
                        f"round {number} {endpoint.name[:40]:40} {side.name:17} "
                        f"{result['rps']:8.0f} req/s"
                        + (f"  ({result['non_2xx']:.0f} non-2xx!)" if result["non_2xx"] else "")
                        + (
                            f"  ({result['socket_errors']:.0f} socket errors)"
                            if result["socket_errors"]
                            else ""
                        )
                    )
        rss_end = sorted(worker_rss_mb(server.pid).values())
    finally:
        stop_server(server)
    push = {} if args.no_push else run_push(args, workdir)
    extra = {
        "in_process_ms": pages,
        "rss_mb_end": [round(mb, 1) for mb in rss_end],
        "rss_mb_max": round(max(rss.values(), default=0.0), 1),
        "workers_seen": len(rss),
        "push": push,
        "wall_seconds": round(time.perf_counter() - started),
    }
    write_results(measured, runs, counts, data, extra, args)


# -- results -----------------------------------------------------------------------------------


def mark(ok: bool | None) -> str:
    return "" if ok is None else "met" if ok else "NOT met"


def valid(run: dict[str, float]) -> bool:
    """A wrk run that measured what it meant to: answers came (a run in which both workers
    were restarting at once serves nothing) and none of them was an error."""
    return bool(run["rps"]) and not run["non_2xx"]


def per_round(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    """Median over rounds of a's req/s over b's (both from the same round), over the rounds
    where both runs are `valid`."""
    ratios = [x["rps"] / y["rps"] for x, y in zip(a, b, strict=True) if valid(x) and valid(y)]
    return statistics.median(ratios) if ratios else float("nan")


def endpoint_rows(
    measured: list[Endpoint],
    runs: dict[tuple[str, str], list[dict[str, float]]],
    counts: dict[tuple[str, str], Counted],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    deep: dict[str, Any] = {}
    for endpoint in measured:
        ours_runs = runs[(endpoint.name, "ours")]
        ours_count = counts[(endpoint.name, "ours")]
        names = [side.name for side in endpoint.sides]
        for side in endpoint.sides:
            side_runs = runs[(endpoint.name, side.name)]
            # Medians of the valid runs (all of them if none is: the row then shows why).
            kept = [r for r in side_runs if valid(r)] or side_runs
            counted = counts[(endpoint.name, side.name)]
            row: dict[str, Any] = {
                "endpoint": endpoint.name,
                "side": side.name,
                **{key: round(statistics.median(r[key] for r in kept), 2) for key in side_runs[0]},
                "valid_rounds": len([r for r in side_runs if valid(r)]),
                "queries": counted.queries,
                "begin_commit": counted.transaction,
                "requests": len(side.paths),
                "bytes": counted.size,
                "same_body_as_ours": counted.body == ours_count.body
                if side.name != "ours"
                else None,
            }
            if side.name == "ours":
                bare = per_round(side_runs, runs[(endpoint.name, "bare")])
                book = (
                    per_round(side_runs, runs[(endpoint.name, "textbook")])
                    if "textbook" in names
                    else None
                )
                target = BARE_TARGET[endpoint.kind]
                row.update(
                    ratio_to_bare=round(bare, 2),
                    bare_target=target,
                    ratio_to_textbook=None if book is None else round(book, 2),
                    textbook_target=None if book is None else TEXTBOOK_TARGET,
                    queries_per_request_max=counted.most_per_request,
                    bare_met=bare >= target,
                    textbook_met=None if book is None else book >= TEXTBOOK_TARGET,
                    queries_met=counted.most_per_request <= MAX_QUERIES,
                )
                row["met"] = all(
                    flag is not False
                    for flag in (row["bare_met"], row["textbook_met"], row["queries_met"])
                )
            if side.name == "ours, deep cursor":
                # Time per request: page 1's req/s over the deep page's, round by round.
                ratio = per_round(ours_runs, side_runs)
                deep = {"ratio": round(ratio, 2), "met": ratio <= DEEP_TARGET}
                row["time_vs_page_1"] = deep["ratio"]
            rows.append(row)
    return rows, deep


def write_results(  # type: ignore[no-untyped-def]
    measured: list[Endpoint],
    runs: dict[tuple[str, str], list[dict[str, float]]],
    counts: dict[tuple[str, str], Counted],
    data: dict[str, Any],
    extra: dict[str, Any],
    args: argparse.Namespace,
):
    rows, deep = endpoint_rows(measured, runs, counts)
    stamp = datetime.now(UTC)
    meta = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the end",
        "server": {
            "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
            "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "(config default)"),
            "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "(settings default)"),
        },
        "rounds": args.rounds,
        "seconds_per_run": args.seconds,
        "data": data,
        **extra,
    }
    lines = [
        f"Run of {meta['date']} ({meta['machine']}; {data['dossiers']:,} dossiers over "
        f"{data['dossier_agencies']} offices, {data['citizens']:,} citizens, "
        f"{data['feedback']:,} feedback, {data['inbox_rows']:,} inbox rows; "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s, wrk 8 connections; medians; "
        f"ratios are medians of per-round ratios; a run with errors or no answer at all is "
        f"left out)",
        "",
        "| endpoint | side | req/s | p50 ms | p99 ms | × bare (target) | × textbook (≥ 1.3) "
        "| SQL (≤ 6 a request) | bytes | met |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        sql = f"{row['queries']}" + (
            f" + {row['begin_commit']} BEGIN/COMMIT" if row["begin_commit"] else ""
        )
        if row["requests"] > 1:
            sql += f" in {row['requests']} requests"
        size = f"{row['bytes']:,}"
        if row["same_body_as_ours"]:
            size += " (= ours)"
        bare = book = met = ""
        if row["side"] == "ours":
            bare = f"{row['ratio_to_bare']:.2f} (≥ {row['bare_target']:.2f})"
            book = "" if row["ratio_to_textbook"] is None else f"{row['ratio_to_textbook']:.2f}"
            misses = [
                name
                for name, flag in (
                    ("× bare", row["bare_met"]),
                    ("× textbook", row["textbook_met"]),
                    ("SQL", row["queries_met"]),
                )
                if flag is False
            ]
            met = "met" if not misses else "NOT met: " + ", ".join(misses)
        if "time_vs_page_1" in row:
            bare = f"{row['time_vs_page_1']:.2f}× page 1's time (≤ {DEEP_TARGET})"
            met = mark(deep["met"])
        side = row["side"]
        if row["valid_rounds"] < args.rounds:
            side += f" ({row['valid_rounds']} of {args.rounds} rounds valid)"
        lines.append(
            f"| {row['endpoint']} | {side} | {row['rps']:,.0f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {bare} | {book} | {sql} | {size} | {met} |"
        )
    lines += ["", *other_figures(data, extra, deep)]
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = stamp.strftime("%Y-%m-%d-%H%M")
    (out / f"{name}.json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    (out / f"{name}.md").write_text(table + "\n")
    print(f"written: bench/results/{name}.json and .md")


def other_figures(data: dict[str, Any], extra: dict[str, Any], deep: dict[str, Any]) -> list[str]:
    pages = extra["in_process_ms"]
    in_process = pages["deep"] / pages["page 1"]
    seeded = float(data["seed_seconds"])
    lines = [
        "| measure | figure | target | met |",
        "|---|---|---|---|",
        f"| seeding (this run; tops up what exists) | {seeded:,.0f} s | ≤ 20 min | "
        f"{mark(seeded <= SEED_TARGET_S)} |",
        f"| officer's list: deep cursor (row ~{data['officer_list_rows'] - 25:,} of "
        f"{data['officer_list_rows']:,}) against page 1, wrk | {deep.get('ratio', 0):.2f}× "
        f"| ≤ {DEEP_TARGET}× | {mark(deep.get('met'))} |",
        f"| same, in-process medians of 30 | page 1 {pages['page 1']:.1f} ms, deep "
        f"{pages['deep']:.1f} ms: {in_process:.2f}× | ≤ {DEEP_TARGET}× | "
        f"{mark(in_process <= DEEP_TARGET)} |",
        f"| RSS (VmRSS) per gunicorn worker after the run; largest seen in any of the "
        f"{extra['workers_seen']} workers the run saw (gunicorn recycles them) | "
        f"{', '.join(f'{mb:.0f}' for mb in extra['rss_mb_end'])} MB; "
        f"{extra['rss_mb_max']:.0f} MB | | |",
    ]
    push = extra["push"]
    if not push:
        lines.append("| push | not run (`--no-push`) | | |")
    elif "error" in push:
        lines.append(f"| push | {push['error']} | | NOT met |")
    else:
        rate, p95 = push["relay_msg_per_s"], push["latency_p95_ms"]
        lines += [
            f"| push relay, 1 worker, {push['relay_msgs']:,} messages | {rate:,} msg/s "
            f"({push['relay_share_of_ceiling']:.0%} of the fake FCM's "
            f"{push['fcm_ceiling_rps']:,} req/s) | ≥ 1,000 msg/s a worker | "
            f"{mark(rate >= PUSH_TARGET)} |",
            f"| commit → push at {push['latency_commits_per_s']} commits/s "
            f"({push['latency_pushes']:,} pushes) | p50 {push['latency_p50_ms']} ms, p95 "
            f"{p95} ms, max {push['latency_max_ms']} ms | p95 ≤ 2 s | "
            f"{mark(p95 <= PUSH_P95_TARGET_MS)} |",
        ]
        if "announcement_recipients" in push:
            seconds = push["announcement_rows_seconds"]
            lines += [
                f"| announcement to {push['announcement_recipients']:,} people: until all "
                f"{push['announcement_outbox_rows']:,} outbox rows exist | {seconds} s | "
                f"≤ 60 s | {mark(seconds <= ANNOUNCEMENT_TARGET_S)} |",
                f"| same: until the fake FCM has all "
                f"{push['announcement_pushes_received']:,} pushes | "
                f"{push['announcement_delivered_seconds']} s | | |",
            ]
    lines.append(f"| whole `make bench` run | {extra['wall_seconds'] / 60:.1f} min | | |")
    return lines


if __name__ == "__main__":
    main()
