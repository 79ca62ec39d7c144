"""`make bench`: the gateway as a fleet runs it, driven over real HTTP from another process.

A fresh PostgreSQL database and Redis queue, `python main.py serve` with BENCH_API_WORKERS (2)
uvicorn processes, BENCH_ARQ_WORKERS (1) `python main.py worker` processes, a webhook receiver
in this process, and the load generator (and the asyncpg ceilings) in a third. Prints one
table with the targets, writes bench/results/latest.json and latest.md, and exits 1 when a row
has unexplained errors or a ceiling does not write the gateway's rows.

A smoke run: `BENCH_DURATION=2 BENCH_EXPIRIES=2000 .venv/bin/python -m bench.run`.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import secrets
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import ceiling, census, cpu, load, report, shapes, sustained
from bench.fleet import (
    ROOT,
    Fleet,
    Profiler,
    Receiver,
    free_port,
    wait_arrivals,
    wait_ready,
)
from bench.report import Row, percentile, summarise
from client import Gateway, onboard
from client.onboarding import Merchant, set_webhook_url

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
API_WORKERS = int(os.environ.get("BENCH_API_WORKERS", "2"))
ARQ_WORKERS = int(os.environ.get("BENCH_ARQ_WORKERS", "1"))
DURATION = float(os.environ.get("BENCH_DURATION", "10"))
SMOKE = DURATION < 10
EXPIRIES = int(os.environ.get("BENCH_EXPIRIES", "1000000"))
LEDGER_ROWS = int(os.environ.get("BENCH_LEDGER_ROWS", "20000" if SMOKE else "1000000"))
PROFILE = os.environ.get("BENCH_PROFILE", "") == "1"  # py-spy on each process, some rows
SUSTAINED_START = float(os.environ.get("BENCH_SUSTAINED_START", "20"))  # payments a second
CONCURRENCY = 32
RATE = 100
BALANCE_RATE = 20
ENDPOINTS = 4
SETTLE_TIMEOUT = 120.0  # seconds a row waits for the backlog and the machine to settle
IDLE_CPUS = 0.3  # the machine counts as idle below this many CPUs busy
PREPARE_MARGIN = 1.5  # prepared confirms: the measured ceiling's rate × duration × this
RESULTS = ROOT / "bench" / "results"
PROFILED = {"create_c32", "confirm_c32", "create_100"}  # the rows BENCH_PROFILE=1 records
# The rows whose note says where their CPU went (every row's JSON has it): the ceilings and
# the gateway doing the same writes.
CPU_NOTED = {"create_ceiling", "confirm_ceiling", "create_c32", "confirm_c32"}

INTENT = "paymentIntent { id status clientSecret } userErrors { code message }"
CREATE = ("mutation($input: CreatePaymentIntentInput!) { createPaymentIntent(input: $input) "
          f"{{ {INTENT} }} }}")
CONFIRM = ("mutation($input: ConfirmPaymentIntentInput!) { confirmPaymentIntent(input: $input) "
           "{ checkoutSession { id status } userErrors { code message } } }")
CREATE_ENDPOINT = ("mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint("
                   "input: $input) { webhookEndpoint { id } userErrors { code message } } }")
BALANCE = "{ balance { available { amount currency } pending { amount currency } } }"
CARD = {"number": "4242424242424242", "cardholderName": "Bench", "expMonth": 12,
        "expYear": 2035, "cvc": "123"}


def graphql_request(host: str, query: str, variables: dict, **headers: str) -> bytes:
    body = json.dumps({"query": query, "variables": variables}).encode()
    return load.http_request("POST", "/graphql", host, body, headers)


def create_requests(host: str, key: str, count: int = 64) -> list[bytes]:
    return [graphql_request(host, CREATE, {"input": {
        "amount": 1000 + i, "currency": "USD", "successUrl": "https://shop.test/ok",
        "orderId": f"o-{i}"}}, **{"X-API-Key": key}) for i in range(count)]


def confirm_requests(host: str, intents: list[tuple[str, str]]) -> list[bytes]:
    return [graphql_request(host, CONFIRM, {"input": {"id": intent_id, "clientSecret": secret,
                                                      "card": CARD}})
            for intent_id, secret in intents]


def confirm_follow_up() -> load.FollowUp:
    return load.FollowUp(json.dumps({"query": CONFIRM, "variables": {"input": {
        "id": "__ID__", "clientSecret": "__SECRET__", "card": CARD}}}), ok=b"CAPTURED")


@dataclass
class Bench:
    dsn: str
    database_url: str
    port: int
    fleet: Fleet
    receiver: Receiver
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, float | None] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        self.host = f"127.0.0.1:{self.port}"
        self.profiler = Profiler(self.fleet, RESULTS / "profiles", PROFILE)

    def spec(self, requests: list[bytes], **options: Any) -> load.Spec:
        return load.Spec(**{"host": "127.0.0.1", "port": self.port, "requests": requests,
                            "concurrency": CONCURRENCY, "duration": DURATION, **options})

    async def in_load_process(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)

    async def measure(self, name: str, spec: load.Spec, note: str = "", key: str = "") -> Row:
        unsettled = await self.settle()
        note = "; ".join(filter(None, [note, unsettled]))
        if key in PROFILED:
            self.profiler.start(key, spec.duration)
        before = self.cpu_seconds()
        result = await self.in_load_process(load.run, spec)
        after = self.cpu_seconds()
        self.profiler.wait()
        if spec.rate and result.elapsed > spec.duration + sustained.KEEP_UP:
            note = "; ".join(filter(None, [note, f"fell behind the schedule: {spec.duration:.0f}"
                                                 f" s of requests took {result.elapsed:.1f} s"]))
        return self.add(with_cpu(summarise(name, result, note, key), before, after))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far by part of the machine (bench.cpu): the gateway's processes by
        role, the database and Redis servers, the load process and this one (the receiver)."""
        named = {pid: "api" if name.startswith(("api", "serve")) else "worker"
                 for name, pid in self.fleet.processes().items()}
        named.update({pid: "load" for pid in self.pool._processes or {}})
        named[os.getpid()] = "bench"
        return cpu.snapshot(named)


    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  {row.scenario}: {report.fmt(row.throughput, 0)}/s p50 "
              f"{report.fmt(row.p50_ms, 2)} ms p99 {report.fmt(row.p99_ms, 2)} ms "
              f"errors {row.errors} {row.note}", flush=True)
        return row

    async def settle(self) -> str:
        """Before a row: every webhook owed so far delivered (while workers run) and the
        machine idle, so that a row measures its own load, not the tail of the last one's
        (a backlog, autovacuum after a bulk write). Returns why it did not settle, if so."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            owed = await self.owed_deliveries() if self.fleet.workers else 0
            busy = await machine_busy(1.0)
            if owed == 0 and busy < IDLE_CPUS:
                return ""
        return f"started unsettled ({owed:,} deliveries owed, {busy:.1f} CPUs busy)"

    async def owed_deliveries(self) -> int:
        connection = await asyncpg.connect(self.dsn)
        try:
            return await connection.fetchval(
                "SELECT count(*) FROM endpoint_deliveries WHERE state = 'PENDING' "
                "AND next_attempt_at <= now()")
        finally:
            await connection.close()

    async def forget_deliveries(self, merchant_id: str) -> None:
        """The merchant's owed webhook deliveries, deleted (the ceilings' rows: not sent)."""
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(
                "DELETE FROM endpoint_deliveries WHERE event_id IN "
                "(SELECT id FROM events WHERE merchant_id = $1)", merchant_id)
        finally:
            await connection.close()

    async def seed(self, merchant_id: str, count: int) -> list[tuple[str, str]]:
        connection = await asyncpg.connect(self.dsn)
        try:
            return await ceiling.seed(connection, merchant_id, count)
        finally:
            await connection.close()


def with_cpu(row: Row, before: dict[str, float], after: dict[str, float]) -> Row:
    """The row with its CPU per success by part (bench.cpu), said in its note if CPU_NOTED."""
    row.cpu_ms = cpu.per_success(before, after, row.successes)
    if row.key in CPU_NOTED:
        row.note = "; ".join(filter(None, [row.note, cpu.describe(row.cpu_ms)]))
    return row


async def machine_busy(seconds: float) -> float:
    """CPUs busy over the next `seconds`, on average (from /proc/stat)."""
    def busy_and_total() -> tuple[int, int]:
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = ticks[3] + ticks[4]  # idle and iowait
        return sum(ticks) - idle, sum(ticks)

    busy, total = busy_and_total()
    await asyncio.sleep(seconds)
    busy_after, total_after = busy_and_total()
    return (os.cpu_count() or 1) * (busy_after - busy) / max(1, total_after - total)


async def open_merchant(url: str, webhook_url: str | None) -> Merchant:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        gateway = Gateway(http)
        merchant = await onboard(gateway, name="Bench",
                                 email=f"bench-{secrets.token_hex(4)}@example.com",
                                 password="bench password 1", business_name="Bench",
                                 merchant_email="b@bench.test")
        if webhook_url:
            await set_webhook_url(gateway, merchant.owner, merchant.id, webhook_url)
    return merchant


async def add_endpoints(url: str, merchant: Merchant, receiver: Receiver, count: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        gateway = Gateway(http).as_user(merchant.owner.token)
        for n in range(count):
            await gateway.mutate(CREATE_ENDPOINT, "createWebhookEndpoint", {
                "merchantId": merchant.id, "url": receiver.url(f"/endpoint-{n + 1}")})


# --- the scenarios ------------------------------------------------------------------------------
async def floors(bench: Bench) -> None:
    typename = [graphql_request(bench.host, "{ __typename }", {})]
    await bench.in_load_process(load.run, bench.spec(typename, duration=3))  # warm-up
    await bench.measure("floor: GraphQL { __typename }", bench.spec(typename, ok=b"Query"))
    await bench.measure("floor: Starlette JSON route (/healthz)", bench.spec(
        [load.http_request("GET", "/healthz", bench.host)], ok=b"ok"))


async def ceilings(bench: Bench, merchant: Merchant) -> None:
    """Both ceilings, each checked against the gateway's own writes (`bench.census`).

    `merchant` is the ceilings' own: the deliveries they write are real rows the worker would
    send, so each ceiling's are deleted when it ends, lest later rows measure that backlog."""
    try:
        gateway = await census.gateway(bench.database_url, merchant.id,
                                       (await bench.seed(merchant.id, 1))[0])
    except Exception as error:  # noqa: BLE001 - reported, and the bench fails
        bench.differences.append(f"the gateway's own write failed: {error!r:.300}")
        gateway = {"create": {}, "confirm": {}}
    create_result, create_census = await bench.in_load_process(ceiling.run, ceiling.Job(
        "create", bench.dsn, merchant.id, CONCURRENCY, DURATION))
    create = bench.add(with_cpu(summarise(
        "ceiling: create (bare asyncpg, the gateway's rows)", create_result,
        writes(create_census), key="create_ceiling"), *create_result.cpu))
    await bench.forget_deliveries(merchant.id)
    prepared = math.ceil(create.throughput * DURATION * PREPARE_MARGIN) + CONCURRENCY
    confirm_result, confirm_census = await bench.in_load_process(ceiling.run, ceiling.Job(
        "confirm", bench.dsn, merchant.id, CONCURRENCY, DURATION, prepared))
    bench.add(with_cpu(summarise(
        "ceiling: confirm (bare asyncpg: the read, then the gateway's rows)", confirm_result,
        f"{writes(confirm_census)}; {prepared:,} intents prepared", key="confirm_ceiling"),
        *confirm_result.cpu))
    await bench.forget_deliveries(merchant.id)
    bench.differences += census.compare("create", gateway["create"], create_census)
    bench.differences += census.compare("confirm", gateway["confirm"], confirm_census)
    bench.document["census"] = {"gateway": gateway, "ceiling": {
        "create": create_census, "confirm": confirm_census}}
    print(f"  census: gateway {gateway}; ceilings create {create_census}, confirm "
          f"{confirm_census}; differences {bench.differences or 'none'}", flush=True)


