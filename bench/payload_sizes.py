"""Sizes of the screens a phone opens most: identity, gzip and Brotli, as the API sends them.

Runs the scenarios of `tests/common/test_byte_budgets.py` (demo catalog, a birth registration
with five events, an inbox of twenty real notifications, the "home sync") through the real
middleware and prints each body's size per encoding, with the budget it is held to:

    DJANGO_ENV=test .venv/bin/python bench/payload_sizes.py

SQLite in a temporary database by default; the sizes do not depend on the database.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_ENV", "test")

import pytest  # noqa: E402

BUDGETS_KB = {
    "catalog page (20 services)": 4,
    "dossier detail (5 events)": 3,
    "inbox page (20)": 4,
    "home sync (total)": 8,
}


class Report:
    """A pytest plugin that prints what the budget tests measured."""

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from tests.common.test_byte_budgets import MEASURED

        print()
        print(f"{'response':36} {'identity':>9} {'gzip':>7} {'br':>7} {'gzip %':>7} {'budget':>7}")
        for name, sizes in MEASURED.items():
            budget = BUDGETS_KB.get(name)
            ratio = 100 * sizes["gzip"] / sizes["identity"]
            print(
                f"{name:36} {sizes['identity']:9,} {sizes['gzip']:7,} {sizes['br']:7,} "
                f"{ratio:6.0f}% {f'{budget} KB' if budget else '':>7}"
            )


if __name__ == "__main__":
    sys.exit(
        pytest.main(
            [
                str(ROOT / "tests/common/test_byte_budgets.py"),
                "-q",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(ROOT),
            ],
            plugins=[Report()],
        )
    )
