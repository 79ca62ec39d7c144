"""Live updates (CONTRACT §15): commit-to-subscriber latency and the memory of idle
subscriptions, against a real `python main.py serve`.

    python -m bench.live [--embedded] [--subscriptions 1000] [--rate 100] [--seconds 10]
                         [--idle 10000]

By default the API runs as a fleet does (`make bench`'s mode): a fresh PostgreSQL database,
Redis wake-ups, two API processes: the changes are made through one, the subscriptions held
by the other (so a change crosses processes, and the process measured is not also the one
answering the mutations). `--embedded` measures `make run`'s mode instead (SQLite,
in-process wake-ups, one process for both).

Rows printed:
- latency: of the open subscriptions, RECEIVING get every change (`payment_intent.created`),
  the others filter for a type never made. Changes are creates, sent at `--rate` a second,
  open loop, over raw HTTP from a process of their own (`send_creates`): this process only
  reads the sockets, and stamps each message as it reads it, so a busy client does not pass
  for a slow gateway. One sample per successful create, at one receiving subscriber: from
  the event's `createdAt` (stamped inside the transaction, on this machine's clock: an upper
  bound of commit-to-subscriber, as it includes the rest of the writer's transaction) to its
  arrival; the figure from the mutation's answer to arrival (a lower bound, 0 when the event
  came first) is printed beside it. Then the CPU time the subscriptions' API process spent
  per message it sent (every receiving subscription's, over the whole run: the hub's reads,
  the executions, the sockets, its pings and re-authorizations), and this reading process's
  own. Target p99 < 50 ms.
- memory: the API process's RSS holding `--idle` idle subscriptions. Target < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path

import httpx
import websockets

from bench import load
from client import Gateway, onboard

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PER_CONNECTION = 50
CREATE = """mutation($input: CreatePaymentIntentInput!) { createPaymentIntent(input: $input) {
  paymentIntent { id } userErrors { code } } }"""
EVENTS = "subscription($types: [String!]) { events(types: $types) { id createdAt data } }"
RECEIVING = 10  # subscriptions that get every change; the rest are open, filtering them out


@contextlib.contextmanager
def servers(embedded: bool, data_dir: Path) -> Iterator[list[tuple[str, int]]]:
    """The API processes, as (base URL, pid): in a fleet, one taking the changes and one
    holding the subscriptions (commit-to-subscriber crosses processes, through Redis, and the
    process measured is not also busy answering the mutations); embedded, one for both."""
    from tests.receiver import free_port

    env = {**os.environ, "DATA_DIR": str(data_dir), "WORKERS": "1", "LOG_LEVEL": "warning",
           "RATE_LIMIT_IP_PER_SECOND": "100000", "RATE_LIMIT_KEY_PER_SECOND": "100000",
           "WEBSOCKET_HANDSHAKES_PER_MINUTE": "100000"}
    with contextlib.ExitStack() as stack:
        if embedded:
            env.pop("DATABASE_URL", None)
            env.pop("REDIS_URL", None)
        else:
            name = f"gateway_live_{secrets.token_hex(4)}"
            env.update(DATABASE_URL=stack.enter_context(pg_database(name)),
                       REDIS_URL=REDIS_URL, ARQ_QUEUE_NAME=f"arq:queue:bench:{name}")
        started = []
        for _ in range(1 if embedded else 2):  # one after the other: the first migrates
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            process = stack.enter_context(serve({**env, "PORT": str(port),
                                                 "PUBLIC_BASE_URL": base}))
            started.append((base, process.pid))
        yield started


@contextlib.contextmanager
def serve(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen([sys.executable, "main.py", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(env["PUBLIC_BASE_URL"], process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def pg_database(name: str) -> Iterator[str]:
    import asyncpg

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the gateway did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_connection(url: str, api_key: str, subscriptions: int,
                          receiving: int = 0) -> websockets.ClientConnection:
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"],
                                      max_queue=None)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"apiKey": api_key}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    for number in range(subscriptions):
        wanted = "payment_intent.created" if number < receiving else "payment_intent.refunded"
        await socket.send(json.dumps({"id": str(number), "type": "subscribe", "payload": {
            "query": EVENTS, "variables": {"types": [wanted]}}}))
    return socket


async def open_many(url: str, api_key: str, total: int, receiving: int = 0) -> list:
    sockets = []
    while total > 0:
        sockets.append(await open_connection(url, api_key, min(PER_CONNECTION, total),
                                             receiving if not sockets else 0))
        total -= PER_CONNECTION
    return sockets


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settled(pid: int) -> None:
    """Until the API process has worked through the subscribe messages: its CPU time grows
    by under a tenth of the time passing."""
    before = cpu_seconds(pid)
    while True:
        await asyncio.sleep(1.0)
        now = cpu_seconds(pid)
        if now - before < 0.1:
            return
        before = now


def send_creates(base: str, api_key: str, rate: float, seconds: float
                 ) -> tuple[dict[str, float], int]:
    """In a process of its own: creates at `rate` a second on a fixed schedule (open loop),
    raw HTTP/1.1 keep-alive as bench.load sends; each created intent's id with the wall
    clock of its answer, and how many failed."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps({"query": CREATE, "variables": {"input": {
        "amount": 100, "currency": "USD", "successUrl": "https://example.com/ok"}}}).encode()
    raw = load.http_request("POST", "/graphql", f"{host}:{port}", body, {"X-API-Key": api_key})
    spec = load.Spec(host=host, port=int(port), requests=[raw])
    answered: dict[str, float] = {}
    failed = 0

    async def schedule() -> None:
        idle: list[load.Connection] = []
        started = time.monotonic() + 0.05

        async def create(number: int) -> None:
            nonlocal failed
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
            connection = idle.pop() if idle else load.Connection(spec)
            try:
                _, answer = await connection.send(raw)
                intent = json.loads(answer)["data"]["createPaymentIntent"]["paymentIntent"]
                answered[intent["id"]] = time.time()
                idle.append(connection)
            except Exception:  # noqa: BLE001 - counted, not sampled
                connection.close()
                failed += 1

        await asyncio.gather(*[create(number) for number in range(int(rate * seconds))])
        for connection in idle:
            connection.close()

    asyncio.run(schedule())
    return answered, failed