def writes(counted: census.Census) -> str:
    return "writes " + ", ".join(f"{table} +{inserted}" + (f" ~{updated}" if updated else "")
                                 if inserted else f"{table} ~{updated}"
                                 for table, (inserted, updated) in sorted(counted.items()))


async def creates(bench: Bench, key: str) -> None:
    requests = create_requests(bench.host, key)
    start = time.time()
    at_rate = await bench.measure("createPaymentIntent, 100/s", bench.spec(
        requests, rate=RATE, ok=b"AWAITING"), key="create_100")
    arrivals = await wait_arrivals(bench.receiver, start, time.time(), at_rate.successes,
                                   timeout=30)
    arrival_row(bench, "webhook: commit to arrival (at 100 creates/s)", arrivals, "arrival_100")
    await bench.measure("createPaymentIntent, c=32 (worker running)", bench.spec(
        requests, ok=b"AWAITING"), key="create_c32")


def arrival_row(bench: Bench, name: str, arrivals: list, key: str) -> Row:
    latencies = sorted(a.arrived - a.created for a in arrivals)
    return bench.add(Row(name, None, percentile(latencies, 50) * 1000,
                         percentile(latencies, 99) * 1000,
                         note=f"{len(latencies)} deliveries", key=key))


async def confirms(bench: Bench, merchant: Merchant) -> None:
    """Each confirm on a fresh intent, prepared by the confirm ceiling's measured rate; a
    run that uses them all stops there (and says so)."""
    ceiling_rate = next(r.throughput for r in bench.rows if r.key == "confirm_ceiling")
    prepared = math.ceil(ceiling_rate * DURATION * PREPARE_MARGIN) + CONCURRENCY
    intents = await bench.seed(merchant.id, prepared + RATE * math.ceil(DURATION))
    requests = confirm_requests(bench.host, intents)
    await bench.measure("confirmPaymentIntent (4242, captures: CHARGE), c=32", bench.spec(
        requests[:prepared], ok=b"CAPTURED", cycle=False),
        f"{prepared:,} fresh intents prepared", key="confirm_c32")
    await bench.measure("confirmPaymentIntent (4242), 100/s", bench.spec(
        requests[prepared:], rate=RATE, ok=b"CAPTURED", cycle=False), key="confirm_100")


