"""The worker's `/metrics` (CONTRACT §16) on WORKER_METRICS_PORT: a minimal HTTP/1.1 server on
the worker's own event loop, so the backlog is read with the worker's database connection.

One request per connection; GET /metrics answers the text format, anything else 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CONTENT_TYPE_LATEST

from resolvers.metrics import scrape

log = logging.getLogger("gateway.worker")

READ_TIMEOUT_SECONDS = 5.0


async def start_metrics_server(host: str, port: int) -> asyncio.Server:
    server = await asyncio.start_server(_answer, host, port)
    log.info("worker metrics on http://%s:%d/metrics", host, port)
    return server


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_SECONDS)
        method, path = _request_line(head)
        if method == "GET" and path.split("?", 1)[0] == "/metrics":
            await _respond(writer, 200, CONTENT_TYPE_LATEST, await scrape())
        else:
            await _respond(writer, 404, "text/plain; charset=utf-8", b"not found\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
            ConnectionError):
        pass  # the client went away or sent no request: nothing to answer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return (parts[0], parts[1]) if len(parts) == 3 else ("", "")


async def _respond(writer: asyncio.StreamWriter, status: int, content_type: str,
                   body: bytes) -> None:
    reason = {200: "OK", 404: "Not Found"}[status]
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()
