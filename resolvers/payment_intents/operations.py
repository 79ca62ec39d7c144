"""The operations that move money: the shopper's confirm and the merchant's capture, void,
cancel and refund. Each authorizes, runs its decision through the engine once per
idempotency key, and wakes delivery after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core import cards, money, security, validation
from core.clock import now
from core.config import get_settings
from models.payment_intents import PaymentIntent, Refund
from resolvers import dispatch
from resolvers.access import Caller
from resolvers.idempotency import request_fingerprint, run_once
from resolvers.payment_intents.decisions import (
    Decision,
    decide_cancel,
    decide_capture,
    decide_confirm,
    decide_refund,
    decide_void,
)
from resolvers.payment_intents.engine import transition
from resolvers.payment_intents.reads import visible_intent


def authorization_lifetime() -> timedelta:
    """How long an authorization holds before the worker voids it (7 days by default)."""
    return timedelta(seconds=get_settings().auth_void_after_seconds)


# --- confirm (the shopper pays) -------------------------------------------------------------
@dataclass(frozen=True)
class CardInput:
    number: str
    cardholder_name: str
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)


async def confirm(intent_id: str, client_secret: str, card: CardInput) -> PaymentIntent:
    """The one confirm of GraphQL and the hosted checkout. A decline commits (the attempt
    counts) and then raises PAYMENT_DECLINED carrying the updated intent.

    The card is checked first (no I/O, no attempt used); the client secret is checked on the
    row the decision reads, which saves a read before the write.
    """
    checked = cards.check_card(card.number, card.cardholder_name, card.exp_month,
                               card.exp_year, card.cvc, now().date())
    fingerprint = security.keyed_fingerprint(get_settings().card_fingerprint_key, checked.number)
    intent, change, event_ids = await transition(
        intent_id, decide_confirm(checked, fingerprint, client_secret))
    await dispatch.deliver_events(event_ids)
    if change.raise_after_commit is not None:
        change.raise_after_commit.result = intent
        raise change.raise_after_commit
    return intent


# --- the merchant's operations -----------------------------------------------------------------
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
        idempotency_key, decide_capture(amount, authorization_lifetime()))
    return intent


async def void(caller: Caller, intent_id: str, reason: str | None = None,
               idempotency_key: str | None = None) -> PaymentIntent:
    reason = validation.optional_text(reason, "reason", max_length=500)
    intent, _ = await _merchant_operation(
        caller, intent_id, "payment_intents:void", "void", {"reason": reason},
        idempotency_key, decide_void(reason, authorization_lifetime()))
    return intent


async def cancel(caller: Caller, intent_id: str,
                 idempotency_key: str | None = None) -> PaymentIntent:
    intent, _ = await _merchant_operation(
        caller, intent_id, "payment_intents:cancel", "cancel", {}, idempotency_key,
        decide_cancel("requested_by_merchant", authorization_lifetime()))
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


