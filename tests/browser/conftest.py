"""Real-browser tests of the staff admin: Debian's Chromium driven by Playwright.

One headless Chromium for all of them, one fresh context per test. No Playwright-downloaded
browser: the system binary (`apt-get install chromium`) is launched directly. Without it the
tests skip locally, and `.ci/run` (REQUIRE_SERVICES=1) turns that skip into a failure, since
`browser` is one of the service markers.

pytest-playwright keeps Playwright (and so a running asyncio loop in the main thread) for the
whole session. Here Playwright and the browser are package-scoped instead: they stop after the
last test of this folder, so the rest of the suite runs as without them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# How long expect() waits for a page to show what it should. Pages take well under a second;
# the margin is for a CI machine shared with other jobs, and costs nothing when they pass.
TIMEOUT_MS = 20_000


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    )
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not chromium_available():
                item.add_marker(skip)


@pytest.fixture(scope="package", autouse=True)
def _async_unsafe_allowed() -> Iterator[None]:
    # Playwright's sync API runs an asyncio loop in the main thread while it is alive;
    # Django would then refuse every ORM call the test itself makes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def playwright(_async_unsafe_allowed: None) -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    started = sync_playwright().start()
    yield started
    started.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def launch_browser(
    browser_type: BrowserType, browser_type_launch_args: dict[str, Any]
) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    started = launch_browser()
    yield started
    started.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    # An English browser, on purpose: the admin must still answer in Vietnamese.
    return {
        "locale": "en-US",
        "extra_http_headers": {"Accept-Language": "en-US,en;q=0.9"},
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture(autouse=True)
def _expect_timeout() -> Iterator[None]:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    yield


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], Path]:
    """Save a full-page screenshot as tests/artifacts/<name>.png (not committed)."""

    def save(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