async def creates_with_endpoints(bench: Bench, url: str) -> None:
    name = f"createPaymentIntent, c=32, {ENDPOINTS} webhook endpoints per merchant"
    merchant = await open_merchant(url, None)
    await add_endpoints(url, merchant, bench.receiver, ENDPOINTS)
    start = time.time()
    row = await bench.measure(name, bench.spec(create_requests(bench.host, merchant.api_key),
                                               ok=b"AWAITING"), key="create_c32_endpoints")
    expected = row.successes * ENDPOINTS
    began = time.time()
    arrived = await wait_arrivals(bench.receiver, start, time.time(), expected, timeout=120)
    row.note = (f"{len(arrived):,} of {expected:,} deliveries arrived "
                f"{time.time() - began:.1f} s after the load")


async def balance(bench: Bench, url: str) -> None:
    name = f"balance, {LEDGER_ROWS:,} balance transactions, {BALANCE_RATE}/s"
    connection = await asyncpg.connect(bench.dsn)
    try:
        merchant = await open_merchant(url, None)
        started = time.perf_counter()
        await connection.execute(shapes.seed_ledger_sql(), merchant.id, LEDGER_ROWS)
        await connection.execute(shapes.seed_totals_sql(), merchant.id)
        await connection.execute(shapes.seed_pending_sql(), merchant.id)
        # What autovacuum would have done long before a real ledger reached this size (it
        # grows over months, not in a second): the visibility map and statistics.
        await connection.execute(f"VACUUM ANALYZE {shapes.LEDGER_TABLE}")
        await connection.execute("ANALYZE")
        seeded = time.perf_counter() - started
    finally:
        await connection.close()
    request = [graphql_request(bench.host, BALANCE, {}, **{"X-API-Key": merchant.api_key})]
    await bench.measure(name, bench.spec(request, rate=BALANCE_RATE, ok=b"available"),
                        f"seeded by SQL in {seeded:.1f} s", key="balance")


