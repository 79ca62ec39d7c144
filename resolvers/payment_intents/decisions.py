"""The payment state machine (CONTRACT §6) as pure functions: (intent, moment) -> Change.

A decision reads the intent as it is and says what changes: new field values, the events
that describe them, a refund row, and an error to raise once the change is committed (a
declined card still counts its attempt). Or it raises at once, changing nothing. No I/O and
no settings here: what a decision needs (the card's fingerprint, an authorization's
lifetime) is passed in, so every line of the table is tested without a database
(tests/resolvers/test_decisions.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core import cards, limits, security
from core.errors import ErrorCode, UserError
from core.names import EventType
from models.money import DisputeStatus
from models.payment_intents import PAID, CaptureMethod, IntentStatus, PaymentIntent, Refund

Status = IntentStatus


@dataclass
class Change:
    """What a decision does to an intent: new field values, events, and an after-commit error."""

    fields: dict[str, Any] = field(default_factory=dict)
    event_types: list[EventType] = field(default_factory=list)
    refund: Refund | None = None
    raise_after_commit: UserError | None = None
    # Money (CONTRACT §13, resolvers/money): rows and updates written with the change (the
    # ledger, its totals, a dispute), and events about other objects: (type, id, data).
    writes: list[Any] = field(default_factory=list)
    other_events: list[tuple[EventType, str, dict[str, Any]]] = field(default_factory=list)


Decision = Callable[[PaymentIntent, datetime], Change]


def refuse(message: str) -> UserError:
    return UserError(ErrorCode.INVALID_STATE, message)


def check_client_secret(intent: PaymentIntent, client_secret: str) -> None:
    presented = client_secret.encode("utf-8", "surrogatepass")  # any text: never a crash
    if not hmac.compare_digest(intent.client_secret.encode(), presented):
        raise UserError(ErrorCode.INVALID_CLIENT_SECRET,
                        "The client secret does not belong to this payment intent",
                        "clientSecret")


# --- time: expiry and lapsed authorizations -------------------------------------------------
def expiry_fields(moment: datetime) -> dict[str, Any]:
    """An intent left unpaid past `expiresAt`: the one definition, for the confirm that finds
    it so and for the bulk sweep."""
    return {"status": Status.EXPIRED, "closed_at": moment, "close_reason": "expired"}


def authorization_lapsed(intent: PaymentIntent, moment: datetime, lifetime: timedelta) -> bool:
    return intent.status is Status.AUTHORIZED and intent.authorized_at is not None and \
        moment >= intent.authorized_at + lifetime


def effective_status(intent: PaymentIntent, moment: datetime, lifetime: timedelta) -> Status:
    """The status as of `moment`, counting what the sweeps have not recorded yet."""
    if authorization_lapsed(intent, moment, lifetime):
        return Status.VOIDED
    return intent.effective_status(moment)


# --- confirm (the shopper pays) -----------------------------------------------------------------
def decide_confirm(card: cards.CheckedCard, fingerprint: str, client_secret: str) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        check_client_secret(intent, client_secret)
        status = intent.status
        if status is Status.AWAITING_PAYMENT_METHOD and moment >= intent.expires_at:
            return Change(expiry_fields(moment), [EventType.PAYMENT_INTENT_EXPIRED],
                          raise_after_commit=expired_error())
        if status in PAID:
            raise UserError(ErrorCode.PAYMENT_ALREADY_COMPLETED,
                            "This payment intent is already paid")
        if status is Status.FAILED:
            raise UserError(ErrorCode.MAX_ATTEMPTS_REACHED,
                            "Too many declined attempts: this payment intent has failed")
        if status is Status.EXPIRED:
            raise expired_error()
        if status is not Status.AWAITING_PAYMENT_METHOD:
            raise refuse(f"A {status.value} payment intent cannot be paid")
        return _attempt(intent, card, fingerprint, moment)
    return decide


def expired_error() -> UserError:
    return UserError(ErrorCode.INTENT_EXPIRED, "This payment intent has expired")


def _attempt(intent: PaymentIntent, card: cards.CheckedCard, fingerprint: str,
             moment: datetime) -> Change:
    response = cards.simulate_issuer(card)
    fields: dict[str, Any] = {
        "attempt_count": intent.attempt_count + 1, "card_brand": card.brand,
        "card_last4": card.last4, "card_exp_month": card.exp_month,
        "card_exp_year": card.exp_year, "card_fingerprint": fingerprint,
    }
    if response.approved:
        if response.disputed:  # a flag, never the card number: the dispute sweep reads it
            fields["disputes_on_capture"] = True
        return _approve(intent, fields, moment)
    fields |= {"last_error_code": response.code, "last_error_message": response.message}
    declined = UserError(ErrorCode.PAYMENT_DECLINED, response.message, ("card", "number"))
    if fields["attempt_count"] >= intent.max_attempts:
        fields |= {"status": Status.FAILED, "closed_at": moment, "close_reason": "max_attempts"}
        return Change(fields, [EventType.PAYMENT_INTENT_PAYMENT_FAILED,
                               EventType.PAYMENT_INTENT_FAILED], raise_after_commit=declined)
    return Change(fields, [EventType.PAYMENT_INTENT_PAYMENT_FAILED],
                  raise_after_commit=declined)


def _approve(intent: PaymentIntent, fields: dict[str, Any], moment: datetime) -> Change:
    fields |= {"last_error_code": None, "last_error_message": None, "authorized_at": moment}
    if intent.capture_method is CaptureMethod.MANUAL:
        fields |= {"status": Status.AUTHORIZED, "amount_capturable": intent.amount}
        return Change(fields, [EventType.PAYMENT_INTENT_AUTHORIZED])
    fields |= {"status": Status.CAPTURED, "amount_captured": intent.amount, "captured_at": moment}
    return Change(fields, [EventType.PAYMENT_INTENT_CAPTURED])


# --- the merchant's operations -----------------------------------------------------------------
def decide_capture(amount: int | None, lifetime: timedelta) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        status = effective_status(intent, moment, lifetime)
        if status is not Status.AUTHORIZED:
            raise refuse(f"Only an AUTHORIZED payment intent can be captured "
                         f"(this one is {status.value})")
        to_capture = intent.amount_capturable if amount is None else amount
        if to_capture > intent.amount_capturable:
            raise refuse(f"Cannot capture {to_capture}: only {intent.amount_capturable} "
                         f"is authorized")
        # Capturing less releases the rest of the authorization.
        return Change({"status": Status.CAPTURED, "amount_captured": to_capture,
                       "amount_capturable": 0, "captured_at": moment},
                      [EventType.PAYMENT_INTENT_CAPTURED])
    return decide


def decide_void(reason: str | None, lifetime: timedelta) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        if intent.status is not Status.AUTHORIZED:
            raise refuse(f"Only an AUTHORIZED payment intent can be voided "
                         f"(this one is {effective_status(intent, moment, lifetime).value})")
        return _void(moment, reason)
    return decide


def _void(moment: datetime, reason: str | None) -> Change:
    return Change({"status": Status.VOIDED, "amount_capturable": 0, "closed_at": moment,
                   "close_reason": reason}, [EventType.PAYMENT_INTENT_VOIDED])


def decide_cancel(reason: str | None, lifetime: timedelta) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        status = effective_status(intent, moment, lifetime)
        if status is Status.AWAITING_PAYMENT_METHOD:
            return Change({"status": Status.CANCELED, "closed_at": moment,
                           "close_reason": reason}, [EventType.PAYMENT_INTENT_CANCELED])
        if intent.status is Status.AUTHORIZED:
            return _void(moment, reason)
        raise refuse(f"A {status.value} payment intent cannot be canceled")
    return decide


def decide_refund(amount: int | None, reason: str | None) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        if intent.status not in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
            raise refuse(f"Only a captured payment can be refunded "
                         f"(this one is {intent.status.value})")
        left = intent.amount_captured - intent.amount_refunded
        to_refund = left if amount is None else amount
        if to_refund > left:
            raise refuse(f"Cannot refund {to_refund}: only {left} is left to refund")
        check_refundable(intent)  # not while a dispute is open or lost (CONTRACT §13)
        if intent.refund_count >= limits.REFUNDS_PER_INTENT:
            raise refuse(f"A payment takes at most {limits.REFUNDS_PER_INTENT} refunds; "
                         f"refund the rest at once")
        refunded = intent.amount_refunded + to_refund
        refund = Refund(id=security.new_id("re"), payment_intent_id=intent.id,
                        amount=to_refund, reason=reason, created_at=moment)
        status = Status.REFUNDED if refunded == intent.amount_captured \
            else Status.PARTIALLY_REFUNDED
        return Change({"status": status, "amount_refunded": refunded,
                       "refund_count": intent.refund_count + 1},
                      [EventType.PAYMENT_INTENT_REFUNDED], refund=refund)
    return decide


def check_refundable(intent: PaymentIntent) -> None:
    """A refund of an intent whose dispute is open or lost is refused; after a win, allowed."""
    if intent.dispute_status not in (None, DisputeStatus.WON.value):
        raise refuse(f"This payment is disputed ({intent.dispute_status}): it cannot be "
                     f"refunded")


# --- the worker's -------------------------------------------------------------------------------
def decide_auto_void(lifetime: timedelta) -> Decision:
    def decide(intent: PaymentIntent, moment: datetime) -> Change:
        if authorization_lapsed(intent, moment, lifetime):
            return _void(moment, "authorization_expired")
        return Change()
    return decide
