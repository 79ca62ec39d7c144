"""`make bench`: the gateway as a fleet runs it, driven over real HTTP from another process.

A fresh PostgreSQL database and Redis queue, `python main.py serve` with BENCH_API_WORKERS (2)
uvicorn processes, BENCH_ARQ_WORKERS (1) `python main.py worker` processes, a webhook receiver
in this process, and the load generator in a third. Prints one table and writes
bench/results/latest.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import asyncpg
import httpx

from bench import ceiling, load
from client import Gateway, onboard
from client.onboarding import set_webhook_url

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
API_WORKERS = int(os.environ.get("BENCH_API_WORKERS", "2"))
ARQ_WORKERS = int(os.environ.get("BENCH_ARQ_WORKERS", "1"))
DURATION = float(os.environ.get("BENCH_DURATION", "10"))
CONCURRENCY = 32
RATE = 100
EXPIRIES = int(os.environ.get("BENCH_EXPIRIES", "100000"))
RESULTS = ROOT / "bench" / "results"

CREATE = ("mutation($input: CreatePaymentIntentInput!) { createPaymentIntent(input: $input) "
          "{ paymentIntent { id status } userErrors { code message } } }")
CONFIRM = ("mutation($input: ConfirmPaymentIntentInput!) { confirmPaymentIntent(input: $input) "
           "{ checkoutSession { id status } userErrors { code message } } }")


@dataclass
class Row:
    scenario: str
    throughput: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    note: str = ""


def summarise(name: str, result: load.Result, note: str = "") -> Row:
    ordered = sorted(result.latencies)
    return Row(name, len(ordered) / result.elapsed if result.elapsed else None,
               percentile(ordered, 50) * 1000, percentile(ordered, 99) * 1000,
               result.errors, note)


def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A bare asyncio HTTP server: records each webhook's arrival against its created_at."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[tuple[float, float, str]] = []  # (arrived, created, event id)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = json.loads(await reader.readexactly(length))
                created = datetime.fromisoformat(body["created_at"]).timestamp()
                self.arrivals.append((time.time(), created, body["id"]))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


class Fleet:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def run(self, *args: str) -> None:
        subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def start_api(self) -> None:
        self.api = subprocess.Popen([sys.executable, "main.py", "serve"], cwd=ROOT,
                                    env=self.env, stdout=subprocess.DEVNULL)

    def start_workers(self, count: int) -> None:
        self.workers += [subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT,
                                          env=self.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL) for _ in range(count)]

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(timeout=30)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        if self.api:
            self.api.terminate()
            self.api.wait(timeout=30)

    def processes(self) -> dict[str, int]:
        """Every gateway process: the uvicorn workers (children of serve) and the arq workers."""
        found = {"serve (uvicorn supervisor)": self.api.pid}
        children = subprocess.run(["pgrep", "-P", str(self.api.pid)], capture_output=True,
                                  text=True).stdout.split()
        workers = [pid for pid in children  # not multiprocessing's resource tracker
                   if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        for index, pid in enumerate(workers):
            found[f"api-{index + 1}"] = int(pid)
        for index, worker in enumerate(self.workers):
            found[f"worker-{index + 1}"] = worker.pid
        return found


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("gateway did not start")


async def open_merchant(url: str, webhook_url: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        gateway = Gateway(http)
        merchant = await onboard(gateway, name="Bench",
                                 email=f"bench-{secrets.token_hex(4)}@example.com",
                                 password="bench password 1", business_name="Bench",
                                 merchant_email="b@bench.test")
        await set_webhook_url(gateway, merchant.owner, merchant.id, webhook_url)
    return merchant.id, merchant.api_key


def graphql_request(host: str, query: str, variables: dict, **headers: str) -> bytes:
    body = json.dumps({"query": query, "variables": variables}).encode()
    return load.http_request("POST", "/graphql", host, body, headers)


def create_requests(host: str, key: str, count: int = 64) -> list[bytes]:
    return [graphql_request(host, CREATE, {"input": {
        "amount": 1000 + i, "currency": "USD", "successUrl": "https://shop.test/ok",
        "orderId": f"o-{i}"}}, **{"X-API-Key": key}) for i in range(count)]


async def fresh_intents(dsn: str, merchant_id: str, count: int) -> list[tuple[str, str]]:
    """Intents awaiting payment, written straight to the database (ids and client secrets)."""
    moment = datetime.now(UTC)
    rows = [ceiling.intent_row(merchant_id, moment + timedelta(hours=1), moment)
            for _ in range(count)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(ceiling.INSERT_INTENT, rows)
    finally:
        await connection.close()
    return [(row[0], row[4]) for row in rows]


def confirm_requests(host: str, intents: list[tuple[str, str]]) -> list[bytes]:
    card = {"number": "4242424242424242", "cardholderName": "Bench", "expMonth": 12,
            "expYear": 2035, "cvc": "123"}
    return [graphql_request(host, CONFIRM, {"input": {"id": intent_id, "clientSecret": secret,
                                                      "card": card}})
            for intent_id, secret in intents]


async def insert_overdue(dsn: str, merchant_id: str, count: int) -> None:
    moment = datetime.now(UTC)
    rows = [ceiling.intent_row(merchant_id, moment - timedelta(minutes=5),
                               moment - timedelta(hours=1)) for _ in range(count)]
    records = [(r[0], r[1], "AWAITING_PAYMENT_METHOD", r[2], "USD", "AUTOMATIC", r[3], r[4],
                r[5], r[6], r[6], 0, 5, 0, 0, 0, 0) for r in rows]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table("payment_intents", records=records, columns=[
            "id", "merchant_id", "status", "amount", "currency", "capture_method",
            "success_url", "client_secret", "expires_at", "created_at", "updated_at",
            "attempt_count", "max_attempts", "amount_capturable", "amount_captured",
            "amount_refunded", "version"])
    finally:
        await connection.close()


async def time_expiry(database_url: str) -> float:
    from core.config import load_settings, use_settings
    from models import db
    from resolvers import payment_intents

    use_settings(load_settings({"DATABASE_URL": database_url, "DATA_DIR": "/tmp/bench"}))
    await db.connect(database_url)
    try:
        started = time.perf_counter()
        await payment_intents.expire_due()
        return time.perf_counter() - started
    finally:
        await db.disconnect()


class Bench:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))

    async def load(self, spec: load.Spec) -> load.Result:
        return await asyncio.get_running_loop().run_in_executor(self.pool, load.run, spec)

    async def measure(self, name: str, spec: load.Spec, note: str = "") -> Row:
        row = summarise(name, await self.load(spec), note)
        self.rows.append(row)
        print(f"  {name}: {row.throughput:,.0f}/s p50 {row.p50_ms:.2f} ms "
              f"p99 {row.p99_ms:.2f} ms errors {row.errors}", flush=True)
        return row


async def main() -> int:
    run_id = secrets.token_hex(4)
    name = f"gateway_bench_{run_id}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"{dsn}?minsize=4&maxsize=20", "REDIS_URL": REDIS_URL,
           "ARQ_QUEUE_NAME": f"arq:queue:bench:{run_id}", "PORT": str(port),
           "WORKERS": str(API_WORKERS), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "DATA_DIR": f"/tmp/gateway-bench-{run_id}", "WEBHOOK_ALLOW_PRIVATE": "1",
           "RATE_LIMIT_IP_PER_SECOND": "1000000", "RATE_LIMIT_KEY_PER_SECOND": "1000000",
           "LOG_LEVEL": "warning", "JWT_SECRET": secrets.token_urlsafe(32)}
    fleet = Fleet(env)
    bench = Bench()
    receiver = Receiver()
    await receiver.start()
    try:
        fleet.run("migrate")
        fleet.start_api()
        fleet.start_workers(ARQ_WORKERS)
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url)
        merchant, key = await open_merchant(url, f"http://127.0.0.1:{receiver.port}/hook")
        await run_scenarios(bench, fleet, receiver, dsn, env["DATABASE_URL"], port, merchant,
                            key)
        report(bench.rows, memory(fleet), env)
    finally:
        fleet.stop()
        bench.pool.shutdown()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return 0


async def run_scenarios(bench: Bench, fleet: Fleet, receiver: Receiver, dsn: str,
                        database_url: str, port: int, merchant: str, key: str) -> None:
    host = f"127.0.0.1:{port}"
    closed = {"host": "127.0.0.1", "port": port, "concurrency": CONCURRENCY,
              "duration": DURATION}
    print(f"Scenarios: {DURATION:.0f} s each, concurrency {CONCURRENCY}, fixed rate {RATE}/s")
    typename = [graphql_request(host, "{ __typename }", {})]
    await bench.measure("warm-up", load.Spec(**{**closed, "duration": 3}, requests=typename))
    bench.rows.pop()
    floor = await bench.measure("floor: GraphQL { __typename }", load.Spec(
        **closed, requests=typename, ok=b"Query"))
    await bench.measure("floor: Starlette JSON route (/healthz)", load.Spec(
        **closed, requests=[load.http_request("GET", "/healthz", host)], ok=b"ok"))
    ceiling_row = summarise("ceiling: asyncpg intent + event", await asyncio.get_running_loop(
    ).run_in_executor(bench.pool, ceiling.run, dsn, merchant, CONCURRENCY, DURATION))
    bench.rows.append(ceiling_row)
    print(f"  ceiling: {ceiling_row.throughput:,.0f}/s", flush=True)

    creates = create_requests(host, key)
    sent_from = time.time()  # at a steady 100/s the workers keep up: arrival is latency
    await bench.measure("createPaymentIntent, 100/s", load.Spec(
        **{**closed, "rate": RATE}, requests=creates, ok=b"AWAITING"))
    await asyncio.sleep(2)
    webhook_latencies(bench, receiver, sent_from)
    create = await bench.measure("createPaymentIntent, c=32", load.Spec(
        **closed, requests=creates, ok=b"AWAITING"))
    create.note = ratios(create, floor, ceiling_row)

    intents = await fresh_intents(dsn, merchant, int(DURATION * 900) + RATE * int(DURATION))
    confirms = confirm_requests(host, intents)
    confirm = await bench.measure("confirmPaymentIntent (4242), c=32", load.Spec(
        **closed, requests=confirms[:-RATE * int(DURATION)], ok=b"CAPTURED"))
    confirm.note = f"{confirm.throughput / floor.throughput:.2f} x floor"
    await bench.measure("confirmPaymentIntent (4242), 100/s", load.Spec(
        **{**closed, "rate": RATE}, requests=confirms[-RATE * int(DURATION):], ok=b"CAPTURED"))

    await drain_rate(bench, fleet, receiver, closed, creates, floor, ceiling_row)
    fleet.memory = {name: memory_mb(pid) for name, pid in fleet.processes().items()}
    fleet.stop_workers()  # the expiry below is timed alone
    await insert_overdue(dsn, merchant, EXPIRIES)
    seconds = await time_expiry(database_url)
    bench.rows.append(Row(f"expiry: {EXPIRIES:,} overdue intents", EXPIRIES / seconds,
                          note=f"{seconds:.2f} s in all (bulk sweep: 3 lanes, batches of 1000)"))
    print(f"  expiry: {EXPIRIES:,} in {seconds:.2f} s", flush=True)


def webhook_latencies(bench: Bench, receiver: Receiver, since: float) -> None:
    latencies = sorted(arrived - created for arrived, created, _ in receiver.arrivals
                       if created >= since)
    bench.rows.append(Row("webhook: commit to arrival (at 100 creates/s)", None,
                          percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000,
                          note=f"{len(latencies)} deliveries"))
    print(f"  webhook arrival: p50 {bench.rows[-1].p50_ms:.1f} ms "
          f"p99 {bench.rows[-1].p99_ms:.1f} ms", flush=True)


def ratios(row: Row, floor: Row, ceiling_row: Row) -> str:
    return (f"{row.throughput / floor.throughput:.2f} x floor, "
            f"{row.throughput / ceiling_row.throughput:.2f} x ceiling")


async def drain_rate(bench: Bench, fleet: Fleet, receiver: Receiver, closed: dict,
                     creates: list[bytes], floor: Row, ceiling_row: Row) -> None:
    """Deliveries per second of one worker: a backlog made while workers were stopped (the
    creates' throughput without a worker beside them is a row too), drained by one."""
    fleet.stop_workers()
    await asyncio.sleep(1)
    result = await bench.load(load.Spec(**{**closed, "duration": 5}, requests=creates,
                                        ok=b"AWAITING"))
    backlog = len(result.latencies)
    alone = summarise("createPaymentIntent, c=32, no worker running", result)
    alone.note = ratios(alone, floor, ceiling_row) + "; makes the backlog drained below"
    bench.rows.append(alone)
    print(f"  createPaymentIntent, no worker: {alone.throughput:,.0f}/s", flush=True)
    before = len(receiver.arrivals)
    fleet.start_workers(1)
    deadline = time.time() + 120
    while len(receiver.arrivals) - before < backlog and time.time() < deadline:
        await asyncio.sleep(0.2)
    arrived = [a for a, _, _ in receiver.arrivals[before:]]
    rate = (len(arrived) - 1) / (max(arrived) - min(arrived)) if len(arrived) > 1 else 0
    bench.rows.append(Row("webhook: deliveries per second, 1 worker", rate,
                          note=f"{len(arrived)} of a {backlog}-event backlog"))
    print(f"  deliveries: {rate:,.0f}/s ({len(arrived)} of {backlog})", flush=True)


def memory(fleet: Fleet) -> dict[str, tuple[float, float]]:
    return getattr(fleet, "memory", {})


def report(rows: list[Row], mem: dict[str, tuple[float, float]], env: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    workers = f"{ARQ_WORKERS} arq worker{'s' if ARQ_WORKERS > 1 else ''}"
    lines = [f"Gateway benchmark: {API_WORKERS} uvicorn processes + {workers}, PostgreSQL "
             f"and Redis on this machine; load from a separate process ({machine})", "",
             "| scenario | throughput /s | p50 ms | p99 ms | errors | note |",
             "|---|---:|---:|---:|---:|---|"]
    for row in rows:
        lines.append(f"| {row.scenario} | {fmt(row.throughput, 0)} | {fmt(row.p50_ms, 2)} | "
                     f"{fmt(row.p99_ms, 2)} | {row.errors} | {row.note} |")
    lines += ["", "| process | RSS after the run (MB) | peak RSS (MB) |", "|---|---:|---:|"]
    lines += [f"| {name} | {now:.0f} | {peak:.0f} |" for name, (now, peak) in mem.items()]
    print("\n" + "\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({
        "machine": machine, "api_processes": API_WORKERS, "arq_workers": ARQ_WORKERS,
        "duration_s": DURATION,
        "rows": [vars(row) for row in rows],
        "memory_mb": {name: {"rss": now, "peak": peak} for name, (now, peak) in mem.items()},
    }, indent=2))
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")


def fmt(value: float | None, digits: int) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
