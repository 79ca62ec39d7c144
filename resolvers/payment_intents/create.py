"""Creating an intent: validate, then write the intent and its `created` event together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core import line_items, money, security, validation
from core.clock import now
from core.config import get_settings
from core.errors import forbidden
from core.line_items import LineItem
from core.names import EventType
from models.payment_intents import CaptureMethod, PaymentIntent, SubmitType
from models.sql import write_together
from resolvers import dispatch, events
from resolvers.access import Caller
from resolvers.idempotency import request_fingerprint, run_once


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
    line_items: list[LineItem] | list[dict[str, Any]] | None = None  # validated: as stored
    locale: str | None = None
    submit_type: SubmitType = SubmitType.PAY

    def validated(self) -> NewIntent:
        amount = money.amount(self.amount)
        return NewIntent(
            amount=amount, currency=money.currency(self.currency),
            success_url=validation.http_url(self.success_url, "successUrl"),
            cancel_url=validation.optional_url(self.cancel_url, "cancelUrl"),
            capture_method=self.capture_method,
            description=validation.optional_text(self.description, "description",
                                                 max_length=1000),
            order_id=validation.optional_text(self.order_id, "orderId"),
            customer_email=validation.email(self.customer_email, "customerEmail")
            if self.customer_email else None,
            metadata=validation.metadata(self.metadata),
            line_items=line_items.line_items(self.line_items, amount),
            locale=line_items.locale(self.locale),
            submit_type=SubmitType(self.submit_type).value)


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
    event = events.new_event(merchant_id, EventType.PAYMENT_INTENT_CREATED, intent.id,
                             {"object": events.intent_snapshot(intent)},
                             await events.webhook_state(merchant_id))
    await write_together(intent, event)
    return intent, [event.id]


