"""The webhook POST's HTTP client: aiohttp, whose pool and C parser cost a fraction of a
delivery's CPU where httpx (its pool, anyio and two writes a request) cost most of it.

It takes what resolvers/deliveries.post gives (the URL rewritten to the address checked
against SSRF, the `Host` header, `sni_hostname` for TLS) and answers a `Response` or raises
core.webhooks.TransportError: no answer (refused, reset, timed out, not HTTP). No redirects
are followed (a 3xx is a failed delivery), no cookies kept, no proxy taken from the
environment; a connection is reused for the same address, port and TLS name only.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import aiohttp
import certifi

from core.webhooks import TransportError

CONNECTIONS = 200  # open at once, all endpoints together (above deliveries.CONCURRENT_POSTS)
KEEP_ALIVE_SECONDS = 5.0  # an idle connection kept this long for the next POST to its origin


@dataclass(frozen=True)
class Response:
    status_code: int


class WebhookClient:
    """One per process; its session is made on first use, in the running event loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=CONNECTIONS, keepalive_timeout=KEEP_ALIVE_SECONDS,
                ssl=ssl.create_default_context(cafile=certifi.where()),
                use_dns_cache=False)  # the URL names the address checked; nothing to resolve
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"))
        return self._session

    async def post(self, url: str, *, content: str | bytes, headers: dict[str, str],
                   extensions: dict[str, str] | None = None, timeout: float = 30.0) -> Response:
        """POST and read the answer to its end (discarded), within `timeout` in all."""
        tls_name = (extensions or {}).get("sni_hostname")
        try:
            async with self._client().post(
                    url, data=content, headers=headers, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                    server_hostname=tls_name) as response:
                async for _ in response.content.iter_any():  # so the connection is reused
                    pass
                return Response(response.status)
        except TimeoutError:
            raise TransportError(f"Timeout: no answer within {timeout:g} s") from None
        except (aiohttp.ClientError, ValueError) as error:  # ValueError: a malformed URL
            raise TransportError(f"{type(error).__name__}: {error}") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await asyncio.sleep(0)  # lets the connector's transports close (aiohttp's advice)
