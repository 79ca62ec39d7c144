"""The client's address (CONTRACT §12.10): `X-Forwarded-For` only from a listed proxy.

One function decides the address every limit and every `Caller.ip` uses, for GraphQL and the
checkout alike. uvicorn runs with `proxy_headers=False`, so the peer address it reports is the
real socket peer and this is the only place a header can change it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

from core.config import get_settings

UNKNOWN = "unknown"


def client_ip(request: Any) -> str:
    """The address behind a Starlette request, believing proxies in FORWARDED_ALLOW_IPS."""
    peer = request.client.host if request.client else UNKNOWN
    return address_behind(peer, request.headers.getlist("x-forwarded-for"),
                          get_settings().forwarded_allow_ips)


def address_behind(peer: str, forwarded_for: Iterable[str], trusted: Iterable[str]) -> str:
    """Walk the chain back from the peer: each hop a trusted proxy reports is believed, and
    the first address that is not a trusted proxy is the client."""
    trusted = tuple(trusted)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    address = peer
    while is_trusted(address, trusted) and hops:
        address = hops.pop()
    return address


@functools.lru_cache(maxsize=4096)  # a few peers (the proxies, a load balancer) ask again and again
def is_trusted(address: str, trusted: tuple[str, ...]) -> bool:
    if "*" in trusted:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(network is not None and ip in network for network in map(_network, trusted))


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None
