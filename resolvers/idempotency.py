"""Idempotency keys (CONTRACT §9): the same key and request within 24 hours does the work once.

The record is inserted in the same transaction as the work. Two requests with one key at the
same moment race on the (merchant, key) unique index: the loser's insert waits for the winner
to commit (PostgreSQL) or runs after it (SQLite's single writer), fails, and replays the
winner's result.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.clock import now
from core.errors import ErrorCode, UserError
from core.security import sha256_hex
from models.payment_intents import IdempotencyRecord

KEY_LIFETIME = timedelta(hours=24)


def request_fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    return sha256_hex(json.dumps([operation, arguments], sort_keys=True, default=str))


async def _live_record(merchant_id: str, key: str) -> IdempotencyRecord | None:
    record = await IdempotencyRecord.get_or_none(merchant_id=merchant_id, key=key)
    if record is not None and record.created_at < now() - KEY_LIFETIME:
        await IdempotencyRecord.filter(id=record.id).delete()  # expired: the key is free
        return None
    return record


def _replay(record: IdempotencyRecord, fingerprint: str) -> str:
    if record.request_hash != fingerprint:
        raise UserError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "This idempotency key was used for a different request",
                        "idempotencyKey")
    return record.result_id


async def run_once(merchant_id: str, key: str | None, fingerprint: str,
                   work: Callable[[], Awaitable[tuple[str, list[str]]]]
                   ) -> tuple[str, list[str]]:
    """(result id, event ids written). A replay returns the first result and no events."""
    if key is None:
        return await work()
    record = await _live_record(merchant_id, key)
    if record is not None:
        return _replay(record, fingerprint), []
    try:
        async with in_transaction():
            record = await IdempotencyRecord.create(merchant_id=merchant_id, key=key,
                                                    request_hash=fingerprint)
            result_id, event_ids = await work()
            await IdempotencyRecord.filter(id=record.id).update(result_id=result_id)
    except IntegrityError:
        winner = await IdempotencyRecord.get_or_none(merchant_id=merchant_id, key=key)
        if winner is None:  # the conflict was not the key's
            raise
        return _replay(winner, fingerprint), []
    return result_id, event_ids


async def forget_expired() -> int:
    return await IdempotencyRecord.filter(created_at__lt=now() - KEY_LIFETIME).delete()
