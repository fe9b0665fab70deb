"""The anonymous throttle: fixed windows counted in one cache round trip."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from common import cache as cache_module
from common.api import throttling

pytestmark = pytest.mark.django_db

CATALOG = "/api/v1/services/"


def test_an_address_gets_the_rate_then_429_with_the_rest_of_the_window(
    world, settings, monkeypatch
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "3/min",
        },
    }
    monkeypatch.setattr(throttling.GenerousAnonRateThrottle, "THROTTLE_RATES", {"anon": "3/min"})
    monkeypatch.setattr(throttling.GenerousAnonRateThrottle, "timer", lambda self: 6_000_010.0)
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    assert [client.get(CATALOG).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(CATALOG)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"  # the minute started at 6,000,000 s
    # Another address has its own count.
    assert APIClient(REMOTE_ADDR="203.0.113.8").get(CATALOG).status_code == 200
    # The next window starts afresh.
    monkeypatch.setattr(throttling.GenerousAnonRateThrottle, "timer", lambda self: 6_000_060.0)
    assert client.get(CATALOG).status_code == 200


def test_counting_on_a_cache_without_redis_starts_at_one():
    assert cache_module.count_in_window(cache, "window-test", 60) == 1
    assert cache_module.count_in_window(cache, "window-test", 60) == 2
