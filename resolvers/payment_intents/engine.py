"""The transition engine: apply a decision to an intent, atomically, with its events.

Optimistic first: read, decide, and write only if the intent is still at the version it was
decided on (one statement on PostgreSQL: two round trips in all, where a locked transaction
takes five). If it changed meanwhile, decide again under a row lock (`SELECT … FOR UPDATE`
on PostgreSQL; SQLite has one writer), so a contended intent (concurrent refunds) is served
in turn instead of retrying forever.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from core.clock import now
from core.errors import ErrorCode, UserError, not_found
from models.events import Event
from models.payment_intents import PaymentIntent
from models.sql import Update, by_pk, write_if
from resolvers import events
from resolvers.money import ledger
from resolvers.payment_intents.decisions import Change, Decision

LOCKED_RETRIES = 5

Outcome = tuple[PaymentIntent, Change, list[str]]  # the intent after, the change, event ids


class _Conflict(Exception):
    """The row changed between the read and the conditional write; decide again."""


async def transition(intent_id: str, decide: Decision,
                     moment: datetime | None = None) -> Outcome:
    """Decide a change from the intent's state and write it with its events. `moment`: the
    time the decision judges by (now; the worker's sweeps may pass the time they sweep at)."""
    intent = await by_pk(PaymentIntent, intent_id)
    if intent is None:
        raise not_found("Payment intent")
    decided = await _decide_and_write(intent, decide, moment)
    if decided is not None:
        return decided
    for _ in range(LOCKED_RETRIES):
        try:
            return await _transition_locked(intent_id, decide, moment)
        except _Conflict:
            continue
    raise UserError(ErrorCode.INVALID_STATE, "The payment intent is busy; try again")


async def _transition_locked(intent_id: str, decide: Decision,
                             moment: datetime | None) -> Outcome:
    async with in_transaction():
        intent = await by_pk(PaymentIntent, intent_id, for_update=True)
        if intent is None:
            raise not_found("Payment intent")
        decided = await _decide_and_write(intent, decide, moment)
        if decided is None:
            raise _Conflict
    return decided


async def _decide_and_write(intent: PaymentIntent, decide: Decision,
                            moment: datetime | None = None) -> Outcome | None:
    """Decide, then write the change, its refund and its events if the intent is still at
    the version it was decided on. None if it was not (nothing written)."""
    moment = moment or now()
    # The ledger rows of a capture or refund (CONTRACT §13) are written with it.
    change = ledger.book(intent, decide(intent, moment), moment)
    if not change.fields:
        return intent, change, []
    version = intent.version
    update = Update(PaymentIntent, intent.id,
                    {**change.fields, "version": version + 1, "updated_at": moment},
                    expect={"version": version})
    for name, value in update.changes.items():
        setattr(intent, name, value)
    written = await _events_of(intent, change)
    refunds = [change.refund] if change.refund is not None else []
    if not await write_if(update, *refunds, *change.writes, *written):
        return None
    return intent, change, [event.id for event in written]


async def _events_of(intent: PaymentIntent, change: Change) -> list[Event]:
    data = {"object": events.intent_snapshot(intent)}
    if change.refund is not None:
        data["refund"] = events.refund_snapshot(change.refund)
    state = await events.webhook_state(intent.merchant_id)
    return [events.new_event(intent.merchant_id, event_type, intent.id, data, state)
            for event_type in change.event_types] + \
        [events.new_event(intent.merchant_id, event_type, object_id, object_data, state)
         for event_type, object_id, object_data in change.other_events]
