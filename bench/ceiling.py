"""The ceiling: a create's database work (intent + event, one transaction) straight on asyncpg."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from bench.load import Result

INSERT_INTENT = """INSERT INTO payment_intents (id, merchant_id, status, amount, currency,
  capture_method, success_url, client_secret, expires_at, created_at, updated_at, attempt_count,
  max_attempts, amount_capturable, amount_captured, amount_refunded, version)
  VALUES ($1, $2, 'AWAITING_PAYMENT_METHOD', $3, 'USD', 'AUTOMATIC', $4, $5, $6, $7, $7,
  0, 5, 0, 0, 0, 0)"""
INSERT_EVENT = """INSERT INTO events (id, merchant_id, type, object_id, data, created_at,
  delivery_state, attempt_count, retry_base, next_attempt_at)
  VALUES ($1, $2, 'payment_intent.created', $3, $4, $5, 'PENDING', 0, 0, $5)"""


def intent_row(merchant_id: str, expires_at: datetime, created_at: datetime) -> tuple:
    return (f"pi_{secrets.token_hex(12)}", merchant_id, 9999, "https://shop.test/ok",
            f"pi_secret_{secrets.token_hex(20)}", expires_at, created_at)


async def _ceiling(dsn: str, merchant_id: str, concurrency: int, duration: float) -> Result:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    result = Result()
    deadline = time.perf_counter() + duration

    async def client() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            moment = datetime.now(UTC)
            row = intent_row(merchant_id, moment + timedelta(hours=1), moment)
            data = json.dumps({"object": {"id": row[0], "amount": 9999}})
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute(INSERT_INTENT, *row)
                await connection.execute(INSERT_EVENT, f"evt_{secrets.token_hex(12)}",
                                         merchant_id, row[0], data, moment)
            result.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(concurrency)])
    result.elapsed = time.perf_counter() - started
    await pool.close()
    return result


def run(dsn: str, merchant_id: str, concurrency: int, duration: float) -> Result:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_ceiling(dsn, merchant_id, concurrency, duration))
