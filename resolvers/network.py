"""Where webhooks may go: never to loopback, private or link-local hosts (SSRF guard).

The address that is checked is the address that is used (CONTRACT §12.8): `pinned_target`
resolves the host once and the delivery connects to that very IP, sending the host name in
the `Host` header and, for https, as the TLS server name. No second lookup can be steered
(DNS rebinding) to an address the check never saw.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from core.config import get_settings
from core.errors import invalid
from core.webhooks import is_public_address


class BlockedAddress(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """How to reach a webhook URL: the URL to connect to and what to send along."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


RESOLVE_SECONDS = 5.0  # a webhook host's name lookup, at most


async def addresses_of(url: str) -> list[str]:
    """The addresses the URL's host resolves to, IPv4 first; BlockedAddress unless every
    one is public (or private addresses are allowed)."""
    parts = urlsplit(url)
    try:
        # Bounded: a name server that stops answering must not hold a delivery past its lease
        async with asyncio.timeout(RESOLVE_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                type=socket.SOCK_STREAM)
    except TimeoutError:
        raise BlockedAddress(f"Cannot resolve {parts.hostname}: no answer within "
                             f"{RESOLVE_SECONDS:g} s") from None
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise BlockedAddress(f"Cannot resolve {parts.hostname}: {error}") from None
    addresses = sorted({info[4][0] for info in infos}, key=lambda a: ":" in a)
    if not addresses:
        raise BlockedAddress(f"{parts.hostname} has no address")
    if not get_settings().webhook_allow_private and not all(map(is_public_address, addresses)):
        raise BlockedAddress(f"{parts.hostname} resolves to a non-public address")
    return addresses


async def pinned_target(url: str) -> Target:
    """The URL rewritten to the checked address, with the host name kept for HTTP and TLS."""
    address = (await addresses_of(url))[0]
    parts = urlsplit(url)
    literal = f"[{address}]" if ipaddress.ip_address(address.split("%")[0]).version == 6 \
        else address
    userinfo, _, host_header = parts.netloc.rpartition("@")
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    netloc = f"{userinfo}@{netloc}" if userinfo else netloc
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return Target(urlunsplit(parts._replace(netloc=netloc)), {"host": host_header}, extensions)


async def check_webhook_url(url: str, field: str) -> None:
    """At the time a URL is set. In development (private addresses allowed) the host need
    not resolve yet; every delivery checks again anyway."""
    if get_settings().webhook_allow_private:
        return
    try:
        await addresses_of(url)
    except BlockedAddress as error:
        raise invalid(field, f"Webhook URL refused: {error}") from None
