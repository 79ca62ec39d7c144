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


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified ranges."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def next_retry_delay(schedule: Sequence[float], attempts_made: int) -> float | None:
    """Seconds to wait after the n-th failed attempt, or None when no attempt is left."""
    if attempts_made > len(schedule):
        return None
    return schedule[attempts_made - 1]


def is_success(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
