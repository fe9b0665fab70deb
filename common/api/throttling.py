"""Throttles. Login is keyed on the phone number and lookups on the tracking code, not the IP:
a whole village often shares one carrier IP, so per-IP limits stay generous.

The client's address is the socket's, unless that is a proxy listed in `TRUSTED_PROXIES`
(CIDR networks): then the right-most `X-Forwarded-For` hop that is not a trusted proxy.
A header from anyone else changes nothing (`client_address`).
"""

import hashlib
import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from common.cache import count_in_window
from common.phones import normalize_phone
from common.tracking import normalize_tracking_code

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Any) -> str:
    """The address a request came from, trusting `X-Forwarded-For` only from the proxies in
    `TRUSTED_PROXIES`."""
    meta = getattr(request, "META", {})
    remote = str(meta.get("REMOTE_ADDR", ""))
    networks = trusted_proxies()
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                # A garbled hop written by the client itself: the proxy's view is all we know.
                return remote
    return remote


class AddressMixin:
    """DRF's `get_ident` reads `X-Forwarded-For` from anyone; ours only from our proxies."""

    def get_ident(self, request: Any) -> str:
        return client_address(request)


class GenerousAnonRateThrottle(AddressMixin, AnonRateThrottle):
    """Anonymous requests per address, counted in fixed windows of the rate's period: one
    Redis round trip (`common.cache.count_in_window`) where DRF's sliding log reads and
    writes back a pickled list of up to `THROTTLE_ANON` timestamps (two round trips, and the
    catalog's busiest callers share one carrier address). A window's edge may let through up
    to twice the rate within one period; for a limit this generous that is fine."""

    scope = "anon"

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or not duration:
            return True
        self.now = self.timer()
        window = int(self.now // duration)
        self.window_end = (window + 1) * duration
        count = count_in_window(self.cache, f"{self.key}:{window}", int(duration) + 1)
        return count <= num_requests

    def wait(self) -> float:
        return max(1.0, self.window_end - self.now)


def phone_key(request: Any) -> str | None:
    """The body's `phone` as a cache key: every format of one number gives the same key (an
    unparseable one is hashed, so the key stays safe); None without a phone."""
    raw = request.data.get("phone") if hasattr(request.data, "get") else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    return normalize_phone(raw) or hashlib.sha256(raw.strip().encode()).hexdigest()


class PhoneRateThrottle(SimpleRateThrottle):
    """Counts attempts per normalised phone number found in the request body."""

    scope = "login"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        phone = phone_key(request)
        if phone is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": phone}


class RegisterThrottle(PhoneRateThrottle):
    scope = "register"


class UserWriteThrottle(SimpleRateThrottle):
    scope = "user_write"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TrackingCodeRateThrottle(SimpleRateThrottle):
    """Counts lookups per tracking code, however many addresses they come from.

    A code plus the last 4 digits of a phone is the whole secret of a public lookup; keying
    on the code keeps guessing those digits slow even for someone with many IPs. The view
    names its code prefix in `tracking_code_prefix`.
    """

    scope = "lookup"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        raw = request.query_params.get("tracking_code", "")
        if not raw.strip():
            return None
        prefix = getattr(view, "tracking_code_prefix", "")
        # Every spelling of one code counts together; anything else is hashed into a safe key.
        ident = (
            normalize_tracking_code(raw, prefix)
            or hashlib.sha256(raw.strip().upper().encode()).hexdigest()
        )
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ClaimThrottle(PhoneRateThrottle):
    """Claim codes sent per phone: each one is an SMS, and each allows a few guesses."""

    scope = "claim"


class OtpAddressThrottle(AddressMixin, SimpleRateThrottle):
    """One-time codes asked from one address, whatever the phones: each is an SMS we pay
    for. Per phone the codes themselves are limited (`accounts.otp`)."""

    scope = "otp"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
