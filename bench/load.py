"""The load generator: raw HTTP/1.1 keep-alive over asyncio streams, run in its own process.

Closed loop (N connections, each sending as soon as the last answer came) measures
throughput; open loop (a fixed rate, whatever the answers do) measures latency.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Spec:
    host: str
    port: int
    requests: list[bytes]  # raw HTTP requests, used in turn
    concurrency: int = 32
    duration: float = 10.0
    rate: float | None = None  # requests per second (open loop), or None (closed loop)
    ok: bytes = b""  # a marker every good response body contains


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0


def http_request(method: str, path: str, host: str, body: bytes = b"",
                 headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        try:
            return await self._send(raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()  # the server closed an idle keep-alive connection: reconnect once
            self.writer = None
            return await self._send(raw)

    async def _send(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.spec.host,
                                                                     self.spec.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def good(spec: Spec, status: int, body: bytes) -> bool:
    return status < 400 and spec.ok in body and b'"errors"' not in body and \
        b'"userErrors":[{' not in body


async def closed_loop(spec: Spec) -> Result:
    result = Result()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + spec.duration

    async def client() -> None:
        connection = Connection(spec)
        try:
            while time.perf_counter() < deadline:
                raw = spec.requests[next(counter) % len(spec.requests)]
                started = time.perf_counter()
                status, body = await connection.send(raw)
                result.latencies.append(time.perf_counter() - started)
                result.errors += not good(spec, status, body)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(spec.concurrency)])
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(spec: Spec) -> Result:
    """Requests leave on a fixed schedule; latency counts from the scheduled moment."""
    result = Result()
    idle: list[Connection] = [Connection(spec) for _ in range(spec.concurrency)]
    total = int(spec.duration * spec.rate)
    start = time.perf_counter() + 0.05

    async def one(index: int) -> None:
        scheduled = start + index / spec.rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        connection = idle.pop() if idle else Connection(spec)
        status, body = await connection.send(spec.requests[index % len(spec.requests)])
        result.latencies.append(time.perf_counter() - scheduled)
        result.errors += not good(spec, status, body)
        idle.append(connection)

    await asyncio.gather(*[one(i) for i in range(total)])
    result.elapsed = time.perf_counter() - start
    for connection in idle:
        connection.close()
    return result


def run(spec: Spec) -> Result:
    """Entry point of the load process."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(open_loop(spec) if spec.rate else closed_loop(spec))
