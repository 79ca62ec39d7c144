"""Webhook signing (Standard Webhooks), secrets, address rules and the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

SECRET_PREFIX = "whsec_"


class TransportError(Exception):
    """A webhook POST got no HTTP answer (refused, reset, timed out, not HTTP): a failed
    attempt, its message recorded as the delivery's error."""


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_in_use: Iterable[str], msg_id: str, timestamp: int,
                     body: str) -> str:
    """One signature per live secret, space-separated (the new and, for a while, the old)."""
    return " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets_in_use)


def payload_body(event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> str:
    body = {"id": event_id, "type": event_type, "created_at": created_at, "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=False)


NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
# Not global, though Python's tables call them so: site-local IPv6 (deprecated, still routed
# inside some networks) and the IETF protocol assignments block.
ALSO_PRIVATE = (ipaddress.ip_network("fec0::/10"), ipaddress.ip_network("192.0.0.0/24"))


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified ranges.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
    Teredo) is judged by every IPv4 address it carries as well (CONTRACT §12.8).
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    candidates = [ip, *(carried_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else [])]
    return all(_is_public(candidate) for candidate in candidates)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if any(ip.version == network.version and ip in network for network in ALSO_PRIVATE):
        return False
    return ip.is_global and not ip.is_multicast


def carried_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for, by every embedding in use."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    carried = []
    if ip.ipv4_mapped:
        carried.append(ip.ipv4_mapped)
    if ip in IPV4_COMPATIBLE or ip in IPV4_TRANSLATED or ip in NAT64_WELL_KNOWN:
        carried.append(low32)
    if ip in NAT64_LOCAL_USE:  # RFC 6052: a /48 prefix splits the IPv4 around the u octet
        value = int(ip)
        carried += [low32, ipaddress.IPv4Address(
            ((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF)]
    if ip.sixtofour:
        carried.append(ip.sixtofour)
    if ip.teredo:
        carried += list(ip.teredo)
    return carried


def next_retry_delay(schedule: Sequence[float], attempts_made: int) -> float | None:
    """Seconds to wait after the n-th failed attempt, or None when no attempt is left."""
    if attempts_made > len(schedule):
        return None
    return schedule[attempts_made - 1]


def is_success(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
