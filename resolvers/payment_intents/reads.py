"""Reading intents: by the merchant (key or member), by the shopper (client secret)."""

from __future__ import annotations

from core import validation
from core.config import get_settings
from core.errors import not_found
from models.payment_intents import IntentStatus, PaymentIntent, Refund
from resolvers.access import Caller, find_visible, visible
from resolvers.batches import grouped
from resolvers.paging import merchant_page
from resolvers.payment_intents.decisions import check_client_secret


async def visible_intent(caller: Caller, intent_id: str,
                         permission: str = "payment_intents:read") -> PaymentIntent:
    return await visible(caller, PaymentIntent, intent_id, permission, "Payment intent")


async def find_for(caller: Caller, intent_id: str) -> PaymentIntent | None:
    return await find_visible(caller, PaymentIntent, intent_id, "payment_intents:read",
                              "Payment intent")


async def list_intents(caller: Caller, merchant_id: str | None, status: IntentStatus | None,
                       first: int, after: str | None) -> tuple[list[PaymentIntent], bool]:
    return await merchant_page(caller, PaymentIntent, merchant_id, "payment_intents:read",
                               first, after, status)


async def checkout_session(intent_id: str, client_secret: str) -> PaymentIntent:
    """The intent, with its merchant, for whoever holds its client secret."""
    intent = await PaymentIntent.get_or_none(id=intent_id).select_related("merchant") \
        if validation.is_well_formed_id(intent_id) else None
    if intent is None:
        raise not_found("Payment intent")
    check_client_secret(intent, client_secret)
    return intent


async def refunds_of(intent_ids: list[str]) -> list[list[Refund]]:
    rows = await Refund.filter(payment_intent_id__in=intent_ids).order_by("created_at")
    return grouped(intent_ids, rows, lambda refund: refund.payment_intent_id)


def checkout_url(intent: PaymentIntent) -> str:
    base = get_settings().public_base_url
    return f"{base}/checkout/{intent.id}?client_secret={intent.client_secret}"
