"""Cursor pagination of a manager's dossier list over 200,000 dossiers: is a deep page as
fast as the first one?

Seeds with `bulk_create` (spread creation times, so the cursor never falls back on offsets
among equal timestamps), then times `GET /api/v1/requests/` for the demo provincial manager
(Ma Thị Hoa, Tuyên Quang: about two thirds of the rows are in her scope): page 1, the page
reached by following `next` 500 times, and pages at cursors built in the middle and near the
end of the list. Prints medians in ms and ratios to page 1 and to a trivial view.

    # SQLite in a temporary file (the default)
    DJANGO_ENV=test .venv/bin/python bench/dossier_pagination.py
    # PostgreSQL: a database of its own, emptied of dossiers first
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cat_work \
        DJANGO_ENV=test .venv/bin/python bench/dossier_pagination.py
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from base64 import b64encode
from datetime import timedelta
from pathlib import Path
from urllib import parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "test")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("PUSH_BACKEND", "memory")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import User  # noqa: E402
from agencies.models import AdministrativeUnit, Agency  # noqa: E402
from common.tracking import new_tracking_code  # noqa: E402
from services.models import PublicService, ServiceRequest  # noqa: E402

MANAGER_PHONE = "+84900000201"
LIST = "/api/v1/requests/"
# The demo agencies point at these units; creating them is much faster than loading all
# 3,355 with `load_administrative_units`.
UNITS = [
    ("province", 8, "Tuyên Quang", None),
    ("province", 11, "Điện Biên", None),
    ("commune", 2266, "Xã Lâm Bình", 8),
    ("commune", 2269, "Xã Thượng Lâm", 8),
    ("commune", 3325, "Xã Mường Phăng", 11),
]


def prepare_places() -> None:
    for level, code, name, parent in UNITS:
        AdministrativeUnit.objects.get_or_create(
            level=level,
            code=code,
            defaults={
                "name": name,
                "search_name": name.lower(),
                "parent": (
                    AdministrativeUnit.objects.get(level="province", code=parent)
                    if parent
                    else None
                ),
            },
        )
    call_command("seed_demo", verbosity=0)


def seed(count: int, citizens: int) -> float:
    started = time.perf_counter()
    ServiceRequest.objects.all().delete()
    User.objects.filter(phone__startswith="+8497").delete()
    people = [
        User(phone=f"+8497{i:07d}", full_name=f"Người dân {i}", password="!")  # unusable
        for i in range(citizens)
    ]
    User.objects.bulk_create(people, batch_size=5000)
    people = list(User.objects.filter(phone__startswith="+8497"))
    agencies = list(Agency.objects.filter(level="commune").select_related("administrative_unit"))
    services = list(PublicService.objects.filter(level="commune"))
    statuses = list(ServiceRequest.Status.values)
    rng = random.Random(2026)
    now = timezone.now()
    codes: set[str] = set()
    # Creation times must be ours, not "now" for every row: auto_now(_add) would overwrite them.
    stamps = [ServiceRequest._meta.get_field(n) for n in ("created_at", "updated_at")]
    saved = [(f.auto_now, f.auto_now_add) for f in stamps]
    for field in stamps:
        field.auto_now = field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        batch: list[ServiceRequest] = []
        for i in range(count):
            code = new_tracking_code("DV")
            while code in codes:
                code = new_tracking_code("DV")
            codes.add(code)
            agency = agencies[i % len(agencies)]
            created = now - timedelta(seconds=i * 300 + rng.randrange(300))
            batch.append(
                ServiceRequest(
                    tracking_code=code,
                    service=services[i % len(services)],
                    applicant=people[rng.randrange(len(people))],
                    administrative_unit=agency.administrative_unit,
                    agency=agency,
                    status=statuses[rng.randrange(len(statuses))],
                    form_data={"full_name": f"Người dân {i}"},
                    created_at=created,
                    updated_at=created,
                )
            )
            if len(batch) == 10000:
                with transaction.atomic():
                    ServiceRequest.objects.bulk_create(batch)
                batch = []
        if batch:
            ServiceRequest.objects.bulk_create(batch)
    finally:
        for field, (auto_now, auto_now_add) in zip(stamps, saved, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def drf_cursor(position: str) -> str:
    # DRF's own encoding (rest_framework.pagination.CursorPagination.encode_cursor).
    return b64encode(parse.urlencode({"p": position}).encode("ascii")).decode("ascii")


def timed(client: APIClient, url: str, n: int) -> tuple[float, dict]:
    timings = []
    body: dict = {}
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        body = response.json() if response["Content-Type"] == "application/json" else {}
    return statistics.median(timings), body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--citizens", type=int, default=2_000)
    parser.add_argument("--pages", type=int, default=500, help="`next` links to follow")
    parser.add_argument("--repeat", type=int, default=30, help="timings per measured page")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    prepare_places()
    seconds = seed(args.dossiers, args.citizens)
    manager = User.objects.get(phone=MANAGER_PHONE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(manager).access_token}")
    from services.selectors import requests_visible_to

    visible = requests_visible_to(manager)
    in_scope = visible.count()
    print(f"database: {connection.vendor}; {args.dossiers:,} dossiers seeded in {seconds:.1f} s")
    print(f"manager sees {in_scope:,} of them; page size 20")

    base, _ = timed(client, "/health/live", args.repeat)
    first, body = timed(client, LIST, args.repeat)
    # Follow the links as a phone would, to the page `--pages` deep.
    url = body["next"]
    walk_started = time.perf_counter()
    for _ in range(args.pages - 1):
        url = client.get(url).json()["next"]
    walk = (time.perf_counter() - walk_started) * 1000 / max(args.pages - 1, 1)
    deep, _ = timed(client, url, args.repeat)
    ordered = visible.order_by("-created_at", "-id").values_list("created_at", flat=True)
    middle_at = ordered[in_scope // 2]
    last_at = ordered[in_scope - 25]
    middle, _ = timed(client, f"{LIST}?cursor={drf_cursor(str(middle_at))}", args.repeat)
    end, _ = timed(client, f"{LIST}?cursor={drf_cursor(str(last_at))}", args.repeat)

    rows = [
        ("baseline /health/live", base),
        ("page 1", first),
        (f"page {args.pages} (followed next)", deep),
        (f"mean while following {args.pages - 1} links", walk),
        (f"middle (row ~{in_scope // 2:,}, built cursor)", middle),
        ("last page (built cursor)", end),
    ]
    print(f"{'page':42} {'median ms':>10} {'x page 1':>9} {'x base':>8}")
    for label, ms in rows:
        print(f"{label:42} {ms:10.2f} {ms / first:9.2f} {ms / base:8.1f}")


if __name__ == "__main__":
    main()