async def payments(bench: Bench, key: str) -> None:
    """The sustained-payments row (`bench.sustained`), then arrival at half that rate."""
    requests = create_requests(bench.host, key)
    steps: list[sustained.Step] = []
    while (rate := sustained.next_rate(steps, SUSTAINED_START)) is not None:
        steps.append(await payment_step(bench, requests, rate))
        print(f"    step {steps[-1].describe()}", flush=True)
    found = sustained.best(steps)
    name = "sustained payments (create + confirm, every webhook delivered)"
    tried = "; ".join(step.describe() for step in steps)
    reasons: Counter[str] = Counter()
    for step in steps:
        reasons.update(step.reasons)
    if reasons:  # a gateway under load answers slowly, never with errors
        tried += "; errors in the steps: " + ", ".join(f"{r} ×{n}"
                                                      for r, n in reasons.most_common())
    bench.document["sustained_steps"] = [vars(step) for step in steps]
    errors = sum(reasons.values())
    if found is None:
        bench.add(Row(name, note=f"no rate sustained: {tried}", key="sustained",
                      errors=errors, reasons=dict(reasons)))
        return
    bench.add(Row(name, found.rate, found.p50_ms, found.p99_ms, key="sustained",
                  errors=errors, reasons=dict(reasons),
                  note=f"{found.deliveries_per_second:,.0f} deliveries/s; steps {tried}"))
    start = time.time()
    await payment_step(bench, requests, found.rate / 2)
    arrivals = bench.receiver.since(start)
    arrival_row(bench, f"webhook: commit to arrival at half the sustained rate "
                       f"({sustained.rate_text(found.rate / 2)} payments/s)", arrivals,
                "arrival_half")


