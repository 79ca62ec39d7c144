"""The worker's transitions: expiring unpaid intents in bulk, voiding lapsed authorizations."""

from __future__ import annotations

import asyncio
from datetime import datetime

from core.clock import now
from core.names import EventType
from models import sql
from models.payment_intents import IntentStatus, PaymentIntent
from models.sql import write_together
from resolvers import events
from resolvers.payment_intents.decisions import decide_auto_void, expiry_fields
from resolvers.payment_intents.engine import transition
from resolvers.payment_intents.operations import authorization_lifetime


async def expire_due(batch: int = 1000, lanes: int = 3) -> list[str]:
    """Expire, in bulk, every intent whose `expiresAt` has passed; returns the events' ids.

    On PostgreSQL each batch is one statement (`models.sql.expire_batch`) and rows are locked
    with SKIP LOCKED, so a confirm holding one wins and any number of sweepers, or lanes of
    one sweeper, run at once without doing an intent twice (SQLite has one writer). Each lane
    walks forward by expires_at: rescanning from the start would wade through the index
    entries of rows already expired, making a large backlog quadratic.
    """
    results = await asyncio.gather(*[_expire_lane(batch) for _ in range(lanes)])
    return [event_id for lane in results for event_id in lane]


async def _expire_lane(batch: int) -> list[str]:
    written: list[str] = []
    after: datetime | None = None
    while True:
        event_ids, after = await sql.expire_batch(expiry_fields(now()), after, batch,
                                                  _expiry_events)
        written += event_ids
        if after is None:
            return written


async def _expiry_events(intents: list[PaymentIntent], moment: datetime) -> list[str]:
    """The `expired` events of a batch (where the database does not build them itself)."""
    states = await events.webhook_states({intent.merchant_id for intent in intents})
    written = []
    for intent in intents:
        for name, value in expiry_fields(moment).items():
            setattr(intent, name, value)
        written.append(events.new_event(
            intent.merchant_id, EventType.PAYMENT_INTENT_EXPIRED, intent.id,
            {"object": events.intent_snapshot(intent)}, states[intent.merchant_id]))
    await write_together(*written)
    return [event.id for event in written if event.next_attempt_at is not None]


async def void_lapsed_authorizations(batch: int = 500) -> list[str]:
    """Void authorizations never captured within their lifetime (7 days by default)."""
    lifetime = authorization_lifetime()
    ids = await PaymentIntent.filter(status=IntentStatus.AUTHORIZED,
                                     authorized_at__lte=now() - lifetime).limit(
        batch).values_list("id", flat=True)
    written: list[str] = []
    for intent_id in ids:
        _, _, event_ids = await transition(intent_id, decide_auto_void(lifetime))
        written += event_ids
    return written
