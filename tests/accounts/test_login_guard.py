"""Login throttling by failures: the owner is never locked out by someone else's guessing
elsewhere, and `X-Forwarded-For` counts only from the proxies we trust."""

import pytest

from common.api import failures
from tests.accounts.helpers import assert_error
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


def login(api, phone="0900000001", password=PASSWORD, address="203.0.113.7", **headers):
    return api.post(
        TOKEN, {"phone": phone, "password": password}, format="json", REMOTE_ADDR=address, **headers
    )


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(failures, "clock", lambda: now[0])
    return now


def test_five_wrong_passwords_from_one_address_do_not_stop_the_owner_elsewhere(
    api, citizen_a, clock
):
    for _ in range(5):
        login(api, password="wrong", address="198.51.100.66")
    assert_error(login(api, address="198.51.100.66"), 429, "throttled")

    assert login(api, address="203.0.113.7").status_code == 200


def test_guessing_from_many_addresses_slows_the_phone_by_a_minute_at_most(api, citizen_a, clock):
    for attacker in range(30):
        login(api, password="wrong", address=f"198.51.100.{attacker}")

    waiting = login(api, address="203.0.113.7")

    assert_error(waiting, 429, "throttled")
    assert int(waiting["Retry-After"]) <= 60
    clock[0] += 60
    assert login(api, address="203.0.113.7").status_code == 200


def test_one_address_spraying_many_phones_runs_out_of_its_budget(api, citizen_a, clock):
    for number in range(50):
        login(api, phone=f"091234{number:04d}", password="wrong", address="198.51.100.9")

    response = login(api, address="198.51.100.9")

    assert_error(response, 429, "throttled")
    assert 3500 <= int(response["Retry-After"]) <= 3600
    assert login(api, address="203.0.113.7").status_code == 200


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(api, citizen_a, clock, settings):
    settings.TRUSTED_PROXIES = []
    for hop in range(5):
        login(api, password="wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{hop}")

    # Rotating the header does not escape: the socket's address is what counts.
    response = login(api, HTTP_X_FORWARDED_FOR="192.0.2.200")

    assert_error(response, 429, "throttled")


def test_forwarded_for_from_a_trusted_proxy_names_the_client(api, citizen_a, clock, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for _ in range(5):
        login(api, password="wrong", address="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.66")
    assert_error(
        login(api, address="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.66"), 429, "throttled"
    )

    # The same proxy for another client: that client is not held up. A hop the client wrote
    # itself (left of the proxy's) is not believed.
    owner = login(api, address="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.7")
    assert owner.status_code == 200


def test_client_address_reads_the_rightmost_untrusted_hop(rf, settings):
    from common.api.throttling import client_address

    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1/32"]
    request = rf.get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7, 10.0.0.5"
    )
    assert client_address(request) == "203.0.113.7"
    garbled = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_address(garbled) == "10.0.0.1"
    direct = rf.get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(direct) == "198.51.100.1"
