"""Where webhooks may go: checked when a subscription is made and again at every delivery.

Outside `WEBHOOK_ALLOW_PRIVATE` (off in prod) an address that is private, loopback,
link-local, shared (CGNAT), multicast or otherwise not global is refused, whether written as
an IP or reached through DNS. At delivery the check runs on the addresses the name resolves
to *then*, and the connection goes to the address that passed, so a name that changes its
answer between the check and the connect (DNS rebinding) cannot slip through. TLS still
verifies the certificate against the name. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext_lazy as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    """The receiver resolves to an address webhooks may not reach."""


# How a refused address reads in the connection error httpx raises.
BLOCKED_PREFIX = "blocked: "


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def checked_addresses(host: str, port: int) -> list[Address]:
    """`resolve(host, port)`, refusing with `BlockedAddress` when any is not public."""
    addresses = resolve(host, port)
    if not addresses:
        raise BlockedAddress(f"{host} has no address")
    if not allow_private():
        blocked = [str(address) for address in addresses if not is_public(address)]
        if blocked:
            raise BlockedAddress(f"{host} resolves to a non-public address ({blocked[0]})")
    return addresses


def url_problem(url: str) -> Any:
    """Why `url` cannot receive webhooks (a message for people), or None when it can."""
    parts = urlsplit(url)
    https_only = bool(getattr(settings, "WEBHOOK_HTTPS_ONLY", True))
    schemes = ("https",) if https_only else ("https", "http")
    if parts.scheme not in schemes:
        return _("The URL must use https.") if https_only else _("The URL must use http(s).")
    if not parts.hostname:
        return _("The URL needs a host.")
    if parts.username or parts.password:
        return _("The URL must not hold credentials.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _("The URL's port is not valid.")
    if allow_private():
        return None
    if parts.hostname.lower().rstrip(".").endswith("localhost"):
        return _("The URL must point to a public address.")
    try:
        checked_addresses(parts.hostname, port)
    except BlockedAddress:
        return _("The URL must point to a public address.")
    except OSError:
        return _("The URL's host name could not be resolved.")
    return None


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves, checks and connects to the checked address (`checked_addresses`)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port)
        except BlockedAddress as exc:
            raise httpcore.ConnectError(f"{BLOCKED_PREFIX}{exc}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"could not connect to {host}")


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool that dials only checked addresses."""

    def __init__(self) -> None:
        super().__init__(retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_CheckedBackend()
        )


def client(timeout: float) -> httpx.Client:
    """An HTTP client for webhook deliveries: checked addresses, no redirects, no proxies
    from the environment."""
    return httpx.Client(
        transport=CheckedTransport(), timeout=timeout, follow_redirects=False, trust_env=False
    )
