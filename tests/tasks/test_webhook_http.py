"""The webhook POST's client (tasks/webhook_http.py, aiohttp) against a raw local HTTP
server."""

from __future__ import annotations

import asyncio

import pytest

from core.webhooks import TransportError
from tasks.webhook_http import WebhookClient
from tests.receiver import free_port


class RawServer:
    """Answers each request with `status`; counts connections; may close after each answer
    (as a server that drops idle keep-alive connections) or never answer."""

    def __init__(self, status: int = 200, close_after: bool = False, silent: bool = False):
        self.status, self.close_after, self.silent = status, close_after, silent
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                self.requests.append(head + await reader.readexactly(length))
                if self.silent:
                    await asyncio.sleep(10)
                writer.write(b"HTTP/1.1 %d X\r\ncontent-length: 2\r\n\r\nok" % self.status)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def serve(raw: RawServer) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook?x=1"


async def test_requests_share_a_kept_connection_and_carry_their_headers():
    raw = RawServer(status=202)
    server, url = await serve(raw)
    client = WebhookClient()
    try:
        for _ in range(3):
            response = await client.post(url, content='{"a":1}', timeout=5,
                                         headers={"host": "shop.example", "webhook-id": "evt"})
            assert response.status_code == 202
    finally:
        await client.aclose()
        server.close()
    assert raw.connections == 1
    first = raw.requests[0].decode().lower()
    assert first.startswith("post /hook?x=1 http/1.1\r\n")
    assert "host: shop.example\r\n" in first and "webhook-id: evt\r\n" in first
    assert "content-length: 7\r\n" in first and first.endswith('\r\n\r\n{"a":1}')
    assert "cookie" not in first and "accept-encoding" not in first


async def test_a_connection_the_server_dropped_is_replaced():
    raw = RawServer(status=500, close_after=True)
    server, url = await serve(raw)
    client = WebhookClient()
    try:
        for _ in range(2):
            response = await client.post(url, content="{}", headers={}, timeout=5)
            assert response.status_code == 500
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
        server.close()
    assert raw.connections == 2


async def test_no_answer_in_time_no_server_and_a_bad_header_are_transport_errors():
    raw = RawServer(silent=True)
    server, url = await serve(raw)
    client = WebhookClient()
    try:
        with pytest.raises(TransportError, match="no answer within 0.2 s"):
            await client.post(url, content="{}", headers={}, timeout=0.2)
        with pytest.raises(TransportError, match="Connect"):
            await client.post(f"http://127.0.0.1:{free_port()}/", content="{}", headers={},
                              timeout=2)
        with pytest.raises(TransportError):
            await client.post(url, content="{}", headers={"x": "a\r\ninjected: 1"}, timeout=2)
    finally:
        await client.aclose()
        server.close()
