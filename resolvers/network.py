"""Where webhooks may go: never to loopback, private or link-local hosts (SSRF guard)."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from core.config import get_settings
from core.errors import invalid
from core.webhooks import is_public_address


class BlockedAddress(Exception):
    pass


async def resolve_public(url: str) -> None:
    """Raise BlockedAddress unless every address the URL's host resolves to is public."""
    if get_settings().webhook_allow_private:
        return
    parts = urlsplit(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise BlockedAddress(f"Cannot resolve {parts.hostname}: {error}") from None
    for info in infos:
        if not is_public_address(info[4][0]):
            raise BlockedAddress(f"{parts.hostname} resolves to a non-public address")


async def check_webhook_url(url: str, field: str) -> None:
    try:
        await resolve_public(url)
    except BlockedAddress as error:
        raise invalid(field, f"Webhook URL refused: {error}") from None
