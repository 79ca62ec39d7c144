"""The ceilings: each write path's database work, exactly the gateway's rows (`bench.shapes`),
straight on a bare asyncpg pool: no HTTP, no GraphQL, no key check. Closed loop, as the
gateway's rows at c=32 are measured. Run in the load process (`run` is its entry point).

- create: one statement (the intent, its event, the event's deliveries);
- confirm: the read of the intent, then one statement (the conditional update, the event,
  its deliveries, the CHARGE and the running totals). Each confirm takes a fresh intent
  seeded beforehand; when they run out the ceiling stops and says so.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench import cpu, shapes
from bench.census import XACT_WRITES, Census, delta, from_rows
from bench.load import Result


@dataclass(frozen=True)
class Job:
    path: str  # "create" or "confirm"
    dsn: str
    merchant_id: str
    concurrency: int
    duration: float
    prepared: int = 0  # confirm: how many fresh intents to seed first


async def _create(connection: Any, layout: shapes.Layout, _: Any) -> bool:
    sql, values = shapes.create_statement(layout, shapes.utc_now())
    await connection.execute(sql, *values)
    return True


async def _confirm(connection: Any, layout: shapes.Layout, intent_id: str) -> bool:
    intent = dict(await connection.fetchrow(shapes.READ_INTENT, intent_id))
    sql, values = shapes.confirm_statement(layout, intent, shapes.utc_now())
    return await connection.fetchval(sql, *values) == 1


PATHS = {"create": _create, "confirm": _confirm}


async def seed(connection: Any, merchant_id: str, count: int) -> list[tuple[str, str]]:
    """`count` fresh intents awaiting payment: (id, client secret)."""
    moment = shapes.utc_now()
    rows = await connection.fetch(shapes.seed_intents_sql(), merchant_id, count,
                                  moment + timedelta(hours=1), moment)
    return [(row["id"], row["client_secret"]) for row in rows]


async def census(connection: Any, path: str, layout: shapes.Layout, work: Any) -> Census:
    """One operation's writes, in a transaction rolled back."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        before = from_rows(await connection.fetch(XACT_WRITES))
        await PATHS[path](connection, layout, work)
        return delta(before, from_rows(await connection.fetch(XACT_WRITES)))
    finally:
        await transaction.rollback()


async def _ceiling(job: Job) -> tuple[Result, Census]:
    import asyncpg

    pool = await asyncpg.create_pool(job.dsn, min_size=job.concurrency,
                                     max_size=job.concurrency)
    try:
        async with pool.acquire() as connection:
            layout = await shapes.layout(connection, job.merchant_id)
            work = [intent_id for intent_id, _ in
                    await seed(connection, job.merchant_id, job.prepared + 1)]
            counted = await census(connection, job.path, layout, work.pop())
        before = cpu.snapshot({os.getpid(): "load"})
        result = await _loop(pool, job, layout, work)
        result.cpu = before, cpu.snapshot({os.getpid(): "load"})
        return result, counted
    finally:
        await pool.close()


async def _loop(pool: Any, job: Job, layout: shapes.Layout, work: list[str]) -> Result:
    result = Result()
    write = PATHS[job.path]
    started = time.perf_counter()
    deadline = started + job.duration

    async def client() -> None:
        while time.perf_counter() < deadline:
            if job.path == "confirm" and not work:
                result.exhausted_at = result.exhausted_at or time.perf_counter() - started
                return
            item = work.pop() if job.path == "confirm" else None
            begun = time.perf_counter()
            async with pool.acquire() as connection:
                written = await write(connection, layout, item)
            result.record(written, begun, "write guard found the intent changed")

    await asyncio.gather(*[client() for _ in range(job.concurrency)])
    result.elapsed = time.perf_counter() - started
    return result


def run(job: Job) -> tuple[Result, Census]:
    """Entry point of the load process: the ceiling's result and its write census."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_ceiling(job))