async def payment_step(bench: Bench, requests: list[bytes], rate: float) -> sustained.Step:
    per_payment = 2  # created and captured, to the merchant's one endpoint
    await bench.settle()
    start = time.time()
    result = await bench.in_load_process(load.run, bench.spec(
        requests, rate=rate, ok=b"AWAITING", then=confirm_follow_up()))
    middle, end = start + DURATION / 2, start + DURATION
    arrived = sorted(a.arrived for a in bench.receiver.since(start))
    answered = sorted(result.completed)
    await wait_arrivals(bench.receiver, start, math.inf, per_payment * result.successes, 30)
    ordered = sorted(result.latencies)
    second_half = [a for a in arrived if middle < a <= end]
    return sustained.Step(
        rate, DURATION, result.successes, sum(result.errors.values()), result.elapsed,
        sustained.backlog(middle, answered, arrived, per_payment),
        sustained.backlog(end, answered, arrived, per_payment),
        per_payment * sum(1 for t in answered if middle < t <= end),
        percentile(ordered, 50) * 1000, percentile(ordered, 99) * 1000,
        len(second_half) / (DURATION / 2), dict(result.errors))


async def drain_rate(bench: Bench, key: str) -> None:
    """Deliveries per second of one worker: a backlog made while workers were stopped (the
    creates' throughput without a worker beside them is a row too), drained by one."""
    bench.fleet.stop_workers()
    await asyncio.sleep(1)
    start = time.time()
    alone = await bench.measure("createPaymentIntent, c=32, no worker running", bench.spec(
        create_requests(bench.host, key), ok=b"AWAITING"), "makes the backlog drained below")
    end = time.time()
    backlog = alone.successes
    bench.fleet.start_workers(1)
    arrived = sorted(a.arrived for a in await wait_arrivals(bench.receiver, start, end,
                                                            backlog, timeout=120))
    rate = (len(arrived) - 1) / (arrived[-1] - arrived[0]) if len(arrived) > 1 else 0
    bench.add(Row("webhook: deliveries per second, 1 worker", rate, key="deliveries_1_worker",
                  note=f"{len(arrived):,} of a {backlog:,}-event backlog"))


