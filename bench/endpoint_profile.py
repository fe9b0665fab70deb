"""Where an endpoint's time goes: in-process, on `make bench`'s data and settings.

    .venv/bin/python bench/endpoint_profile.py officer --requests 200 --top 25

For one of the endpoints `make bench` measures (names below; `create` POSTs as `make bench`
does), it times ours and the bare peer
in-process, interleaved (medians), splits ours into SQL time and the rest, and prints a
cProfile of ours over `--requests` requests (sorted by own time, then cumulative). Run it
after `make bench` has seeded `BENCH_DATABASE_URL`; it writes nothing but the officer's
audit entries of the list reads, as the endpoint does.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Sets the server's environment (settings, database) before Django starts.
import bench.http_bench as bench

# name: (persona, ours, bare); {detail} and {since} are filled from the data.
ENDPOINTS = {
    "detail": ("citizen", "/api/v1/requests/{detail}/", "/bench/bare/requests/{detail}/"),
    "my-list": ("citizen", "/api/v1/requests/?page_size=20", "/bench/bare/requests/"),
    "catalog": ("", "/api/v1/services/?page_size=20", "/bench/bare/services/"),
    "officer": ("officer", "/api/v1/requests/", "/bench/bare/agency-requests/"),
    "feed": ("", "/api/v1/feedback/public/", "/bench/bare/public-feedback/"),
    "inbox": ("citizen", "/api/v1/notifications/", "/bench/bare/notifications/"),
    "me": ("citizen", "/api/v1/me/", "/bench/bare/me/"),
    "unread": (
        "citizen",
        "/api/v1/notifications/unread-count/",
        "/bench/bare/notifications/unread-count/",
    ),
    "sync": (
        "citizen",
        "/api/v1/notifications/?updated_since={since}",
        "/bench/bare/notifications/?updated_since={since}",
    ),
    # POSTed as the filer, with the body `make bench` sends (the dossiers stay until the next
    # `make bench` deletes them).
    "create": ("filer", "/api/v1/requests/", "/bench/bare/requests/"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("endpoint", choices=sorted(ENDPOINTS))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from bench.seed import CITIZEN_PHONE, FORM, OFFICER_PHONE
    from notifications.models import Notification
    from services.models import ServiceRequest

    citizen = User.objects.get(phone=CITIZEN_PHONE)
    detail = ServiceRequest.objects.filter(applicant=citizen).order_by("-created_at").first()
    newest = Notification.objects.filter(user=citizen).order_by("-created_at").first()
    assert detail is not None and newest is not None, "run make bench first"
    since = (newest.created_at.timestamp() - 86400) // 1
    fill = {
        "detail": str(detail.pk),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)),
    }
    persona, ours, bare = ENDPOINTS[args.endpoint]
    ours, bare = ours.format(**fill), bare.format(**fill)
    phone = {
        "citizen": CITIZEN_PHONE,
        "officer": OFFICER_PHONE,
        "filer": bench.FILER_PHONE,
    }.get(persona)
    if persona == "filer":
        bench.reset_previous_run()
    token = bench.token_for(phone, second_factor=persona == "officer") if phone else ""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}" if token else "")
    commune = detail.agency.administrative_unit.code  # type: ignore[union-attr]
    body = json.dumps(
        {"service": "residence-confirmation", "administrative_unit": commune, "form_data": FORM}
    )

    def get(path: str) -> Any:
        if persona == "filer":
            return client.post(path, data=body, content_type="application/json")
        return client.get(path)

    def fetch(path: str) -> float:
        started = time.perf_counter()
        response = get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code < 300, (path, response.status_code)
        return elapsed

    for path in (ours, bare):
        fetch(path)
    timings: dict[str, list[float]] = {"ours": [], "bare": []}
    sql_ms: list[float] = []
    spent = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started

    for _ in range(50):
        spent[0] = 0.0
        with connection.execute_wrapper(timed):
            timings["ours"].append(fetch(ours))
        sql_ms.append(spent[0] * 1000)
        timings["bare"].append(fetch(bare))
    ours_ms, bare_ms = (statistics.median(timings[side]) for side in ("ours", "bare"))
    sql = statistics.median(sql_ms)
    print(f"{args.endpoint}: ours {ours}, bare {bare}")
    print(
        f"in-process medians of 50, interleaved: ours {ours_ms:.1f} ms (SQL {sql:.1f} ms), "
        f"bare {bare_ms:.1f} ms: ours takes {ours_ms / bare_ms:.2f}x the bare time "
        f"(x bare in req/s: {bare_ms / ours_ms:.2f})"
    )
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.requests):
        get(ours)
    profile.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n-- ours, {args.requests} requests, by {order} --")
        print("\n".join(out.getvalue().splitlines()[4:]))


if __name__ == "__main__":
    main()
