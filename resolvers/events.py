"""Events: written in the transaction of the change they describe, delivered afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import security
from core.cache import TTLCache
from core.clock import now
from core.requests import current_request_id
from models.events import DeliveryState, Event
from models.money import Dispute, DisputeStatus, Payout, PayoutStatus
from models.payment_intents import PaymentIntent, Refund
from models.sql import write_together
from models.webhooks import WebhookEndpoint


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def intent_snapshot(intent: PaymentIntent) -> dict[str, Any]:
    """The intent as webhooks carry it (snake_case; never the client secret or card number)."""
    card = None
    if intent.card_last4:
        card = {"brand": intent.card_brand, "last4": intent.card_last4,
                "exp_month": intent.card_exp_month, "exp_year": intent.card_exp_year}
    error = None
    if intent.last_error_code:
        error = {"code": intent.last_error_code, "message": intent.last_error_message}
    return {
        "id": intent.id, "object": "payment_intent", "merchant_id": intent.merchant_id,
        "status": intent.status.value, "amount": intent.amount, "currency": intent.currency,
        "capture_method": intent.capture_method.value, "description": intent.description,
        "order_id": intent.order_id, "customer_email": intent.customer_email,
        "metadata": intent.metadata, "success_url": intent.success_url,
        "cancel_url": intent.cancel_url, "expires_at": iso(intent.expires_at),
        "created_at": iso(intent.created_at), "attempt_count": intent.attempt_count,
        "max_attempts": intent.max_attempts, "amount_capturable": intent.amount_capturable,
        "amount_captured": intent.amount_captured, "amount_refunded": intent.amount_refunded,
        "card": card, "last_payment_error": error, "line_items": intent.line_items,
        "locale": intent.locale, "submit_type": intent.submit_type,
    }


def refund_snapshot(refund: Refund) -> dict[str, Any]:
    return {"id": refund.id, "object": "refund", "payment_intent_id": refund.payment_intent_id,
            "amount": refund.amount, "reason": refund.reason, "status": refund.status,
            "created_at": iso(refund.created_at)}


def payout_snapshot(payout: Payout) -> dict[str, Any]:
    """A payout as webhooks carry it (CONTRACT §13): the destination only as its last 4."""
    return {"id": payout.id, "object": "payout", "merchant_id": payout.merchant_id,
            "amount": payout.amount, "currency": payout.currency,
            "status": PayoutStatus(payout.status).value, "automatic": payout.automatic,
            "destination_last4": payout.destination_last4,
            "arrival_date": iso(payout.arrival_date), "failure_code": payout.failure_code,
            "created_at": iso(payout.created_at)}


def dispute_snapshot(dispute: Dispute) -> dict[str, Any]:
    return {"id": dispute.id, "object": "dispute", "merchant_id": dispute.merchant_id,
            "payment_intent_id": dispute.payment_intent_id, "amount": dispute.amount,
            "currency": dispute.currency, "reason": dispute.reason,
            "status": DisputeStatus(dispute.status).value, "evidence": dispute.evidence,
            "evidence_due_by": iso(dispute.evidence_due_by),
            "created_at": iso(dispute.created_at), "closed_at": iso(dispute.closed_at)}


# Whether each merchant has webhook endpoints, for one second. An event's delivery_state only
# says whether to wake the delivery after commit: what each endpoint is owed is written with the
# event, exactly (models.sql). So a stale answer costs no event: a needless wake-up finds nothing
# to claim, and a missed one leaves the pairs to the sweep. Concurrent misses share one query.
_states: TTLCache[str, DeliveryState] = TTLCache(ttl_seconds=1.0)


async def webhook_state(merchant_id: str) -> DeliveryState:
    state = await _states.get_or_load(merchant_id, lambda: _state_of(merchant_id))
    return state if state is not None else DeliveryState.NONE


async def _state_of(merchant_id: str) -> DeliveryState:
    return (await webhook_states({merchant_id}))[merchant_id]


def forget_webhook_state(merchant_id: str) -> None:
    _states.forget(merchant_id)


async def webhook_states(merchant_ids: set[str]) -> dict[str, DeliveryState]:
    """PENDING for merchants with a webhook endpoint (their events may be owed), else NONE."""
    with_endpoints = set(await WebhookEndpoint.filter(merchant_id__in=merchant_ids)
                         .values_list("merchant_id", flat=True))
    return {merchant_id: DeliveryState.PENDING if merchant_id in with_endpoints
            else DeliveryState.NONE for merchant_id in merchant_ids}


def new_event(merchant_id: str, event_type: str, object_id: str | None, data: dict[str, Any],
              state: DeliveryState) -> Event:
    """An unsaved event, written with the change it describes (models.sql writes its
    deliveries with it); `next_attempt_at` set (PENDING) means: wake the delivery after
    commit. It keeps the id of the request being served, if any (CONTRACT §16)."""
    moment = now()
    return Event(id=security.new_id("evt"), merchant_id=merchant_id, type=event_type,
                 object_id=object_id, data=data, created_at=moment, delivery_state=state,
                 attempt_count=0, retry_base=0,
                 next_attempt_at=moment if state is DeliveryState.PENDING else None,
                 request_id=current_request_id())


async def record(merchant_id: str, event_type: str, object_id: str | None,
                 data: dict[str, Any]) -> Event:
    """An event alone (no state change with it), with its deliveries."""
    event = new_event(merchant_id, event_type, object_id, data,
                      await webhook_state(merchant_id))
    await write_together(event)
    return event
