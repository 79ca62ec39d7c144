"""Payment intents: create, read, confirm, capture, void, cancel, refund, expire.

Every transition runs in one transaction: lock the intent (`SELECT … FOR UPDATE` on
PostgreSQL; SQLite has one writer), decide from its current state, write the change with a
version check, and write its events. Delivery is woken after commit.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core import cards, money, security, validation
from core.clock import now
from core.config import get_settings
from core.errors import ErrorCode, UserError, forbidden, not_found
from models.db import is_postgres
from models.events import Event
from models.payment_intents import (
    PAID,
    CaptureMethod,
    IntentStatus,
    PaymentIntent,
    Refund,
)
from models.reads import by_pk
from models.writes import Update, write_if, write_together
from resolvers import bulk_expiry, dispatch, events
from resolvers.access import Caller, visible
from resolvers.batches import grouped
from resolvers.idempotency import request_fingerprint, run_once
from resolvers.paging import list_merchant_id, page

A = IntentStatus


# --- reading ----------------------------------------------------------------------------
async def visible_intent(caller: Caller, intent_id: str,
                         permission: str = "payment_intents:read") -> PaymentIntent:
    return await visible(caller, PaymentIntent, intent_id, permission, "Payment intent")


async def find_for(caller: Caller, intent_id: str) -> PaymentIntent | None:
    try:
        return await visible_intent(caller, intent_id)
    except UserError:
        return None


async def list_intents(caller: Caller, merchant_id: str | None, status: IntentStatus | None,
                       first: int, after: str | None) -> tuple[list[PaymentIntent], bool]:
    merchant_id = await list_merchant_id(caller, merchant_id, "payment_intents:read")
    query = PaymentIntent.filter(merchant_id=merchant_id)
    if status is not None:
        query = query.filter(status=status)
    return await page(query, first, after)


async def checkout_session(intent_id: str, client_secret: str) -> PaymentIntent:
    """The intent, with its merchant, for whoever holds its client secret."""
    intent = await PaymentIntent.get_or_none(id=intent_id).select_related("merchant") \
        if validation.is_well_formed_id(intent_id) else None
    if intent is None:
        raise not_found("Payment intent")
    check_client_secret(intent, client_secret)
    return intent


def check_client_secret(intent: PaymentIntent, client_secret: str) -> None:
    presented = client_secret.encode("utf-8", "surrogatepass")  # any text: never a crash
    if not hmac.compare_digest(intent.client_secret.encode(), presented):
        raise UserError(ErrorCode.INVALID_CLIENT_SECRET,
                        "The client secret does not belong to this payment intent",
                        "clientSecret")


async def refunds_of(intent_ids: list[str]) -> list[list[Refund]]:
    rows = await Refund.filter(payment_intent_id__in=intent_ids).order_by("created_at")
    return grouped(intent_ids, rows, lambda refund: refund.payment_intent_id)


def checkout_url(intent: PaymentIntent) -> str:
    base = get_settings().public_base_url
    return f"{base}/checkout/{intent.id}?client_secret={intent.client_secret}"


# --- creating ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NewIntent:
    amount: int
    currency: str
    success_url: str
    cancel_url: str | None = None
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    description: str | None = None
    order_id: str | None = None
    customer_email: str | None = None
    metadata: dict[str, str] | None = None

    def validated(self) -> NewIntent:
        return NewIntent(
            amount=money.amount(self.amount), currency=money.currency(self.currency),
            success_url=validation.http_url(self.success_url, "successUrl"),
            cancel_url=validation.optional_url(self.cancel_url, "cancelUrl"),
            capture_method=self.capture_method,
            description=validation.optional_text(self.description, "description",
                                                 max_length=1000),
            order_id=validation.optional_text(self.order_id, "orderId"),
            customer_email=validation.email(self.customer_email, "customerEmail")
            if self.customer_email else None,
            metadata=validation.metadata(self.metadata))


def _merchant_key(caller: Caller) -> str:
    if caller.api_key is None:
        caller.require_authenticated()
        raise forbidden("Payment intents are created with the merchant's API key")
    return caller.api_key.merchant_id


async def create(caller: Caller, request: NewIntent,
                 idempotency_key: str | None = None) -> PaymentIntent:
    merchant_id = _merchant_key(caller)
    fields = request.validated()
    key = validation.idempotency_key(idempotency_key)
    fingerprint = request_fingerprint("create", vars(fields))

    created: list[PaymentIntent] = []

    async def work() -> tuple[str, list[str]]:
        intent, event_ids = await _insert_intent(merchant_id, fields)
        created.append(intent)
        return intent.id, event_ids

    intent_id, event_ids = await run_once(merchant_id, key, fingerprint, work)
    intent = created[0] if created else await PaymentIntent.get(id=intent_id)  # a replay
    if event_ids:
        await dispatch.deliver_events(event_ids)
    return intent


async def _insert_intent(merchant_id: str, fields: NewIntent
                         ) -> tuple[PaymentIntent, list[str]]:
    """The intent and its `payment_intent.created` event, written together."""
    moment = now()
    intent = PaymentIntent(
        merchant_id=merchant_id, client_secret=security.new_client_secret(),
        expires_at=moment + timedelta(seconds=get_settings().intent_ttl_seconds),
        created_at=moment, updated_at=moment, **vars(fields))
    event = events.new_event(merchant_id, "payment_intent.created", intent.id,
                             {"object": events.intent_snapshot(intent)},
                             await events.webhook_state(merchant_id))
    await write_together(intent, event)
    return intent, [event.id]


# --- transitions ------------------------------------------------------------------------
@dataclass
class Change:
    """What a decision does to an intent: new field values, events, and an after-commit error."""

    fields: dict[str, Any] = field(default_factory=dict)
    event_types: list[str] = field(default_factory=list)
    refund: Refund | None = None
    raise_after_commit: UserError | None = None


class _Conflict(Exception):
    """The row changed between the read and the conditional write; decide again."""


Decision = Callable[[PaymentIntent, datetime], Change]


async def transition(intent_id: str, decide: Decision) -> tuple[PaymentIntent, Change,
                                                                  list[str]]:
    """Decide a change from the intent's state and write it with its events.

    Optimistic first: read, decide, and write only if the intent is still at the version it
    was decided on (one statement on PostgreSQL: two round trips in all, where a locked
    transaction takes five). If it changed meanwhile, decide again under a row lock, so a
    contended intent (concurrent refunds) is served in turn instead of retrying forever.
    """
    intent = await by_pk(PaymentIntent, intent_id)
    if intent is None:
        raise not_found("Payment intent")
    decided = await _decide_and_write(intent, decide)
    if decided is not None:
        return decided
    for _ in range(5):
        try:
            return await _transition_locked(intent_id, decide)
        except _Conflict:
            continue
    raise UserError(ErrorCode.INVALID_STATE, "The payment intent is busy; try again")


async def _transition_locked(intent_id: str, decide: Decision
                             ) -> tuple[PaymentIntent, Change, list[str]]:
    async with in_transaction():
        intent = await by_pk(PaymentIntent, intent_id, for_update=True)
        if intent is None:
            raise not_found("Payment intent")
        decided = await _decide_and_write(intent, decide)
        if decided is None:
            raise _Conflict
    return decided


async def _decide_and_write(intent: PaymentIntent, decide: Decision
                            ) -> tuple[PaymentIntent, Change, list[str]] | None:
    """Decide, then write the change, its refund and its events if the intent is still at
    the version it was decided on. None if it was not (nothing written)."""
    change = decide(intent, now())
    if not change.fields:
        return intent, change, []
    version, moment = intent.version, now()
    update = Update(PaymentIntent, intent.id,
                    {**change.fields, "version": version + 1, "updated_at": moment},
                    expect={"version": version})
    for name, value in update.changes.items():
        setattr(intent, name, value)
    written = await _events_of(intent, change)
    refunds = [change.refund] if change.refund is not None else []
    if not await write_if(update, *refunds, *written):
        return None
    return intent, change, [event.id for event in written]


async def _events_of(intent: PaymentIntent, change: Change) -> list[Event]:
    data = {"object": events.intent_snapshot(intent)}
    if change.refund is not None:
        data["refund"] = events.refund_snapshot(change.refund)
    state = await events.webhook_state(intent.merchant_id)
    return [events.new_event(intent.merchant_id, event_type, intent.id, data, state)
            for event_type in change.event_types]


def refuse(message: str) -> UserError:
    return UserError(ErrorCode.INVALID_STATE, message)


def _expire(intent: PaymentIntent) -> dict[str, Any]:
    return {"status": A.EXPIRED, "closed_at": now(), "close_reason": "expired"}


def _authorization_lapsed(intent: PaymentIntent, moment: datetime) -> bool:
    lifetime = timedelta(seconds=get_settings().auth_void_after_seconds)
    return intent.status is A.AUTHORIZED and intent.authorized_at is not None and \
        moment >= intent.authorized_at + lifetime


def _effective(intent: PaymentIntent, moment: datetime) -> IntentStatus:
    return A.VOIDED if _authorization_lapsed(intent, moment) else intent.effective_status(moment)


# --- confirm (the shopper pays) ----------------------------------------------------------
@dataclass(frozen=True)
class CardInput:
    number: str
    cardholder_name: str
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)


def decide_confirm(card: cards.CheckedCard, client_secret: str) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        check_client_secret(intent, client_secret)
        status = intent.status
        if status is A.AWAITING_PAYMENT_METHOD and moment >= intent.expires_at:
            return Change(_expire(intent), ["payment_intent.expired"],
                          raise_after_commit=_expired_error())
        if status in PAID:
            raise UserError(ErrorCode.PAYMENT_ALREADY_COMPLETED,
                            "This payment intent is already paid")
        if status is A.FAILED:
            raise UserError(ErrorCode.MAX_ATTEMPTS_REACHED,
                            "Too many declined attempts: this payment intent has failed")
        if status is A.EXPIRED:
            raise _expired_error()
        if status is not A.AWAITING_PAYMENT_METHOD:
            raise refuse(f"A {status.value} payment intent cannot be paid")
        return _attempt(intent, card, moment)
    return decide


def _expired_error() -> UserError:
    return UserError(ErrorCode.INTENT_EXPIRED, "This payment intent has expired")


def _attempt(intent: PaymentIntent, card: cards.CheckedCard, moment: datetime) -> Change:
    response = cards.simulate_issuer(card)
    fields: dict[str, Any] = {
        "attempt_count": intent.attempt_count + 1, "card_brand": card.brand,
        "card_last4": card.last4, "card_exp_month": card.exp_month,
        "card_exp_year": card.exp_year,
        "card_fingerprint": security.keyed_fingerprint(get_settings().card_fingerprint_key,
                                                       card.number),
    }
    if response.approved:
        return _approve(intent, fields, moment)
    fields |= {"last_error_code": response.code, "last_error_message": response.message}
    declined = UserError(ErrorCode.PAYMENT_DECLINED, response.message, ("card", "number"))
    if fields["attempt_count"] >= intent.max_attempts:
        fields |= {"status": A.FAILED, "closed_at": moment, "close_reason": "max_attempts"}
        return Change(fields, ["payment_intent.payment_failed", "payment_intent.failed"],
                      raise_after_commit=declined)
    return Change(fields, ["payment_intent.payment_failed"], raise_after_commit=declined)


def _approve(intent: PaymentIntent, fields: dict[str, Any], moment: datetime) -> Change:
    fields |= {"last_error_code": None, "last_error_message": None, "authorized_at": moment}
    if intent.capture_method is CaptureMethod.MANUAL:
        fields |= {"status": A.AUTHORIZED, "amount_capturable": intent.amount}
        return Change(fields, ["payment_intent.authorized"])
    fields |= {"status": A.CAPTURED, "amount_captured": intent.amount, "captured_at": moment}
    return Change(fields, ["payment_intent.captured"])


async def confirm(intent_id: str, client_secret: str, card: CardInput) -> PaymentIntent:
    """The one confirm of GraphQL and the hosted checkout. A decline commits (the attempt
    counts) and then raises PAYMENT_DECLINED carrying the updated intent.

    The card is checked first (no I/O, no attempt used); the client secret is checked on the
    locked row itself, which saves a read before the transaction.
    """
    checked = cards.check_card(card.number, card.cardholder_name, card.exp_month,
                               card.exp_year, card.cvc, now().date())
    intent, change, event_ids = await transition(intent_id, decide_confirm(checked,
                                                                           client_secret))
    await dispatch.deliver_events(event_ids)
    if change.raise_after_commit is not None:
        change.raise_after_commit.result = intent
        raise change.raise_after_commit
    return intent


# --- merchant operations ----------------------------------------------------------------
def decide_capture(amount: int | None) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        status = _effective(intent, moment)
        if status is not A.AUTHORIZED:
            raise refuse(f"Only an AUTHORIZED payment intent can be captured "
                         f"(this one is {status.value})")
        to_capture = intent.amount_capturable if amount is None else amount
        if to_capture > intent.amount_capturable:
            raise refuse(f"Cannot capture {to_capture}: only {intent.amount_capturable} "
                         f"is authorized")
        # Capturing less releases the rest of the authorization.
        return Change({"status": A.CAPTURED, "amount_captured": to_capture,
                       "amount_capturable": 0, "captured_at": moment},
                      ["payment_intent.captured"])
    return decide


def decide_void(reason: str | None) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        if intent.status is not A.AUTHORIZED:
            raise refuse(f"Only an AUTHORIZED payment intent can be voided "
                         f"(this one is {_effective(intent, moment).value})")
        return _void(moment, reason)
    return decide


def _void(moment: datetime, reason: str | None) -> Change:
    return Change({"status": A.VOIDED, "amount_capturable": 0, "closed_at": moment,
                   "close_reason": reason}, ["payment_intent.voided"])


def decide_cancel(reason: str | None = None) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        status = _effective(intent, moment)
        if status is A.AWAITING_PAYMENT_METHOD:
            return Change({"status": A.CANCELED, "closed_at": moment, "close_reason": reason},
                          ["payment_intent.canceled"])
        if intent.status is A.AUTHORIZED:
            return _void(moment, reason)
        raise refuse(f"A {status.value} payment intent cannot be canceled")
    return decide


def decide_refund(amount: int | None, reason: str | None) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        if intent.status not in (A.CAPTURED, A.PARTIALLY_REFUNDED):
            raise refuse(f"Only a captured payment can be refunded "
                         f"(this one is {intent.status.value})")
        left = intent.amount_captured - intent.amount_refunded
        to_refund = left if amount is None else amount
        if to_refund > left:
            raise refuse(f"Cannot refund {to_refund}: only {left} is left to refund")
        refunded = intent.amount_refunded + to_refund
        refund = Refund(id=security.new_id("re"), payment_intent_id=intent.id,
                        amount=to_refund, reason=reason, created_at=moment)
        status = A.REFUNDED if refunded == intent.amount_captured else A.PARTIALLY_REFUNDED
        return Change({"status": status, "amount_refunded": refunded},
                      ["payment_intent.refunded"], refund=refund)
    return decide


async def _merchant_operation(caller: Caller, intent_id: str, permission: str,
                              operation: str, arguments: dict[str, Any],
                              idempotency_key: str | None, decide: Decision
                              ) -> tuple[PaymentIntent, str]:
    """Authorize, then run the transition once per idempotency key; returns the intent and
    the id of what the operation produced (the intent, or the refund)."""
    intent = await visible_intent(caller, intent_id, permission)
    key = validation.idempotency_key(idempotency_key)
    fingerprint = request_fingerprint(operation, {"id": intent.id, **arguments})

    changed: list[PaymentIntent] = []

    async def work() -> tuple[str, list[str]]:
        updated, change, event_ids = await transition(intent.id, decide)
        changed.append(updated)
        return (change.refund.id if change.refund else updated.id), event_ids

    result_id, event_ids = await run_once(intent.merchant_id, key, fingerprint, work)
    await dispatch.deliver_events(event_ids)
    return changed[0] if changed else await PaymentIntent.get(id=intent.id), result_id


def _optional_amount(amount: int | None) -> int | None:
    return None if amount is None else money.positive_amount(amount)


async def capture(caller: Caller, intent_id: str, amount: int | None = None,
                  idempotency_key: str | None = None) -> PaymentIntent:
    amount = _optional_amount(amount)
    intent, _ = await _merchant_operation(
        caller, intent_id, "payment_intents:capture", "capture", {"amount": amount},
        idempotency_key, decide_capture(amount))
    return intent


async def void(caller: Caller, intent_id: str, reason: str | None = None,
               idempotency_key: str | None = None) -> PaymentIntent:
    reason = validation.optional_text(reason, "reason", max_length=500)
    intent, _ = await _merchant_operation(
        caller, intent_id, "payment_intents:void", "void", {"reason": reason},
        idempotency_key, decide_void(reason))
    return intent


async def cancel(caller: Caller, intent_id: str,
                 idempotency_key: str | None = None) -> PaymentIntent:
    intent, _ = await _merchant_operation(
        caller, intent_id, "payment_intents:cancel", "cancel", {}, idempotency_key,
        decide_cancel("requested_by_merchant"))
    return intent


async def refund(caller: Caller, intent_id: str, amount: int | None = None,
                 reason: str | None = None,
                 idempotency_key: str | None = None) -> tuple[Refund, PaymentIntent]:
    amount = _optional_amount(amount)
    reason = validation.optional_text(reason, "reason", max_length=500)
    intent, refund_id = await _merchant_operation(
        caller, intent_id, "payment_intents:refund", "refund",
        {"amount": amount, "reason": reason}, idempotency_key, decide_refund(amount, reason))
    return await Refund.get(id=refund_id), intent


# --- the worker's transitions -----------------------------------------------------------
def decide_auto_void(intent: PaymentIntent, moment: datetime) -> Change:
    if _authorization_lapsed(intent, moment):
        return _void(moment, "authorization_expired")
    return Change()


async def expire_due(batch: int = 1000, lanes: int = 3) -> list[str]:
    """Expire, in bulk, every intent whose `expiresAt` has passed; returns the events' ids.

    On PostgreSQL each batch is one statement (`bulk_expiry`) and rows are locked with SKIP
    LOCKED, so a confirm holding one wins and any number of sweepers, or lanes of one sweeper,
    run at once without doing an intent twice (SQLite has one writer). Each lane walks
    forward by expires_at: rescanning from the start would wade through the index entries of
    rows already expired, making a large backlog quadratic.
    """
    results = await asyncio.gather(*[_expire_lane(batch) for _ in range(lanes)])
    return [event_id for lane in results for event_id in lane]


async def _expire_lane(batch: int) -> list[str]:
    written: list[str] = []
    after: datetime | None = None
    while True:
        event_ids, after = await _expire_batch(batch, after)
        written += event_ids
        if after is None:
            return written


async def _expire_batch(batch: int, after: datetime | None
                        ) -> tuple[list[str], datetime | None]:
    """One batch, starting at `after`: an index range start on (status, expires_at). Rows
    already done no longer match the status, so no tie-breaker on id is needed, and ordering
    by expires_at alone lets the index give the rows in order instead of sorting them all."""
    moment = now()
    async with in_transaction() as connection:
        if is_postgres(connection):
            return await bulk_expiry.expire_batch(connection, moment, after, batch)
        query = PaymentIntent.filter(status=A.AWAITING_PAYMENT_METHOD, expires_at__lte=moment)
        if after is not None:
            query = query.filter(expires_at__gte=after)
        due = await query.order_by("expires_at").limit(batch)
        if not due:
            return [], None
        await PaymentIntent.filter(id__in=[i.id for i in due],
                                   status=A.AWAITING_PAYMENT_METHOD).update(
            status=A.EXPIRED, closed_at=moment, close_reason="expired",
            version=F("version") + 1, updated_at=moment)
        written = await _bulk_events(due, moment)
    return written, (due[-1].expires_at if len(due) == batch else None)


async def _bulk_events(intents: list[PaymentIntent], moment: datetime) -> list[str]:
    states = await events.webhook_states({i.merchant_id for i in intents})
    written = []
    for intent in intents:
        intent.status, intent.closed_at, intent.close_reason = A.EXPIRED, moment, "expired"
        written.append(events.new_event(intent.merchant_id, "payment_intent.expired", intent.id,
                                        {"object": events.intent_snapshot(intent)},
                                        states[intent.merchant_id]))
    await write_together(*written)
    return [event.id for event in written if event.next_attempt_at is not None]


async def void_lapsed_authorizations(batch: int = 500) -> list[str]:
    """Void authorizations never captured within their lifetime (7 days by default)."""
    cutoff = now() - timedelta(seconds=get_settings().auth_void_after_seconds)
    ids = await PaymentIntent.filter(status=A.AUTHORIZED, authorized_at__lte=cutoff).limit(
        batch).values_list("id", flat=True)
    written: list[str] = []
    for intent_id in ids:
        _, _, event_ids = await transition(intent_id, decide_auto_void)
        written += event_ids
    return written
