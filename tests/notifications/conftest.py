import itertools

import pytest

from notifications.fake_fcm import FakeFCMServer
from notifications.models import Device

_tokens = itertools.count(1)


@pytest.fixture(autouse=True)
def _broker_not_marked_down():
    # outbox.publish skips the broker for a few seconds after a failure; tests that make
    # it fail must not leave that to the next test.
    from notifications import outbox

    outbox._broker_down_until = 0.0
    yield
    outbox._broker_down_until = 0.0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The personas get real passwords; PBKDF2 would cost ~0.25 s per user here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_device():
    """Create a device for a user; tokens look like FCM's but are unique per test run."""

    def make(user, token=None, platform=Device.Platform.ANDROID, **fields):
        return Device.objects.create(
            user=user,
            token=token or f"fcm-token-{next(_tokens):04d}:APA91b-test",
            platform=platform,
            **fields,
        )

    return make


@pytest.fixture(scope="session")
def fake_fcm_server():
    server = FakeFCMServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_fcm(fake_fcm_server, settings, monkeypatch):
    """The real firebase-admin, pointed at the in-process fake FCM server."""
    from firebase_admin import _retry

    settings.PUSH_BACKEND = "fcm"
    settings.FCM_ENDPOINT = fake_fcm_server.base_url
    settings.FCM_PROJECT_ID = "demo-dichvu"
    settings.GOOGLE_APPLICATION_CREDENTIALS = ""
    fake_fcm_server.clear()

    # firebase-admin retries a 500/503 itself with 0.5 s · 2ⁿ sleeps; keep the suite fast.
    async def no_sleep(self, response):
        return None

    monkeypatch.setattr(_retry.HttpxRetry, "sleep", no_sleep)
    yield fake_fcm_server
    fake_fcm_server.clear()
