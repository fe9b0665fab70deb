"""In-process API benchmark: latency of the main phone endpoints relative to a trivial view,
plus response sizes raw and gzipped.

Ratios measured in one run are comparable across machines; bare milliseconds are not.

    DJANGO_ENV=test .venv/bin/python bench/api_bench.py [--requests 200]
"""

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "test")
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("PUSH_BACKEND", "memory")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import User  # noqa: E402


def prepare() -> tuple[APIClient, str]:
    call_command("migrate", verbosity=0)
    call_command("load_administrative_units", verbosity=0)
    call_command("seed_demo", verbosity=0)
    citizen = User.objects.get(phone="+84900000001")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(citizen).access_token}")
    body = {
        "service": "residence-confirmation",
        "administrative_unit": 2266,
        "form_data": {"full_name": "Hoàng Thị Mai", "id_number": "008190000123", "purpose": "x"},
    }
    dossier_id = ""
    for _ in range(25):
        dossier_id = client.post("/api/v1/requests/", body, format="json").json()["id"]
    return client, dossier_id


def measure(client: APIClient, path: str, n: int) -> tuple[float, int, int]:
    timings = []
    response = None
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
    assert response is not None and response.status_code == 200, (path, response)
    raw = response.content
    return statistics.median(timings) * 1000, len(raw), len(gzip.compress(raw, 6))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    client, dossier_id = prepare()
    endpoints = {
        "baseline /health/live": "/health/live",
        "catalog services/": "/api/v1/services/",
        "my requests (20)": "/api/v1/requests/",
        "request detail": f"/api/v1/requests/{dossier_id}/",
        "inbox (20)": "/api/v1/notifications/",
        "administrative-units/?search=": "/api/v1/administrative-units/?search=lam%20binh",
    }
    base = None
    print(f"{'endpoint':34} {'median ms':>10} {'x base':>8} {'bytes':>8} {'gzip':>8}")
    for label, path in endpoints.items():
        median, raw, packed = measure(client, path, args.requests)
        base = base or median
        print(f"{label:34} {median:10.2f} {median / base:8.1f} {raw:8d} {packed:8d}")


if __name__ == "__main__":
    main()