@dataclass
class Arrivals:
    """What the receiving subscriptions got: every message counted, and for subscription
    "0" each intent's (arrival, event's createdAt), stamped when this process read it."""

    first: dict[str, tuple[float, float]] = field(default_factory=dict)
    messages: int = 0

    async def read(self, socket: websockets.ClientConnection) -> None:
        async for raw in socket:
            moment = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            self.messages += 1
            if message["id"] == "0":
                event = message["payload"]["data"]["events"]
                created = datetime.fromisoformat(event["createdAt"]).timestamp()
                self.first[event["data"]["object"]["id"]] = (moment, created)


@dataclass
class Latency:
    from_commit: list[float]
    from_answer: list[float]
    lost: int
    server_cpu_ms: float  # the subscriptions' API process, per message it sent
    client_cpu_ms: float  # this reading process, per message it read


async def latency(writer: str, reader: str, api_key: str, pid: int, subscriptions: int,
                  rate: float, seconds: float) -> Latency:
    """Creates sent to `writer` from another process, subscriptions held on `reader`."""
    sockets = await open_many(reader.replace("http", "ws") + "/graphql", api_key,
                              subscriptions, RECEIVING)
    await settled(pid)
    arrivals = Arrivals()
    readers = [asyncio.create_task(arrivals.read(socket)) for socket in sockets]
    server_before, client_before = cpu_seconds(pid), time.process_time()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        answered, failed = await asyncio.get_running_loop().run_in_executor(
            pool, send_creates, writer, api_key, rate, seconds)
    await asyncio.sleep(2)
    server_cpu, client_cpu = cpu_seconds(pid) - server_before, \
        time.process_time() - client_before
    for task in readers:
        task.cancel()
    for socket in sockets:
        await socket.close()
    arrived = arrivals.first
    messages = max(1, arrivals.messages)
    return Latency(
        from_commit=[(arrived[i][0] - arrived[i][1]) * 1000 for i in answered if i in arrived],
        from_answer=[max(0.0, arrived[i][0] - answered[i]) * 1000 for i in answered
                     if i in arrived],
        lost=failed + len([i for i in answered if i not in arrived]),
        server_cpu_ms=server_cpu * 1000 / messages, client_cpu_ms=client_cpu * 1000 / messages)


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def measure(args: argparse.Namespace, processes: list[tuple[str, int]]) -> None:
    writer, (reader, pid) = processes[0][0], processes[-1]
    async with httpx.AsyncClient(base_url=writer, timeout=30) as http:
        merchant = await onboard(Gateway(http), name="Bench", password="bench pass 12345",
                                 email=f"bench-{time.time_ns()}@example.com",
                                 business_name="Bench", merchant_email="b@example.com")
    if args.subscriptions:
        result = await latency(writer, reader, merchant.api_key, pid, args.subscriptions,
                               args.rate, args.seconds)
        commit, answer = result.from_commit, result.from_answer
        print(f"live latency  {args.subscriptions} subscriptions, {args.rate:g} changes/s: "
              f"p50 {percentile(commit, 0.5):.1f} ms  p99 {percentile(commit, 0.99):.1f} ms "
              f"from commit (from the mutation's answer: p50 {percentile(answer, 0.5):.1f} ms "
              f" p99 {percentile(answer, 0.99):.1f} ms); {len(commit)} changes, {result.lost} "
              f"failed or never arrived; CPU per message sent {result.server_cpu_ms:.2f} ms "
              f"(the reading client: {result.client_cpu_ms:.2f} ms); target p99 < 50 ms",
              flush=True)
    if args.idle:
        before = rss_mb(pid)
        sockets = await open_many(reader.replace("http", "ws") + "/graphql", merchant.api_key,
                                  args.idle)
        await settled(pid)
        after = rss_mb(pid)
        print(f"live memory   {args.idle} idle subscriptions: API process RSS {after:.0f} MB "
              f"({after - before:+.0f} MB for them); target < 300 MB", flush=True)
        for socket in sockets:
            await socket.close()


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as data_dir, \
            servers(args.embedded, Path(data_dir)) as processes:
        mode = "embedded, SQLite, one API process" if args.embedded else \
            "fleet, PostgreSQL + Redis: changes through one API process, subscriptions on another"
        print(f"live: {mode}", flush=True)
        with contextlib.suppress(ImportError):
            import uvloop  # the reading client's loop: the cheaper, the less it delays
            uvloop.install()
        asyncio.run(measure(args, processes))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live")
    parser.add_argument("--embedded", action="store_true",
                        help="SQLite and in-process wake-ups (default: PostgreSQL + Redis)")
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--idle", type=int, default=10_000)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
