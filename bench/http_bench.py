"""`make bench`: our endpoints against a bare Django view and a textbook DRF peer, over HTTP,
on a server started the production way (gunicorn with deploy/gunicorn.conf.py, DEBUG off,
DJANGO_ENV=prod, PostgreSQL, Redis).

1. Seeds `BENCH_DOSSIERS` dossiers (default 200,000) over `BENCH_USERS` citizens and every
   commune office, into `BENCH_DATABASE_URL` (default
   postgres://postgres@127.0.0.1:5432/dichvu_bench, created if missing; a second run reuses
   the rows), with progress bars.
2. Starts gunicorn (`WEB_CONCURRENCY`, `GUNICORN_THREADS` from the environment, else the
   config's defaults) serving the app plus the peers of bench/peers.py under /bench/.
3. For each endpoint, `--rounds` interleaved rounds of wrk (`--seconds` each, 8 connections):
   ours, bare, textbook, ours, bare, … and takes medians of req/s and latency.
4. Counts SQL statements per request and body bytes in-process, with the same settings.
5. Writes bench/results/<date>.json and .md, and prints the table.

The throttles are raised for the run (a benchmark sends one user's creates by the thousand);
everything else is as deployed. Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dichvu_bench"
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
os.environ.update({k: v for k, v in SERVER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

CITIZEN_PHONE = "+84990000001"
FORM = {"full_name": "Hoàng Thị Mai", "id_number": "008190000123", "purpose": "Bổ sung hồ sơ"}


def ensure_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(dossiers: int, users: int) -> dict[str, object]:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from tqdm import tqdm

    from accounts.models import User
    from agencies.models import Agency
    from services.models import PublicService, ServiceRequest, ServiceRequestEvent

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if not Agency.objects.exists():
        # The demo catalog and agencies; seed_demo refuses DJANGO_ENV=prod.
        env = {**os.environ, "DJANGO_ENV": "test", "DJANGO_SETTINGS_MODULE": "config.settings"}
        for command in ("load_administrative_units", "seed_demo"):
            subprocess.run(
                [sys.executable, "manage.py", command, "-v", "0"], cwd=ROOT, env=env, check=True
            )
    citizen = User.objects.filter(phone=CITIZEN_PHONE).first()
    if citizen is None:
        citizen = User.objects.create_user(phone=CITIZEN_PHONE, full_name="Người đo")
    have = User.objects.filter(phone__startswith="+8496").count()
    if have < users:
        with tqdm(total=users, initial=have, desc="citizens", unit="row") as bar:
            for first in range(have, users, 5000):
                rows = [
                    User(phone=f"+8496{i:07d}", full_name=f"Người dân {i}", password="!")
                    for i in range(first, min(users, first + 5000))
                ]
                User.objects.bulk_create(rows)
                bar.update(len(rows))
    people = list(User.objects.filter(phone__startswith="+8496").values_list("pk", flat=True))
    offices = list(
        Agency.objects.filter(level="commune", is_active=True).values_list(
            "pk", "administrative_unit_id"
        )
    )
    services = list(PublicService.objects.filter(level="commune", is_active=True))
    statuses = list(ServiceRequest.Status.values)
    have = ServiceRequest.objects.filter(tracking_code__startswith="BX").count()
    rng = random.Random(2026)
    now = timezone.now()
    stamps = [ServiceRequest._meta.get_field(n) for n in ("created_at", "updated_at")]
    saved = [(f.auto_now, f.auto_now_add) for f in stamps]
    for field in stamps:
        field.auto_now = field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        with tqdm(total=dossiers, initial=have, desc="dossiers", unit="row") as bar:
            for first in range(have, dossiers, 10000):
                batch = []
                for i in range(first, min(dossiers, first + 10000)):
                    agency_id, unit_id = offices[i % len(offices)]
                    created = now - timedelta(seconds=i * 30 + rng.randrange(30))
                    # One dossier in 500 is the measuring citizen's: a full page, old and new.
                    applicant = citizen.pk if i % 500 == 0 else people[rng.randrange(len(people))]
                    batch.append(
                        ServiceRequest(
                            tracking_code=f"BX{i:010d}",
                            service=services[i % len(services)],
                            applicant_id=applicant,
                            administrative_unit_id=unit_id,
                            agency_id=agency_id,
                            status=statuses[rng.randrange(len(statuses))],
                            form_data=FORM,
                            created_at=created,
                            updated_at=created,
                        )
                    )
                with transaction.atomic():
                    ServiceRequest.objects.bulk_create(batch)
                bar.update(len(batch))
    finally:
        for field, (auto_now, auto_now_add) in zip(stamps, saved, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add  # type: ignore[attr-defined]
    mine = ServiceRequest.objects.filter(applicant=citizen).order_by("-created_at").first()
    assert mine is not None
    if not mine.events.exists():
        ServiceRequestEvent.objects.bulk_create(
            ServiceRequestEvent(request=mine, actor=citizen, action=a, to_status="submitted")
            for a in ("submit", "receive", "comment", "comment", "comment")
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "dossiers": ServiceRequest.objects.count(),
        "citizens": len(people),
        "agencies": len(offices),
        "seconds": round(time.perf_counter() - started, 1),
        "detail_id": str(mine.pk),
        # A service whose form FORM fills (the demo catalog's residence confirmation).
        "service": "residence-confirmation",
        "commune": Agency.objects.get(pk=mine.agency_id).administrative_unit.code,
    }


def token_for(phone: str) -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User

    return str(RefreshToken.for_user(User.objects.get(phone=phone)).access_token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workdir: Path) -> subprocess.Popen:
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


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


WRK_LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{headers}
wrk.body = [[{body}]]
"""