async def expiry(bench: Bench, merchant: Merchant) -> None:
    bench.fleet.stop_workers()  # the expiry is timed alone
    moment = datetime.now(UTC)
    connection = await asyncpg.connect(bench.dsn)
    try:
        await connection.execute(shapes.seed_intents_sql(returning=False), merchant.id,
                                 EXPIRIES, moment - timedelta(minutes=5),
                                 moment - timedelta(hours=1))
        await connection.execute("ANALYZE payment_intents")
    finally:
        await connection.close()
    seconds = await time_expiry(bench.database_url)
    bench.add(Row(f"expiry: {EXPIRIES:,} overdue intents", EXPIRIES / seconds,
                  note=f"{seconds:.2f} s in all", key="expiry"))
    bench.figures["expiry_1m_seconds"] = seconds if EXPIRIES >= 1_000_000 else None


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


async def run_scenarios(bench: Bench, url: str) -> None:
    print(f"Scenarios: {DURATION:.0f} s each, concurrency {CONCURRENCY}, fixed rate {RATE}/s",
          flush=True)
    merchant = await open_merchant(url, bench.receiver.url())
    await floors(bench)
    await ceilings(bench, await open_merchant(url, bench.receiver.url()))
    await creates(bench, merchant.api_key)
    await confirms(bench, merchant)
    await creates_with_endpoints(bench, url)
    await balance(bench, url)
    await payments(bench, merchant.api_key)
    await drain_rate(bench, merchant.api_key)
    bench.fleet.take_memory()
    await expiry(bench, merchant)


def figures(bench: Bench) -> dict[str, float | None]:
    """The figures targets compare, all from this run."""
    found: dict[str, float | None] = dict(bench.figures)
    for row in bench.rows:
        if row.key:
            found[row.key] = row.throughput
            found[f"{row.key}_p50"], found[f"{row.key}_p99"] = row.p50_ms, row.p99_ms
    api = [now for name, (now, _) in bench.fleet.memory.items() if name.startswith("api-")]
    found["api_rss_max"] = max(api) if api else None
    return found


def finish(bench: Bench, started: datetime) -> int:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    workers = f"{ARQ_WORKERS} arq worker{'s' if ARQ_WORKERS > 1 else ''}"
    header = (f"Gateway benchmark, {started:%Y-%m-%d %H:%M} UTC: {API_WORKERS} uvicorn "
              f"processes + {workers}, PostgreSQL and Redis on this machine; load from a "
              f"separate process ({machine}); `{' '.join(command())}`")
    found = report.targets(figures(bench))
    lines = report.table(header, bench.rows, found, bench.fleet.memory)
    failures = report.problems(bench.rows, bench.differences)
    print("\n" + "\n".join(lines))
    report.write(RESULTS, lines, {
        **bench.document, "date": started.isoformat(), "machine": machine,
        "command": command(), "api_processes": API_WORKERS, "arq_workers": ARQ_WORKERS,
        "duration_s": DURATION, "rows": report.rows_json(bench.rows),
        "targets": [vars(t) for t in found], "figures": figures(bench), "problems": failures,
        "memory_mb": {name: {"rss": now, "peak": peak}
                      for name, (now, peak) in bench.fleet.memory.items()}})
    for failure in failures:
        print(f"BENCH FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def command() -> list[str]:
    settings = [f"{name}={value}" for name, value in sorted(os.environ.items())
                if name.startswith("BENCH_")]
    return [*settings, "python", "-m", "bench.run"]


async def main() -> int:
    started = datetime.now(UTC)
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
    receiver = Receiver()
    await receiver.start()
    bench = Bench(dsn, env["DATABASE_URL"], port, Fleet(env), receiver)
    try:
        bench.fleet.run("migrate")
        bench.fleet.start_api()
        bench.fleet.start_workers(ARQ_WORKERS)
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url)
        await run_scenarios(bench, url)
        return finish(bench, started)
    finally:
        bench.fleet.stop()
        bench.pool.shutdown()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
