"""The load generator: raw HTTP/1.1 keep-alive over asyncio streams, run in its own process.

Closed loop (N connections, each sending as soon as the last answer came) measures
throughput; open loop (a fixed rate, whatever the answers do) measures latency.

Only successful requests count: their latencies and completion times are kept, every other
answer is an error with its reason (the GraphQL error code, the HTTP status, the exception).
Prepared work is either reused in turn (`cycle`, for requests that may be repeated) or sent
once each, the run stopping when it runs out (`exhausted_at` says when).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field

CODE = re.compile(rb'"code":\s*"([A-Z_]+)"')


@dataclass(frozen=True)
class FollowUp:
    """A second request made from the first one's answer: a confirm after a create. The
    body holds `__ID__` and `__SECRET__`, filled with the created intent's id and secret."""

    body: str
    ok: bytes
    path: str = "/graphql"


@dataclass
class Spec:
    host: str
    port: int
    requests: list[bytes]  # raw HTTP requests
    concurrency: int = 32
    duration: float = 10.0
    rate: float | None = None  # requests per second (open loop), or None (closed loop)
    ok: bytes = b""  # a marker every good response body contains
    cycle: bool = True  # reuse the requests in turn; False: each once, then stop
    then: FollowUp | None = None


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # successes only
    completed: list[float] = field(default_factory=list)  # wall clock of each success
    errors: Counter[str] = field(default_factory=Counter)  # reason -> count
    elapsed: float = 0.0
    exhausted_at: float | None = None  # seconds in, when the prepared work ran out
    # CPU seconds by part (bench.cpu) at the start and end of the measured loop, where the
    # load process takes them itself (a ceiling: its seeding is not the ceiling's cost)
    cpu: tuple[dict[str, float], dict[str, float]] | None = None

    @property
    def successes(self) -> int:
        return len(self.latencies)

    def record(self, ok: bool, begun: float, reason: str = "") -> None:
        if ok:
            self.latencies.append(time.perf_counter() - begun)
            self.completed.append(time.time())
        else:
            self.errors[reason] += 1


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


def failure(ok: bytes, status: int, body: bytes) -> str:
    """Why an answer is not a success; empty if it is one."""
    if status >= 400:
        return f"HTTP {status}" + (f" {CODE.search(body).group(1).decode()}"
                                   if CODE.search(body) else "")
    if b'"errors"' in body or b'"userErrors":[{' in body:
        found = CODE.search(body)
        return found.group(1).decode() if found else "GraphQL error without a code"
    if ok not in body:
        return f"answer without {ok.decode()!r}"
    return ""


async def exchange(connection: Connection, spec: Spec, raw: bytes) -> str:
    """Send one unit of work (a request and its follow-up, if any); the failure, or ''."""
    try:
        status, body = await connection.send(raw)
        reason = failure(spec.ok, status, body)
        if reason or spec.then is None:
            return reason
        status, body = await connection.send(follow_up(spec, body))
        reason = failure(spec.then.ok, status, body)
        return f"follow-up: {reason}" if reason else ""
    except (OSError, asyncio.IncompleteReadError) as error:
        connection.close()
        connection.writer = None
        return f"connection: {type(error).__name__}"


def follow_up(spec: Spec, body: bytes) -> bytes:
    intent = json.loads(body)["data"]["createPaymentIntent"]["paymentIntent"]
    filled = spec.then.body.replace("__ID__", intent["id"]).replace("__SECRET__",
                                                                     intent["clientSecret"])
    return http_request("POST", spec.then.path, spec.host, filled.encode())


class Work:
    """The prepared requests, in turn or each once."""

    def __init__(self, spec: Spec, result: Result, started: float) -> None:
        self.spec, self.result, self.started, self.next = spec, result, started, 0

    def take(self) -> bytes | None:
        index, self.next = self.next, self.next + 1
        if self.spec.cycle:
            return self.spec.requests[index % len(self.spec.requests)]
        if index < len(self.spec.requests):
            return self.spec.requests[index]
        if self.result.exhausted_at is None:
            self.result.exhausted_at = time.perf_counter() - self.started
        return None


async def closed_loop(spec: Spec) -> Result:
    result = Result()
    started = time.perf_counter()
    work = Work(spec, result, started)
    deadline = started + spec.duration

    async def client() -> None:
        connection = Connection(spec)
        try:
            while time.perf_counter() < deadline and (raw := work.take()) is not None:
                begun = time.perf_counter()
                reason = await exchange(connection, spec, raw)
                result.record(not reason, begun, reason)
        finally:
            connection.close()

    await asyncio.gather(*[client() for _ in range(spec.concurrency)])
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(spec: Spec) -> Result:
    """Work leaves on a fixed schedule; latency counts from the scheduled moment."""
    result = Result()
    idle: list[Connection] = [Connection(spec) for _ in range(spec.concurrency)]
    start = time.perf_counter() + 0.05
    work = Work(spec, result, start)
    scheduled = [(i, raw) for i in range(int(spec.duration * spec.rate))
                 if (raw := work.take()) is not None]
    if result.exhausted_at is not None:
        result.exhausted_at = len(scheduled) / spec.rate  # when the schedule runs dry

    async def one(index: int, raw: bytes) -> None:
        moment = start + index / spec.rate
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        connection = idle.pop() if idle else Connection(spec)
        reason = await exchange(connection, spec, raw)
        result.record(not reason, moment, reason)
        idle.append(connection)

    await asyncio.gather(*[one(i, raw) for i, raw in scheduled])
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