def wrk(url: str, seconds: float, lua: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(label: str) -> float:
        match = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rate,
        "p50_ms": latency("50%"),
        "p99_ms": latency("99%"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def sql_and_bytes(method: str, path: str, token: str, body: str) -> tuple[int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}" if token else "")
    send = client.post if method == "POST" else client.get
    kwargs = {"data": body, "content_type": "application/json"} if method == "POST" else {}
    send(path, **kwargs)  # warm caches as a running server has them
    with CaptureQueriesContext(connection) as queries:
        response = send(path, **kwargs)
    assert response.status_code < 300, (path, response.status_code, response.content[:300])
    statements = [
        q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    return len(statements), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument(
        "--dossiers", type=int, default=int(os.environ.get("BENCH_DOSSIERS", 200_000))
    )
    parser.add_argument("--users", type=int, default=int(os.environ.get("BENCH_USERS", 20_000)))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    ensure_database()
    import django

    django.setup()
    data = seed(args.dossiers, args.users)
    print(f"data: {data}")
    token = token_for(CITIZEN_PHONE)
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"'
    create = json.dumps(
        {"service": data["service"], "administrative_unit": data["commune"], "form_data": FORM},
        ensure_ascii=False,
    )
    textbook_create = json.dumps(
        {"service_code": data["service"], "commune": data["commune"], "form_data": FORM},
        ensure_ascii=False,
    )
    detail = data["detail_id"]
    # endpoint: [(side, method, path, authorised, body)]
    endpoints = {
        "dossier detail (JWT)": [
            ("ours", "GET", f"/api/v1/requests/{detail}/", True, ""),
            ("bare", "GET", f"/bench/bare/requests/{detail}/", True, ""),
            ("textbook", "GET", f"/bench/textbook/requests/{detail}/", True, ""),
        ],
        "my dossiers, 20 (JWT)": [
            ("ours", "GET", "/api/v1/requests/?page_size=20", True, ""),
            ("bare", "GET", "/bench/bare/requests/", True, ""),
            ("textbook", "GET", "/bench/textbook/requests/", True, ""),
        ],
        "create dossier (JWT)": [
            ("ours", "POST", "/api/v1/requests/", True, create),
            ("bare", "POST", "/bench/bare/requests/", True, create),
            ("textbook", "POST", "/bench/textbook/requests/", True, textbook_create),
        ],
        "catalog, 20 (anonymous)": [
            ("ours", "GET", "/api/v1/services/?page_size=20", False, ""),
            ("bare", "GET", "/bench/bare/services/", False, ""),
        ],
    }
    workdir = Path(os.environ.get("BENCH_WORKDIR", "/tmp")) / f"bench-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    scripts: dict[tuple[str, str], Path] = {}
    for name, sides in endpoints.items():
        for side, method, _path, authorised, body in sides:
            lua = workdir / f"{abs(hash((name, side)))}.lua"
            lua.write_text(
                WRK_LUA.format(method=method, headers=auth if authorised else "", body=body)
            )
            scripts[(name, side)] = lua
    counts = {
        (name, side): sql_and_bytes(method, path, token if authorised else "", body)
        for name, sides in endpoints.items()
        for side, method, path, authorised, body in sides
    }
    port = free_port()
    server = start_server(port, workdir)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {key: [] for key in scripts}
    try:
        for number in range(1, args.rounds + 1):
            for name, sides in endpoints.items():
                for side, _method, path, _authorised, _body in sides:
                    result = wrk(
                        f"http://127.0.0.1:{port}{path}", args.seconds, scripts[(name, side)]
                    )
                    runs[(name, side)].append(result)
                    print(f"round {number} {name:26} {side:9} {result['rps']:8.0f} req/s")
    finally:
        stop_server(server)
    write_results(endpoints, runs, counts, data, args)


def write_results(endpoints, runs, counts, data, args) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for name, sides in endpoints.items():
        medians = {
            side: {
                key: statistics.median(r[key] for r in runs[(name, side)])
                for key in runs[(name, side)][0]
            }
            for side, *_rest in sides
        }
        ratio_bare = [
            ours["rps"] / bare["rps"]
            for ours, bare in zip(runs[(name, "ours")], runs[(name, "bare")], strict=True)
        ]
        ratio_textbook = (
            [
                ours["rps"] / book["rps"]
                for ours, book in zip(runs[(name, "ours")], runs[(name, "textbook")], strict=True)
            ]
            if (name, "textbook") in runs
            else []
        )
        for side, *_rest in sides:
            sql, size = counts[(name, side)]
            rows.append(
                {
                    "endpoint": name,
                    "side": side,
                    **{k: round(v, 2) for k, v in medians[side].items()},
                    "ratio_to_bare": round(statistics.median(ratio_bare), 2)
                    if side == "ours"
                    else None,
                    "ratio_to_textbook": round(statistics.median(ratio_textbook), 2)
                    if side == "ours" and ratio_textbook
                    else None,
                    "sql": sql,
                    "bytes": size,
                }
            )
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
    }
    lines = [
        f"Run of {meta['date']} ({meta['machine']}; {data['dossiers']:,} dossiers; "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s, wrk 8 connections; medians)",
        "",
        "| endpoint | side | req/s | p50 ms | p99 ms | × bare | × textbook | SQL | bytes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['endpoint']} | {row['side']} | {row['rps']:,.0f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['ratio_to_bare'] or ''} | "
            f"{row['ratio_to_textbook'] or ''} | {row['sql']} | {row['bytes']:,} |"
        )
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = stamp.strftime("%Y-%m-%d-%H%M")
    (out / f"{name}.json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    (out / f"{name}.md").write_text(table + "\n")
    print(f"written: bench/results/{name}.json and .md")


if __name__ == "__main__":
    main()
