"""What the holder of a client secret (the shopper) may learn about an intent (CONTRACT §12.3).

The GraphQL `CheckoutSession` and the hosted checkout page both read their numbers here, so
the two never disagree.
"""

from __future__ import annotations

from datetime import datetime

from models.merchants import Merchant
from models.payment_intents import IntentStatus, PaymentIntent
from resolvers.access import Caller


def remaining_attempts(intent: PaymentIntent, moment: datetime) -> int:
    """How many more cards the shopper may try: none once the intent cannot be paid any more
    (paid, closed, or past `expiresAt`), never below zero."""
    if intent.effective_status(moment) is not IntentStatus.AWAITING_PAYMENT_METHOD:
        return 0
    return max(0, intent.max_attempts - intent.attempt_count)


async def merchant_name(intent: PaymentIntent) -> str:
    """The business name the shopper is paying, from `select_related` when it was loaded."""
    merchant = intent.merchant
    if not isinstance(merchant, Merchant):
        merchant = await merchant
    return merchant.business_name


def merchant_sees_confirmed_intent(caller: Caller, intent: PaymentIntent) -> bool:
    """Whether a confirm also answers with the whole intent: only when the request carries
    the API key of the intent's own merchant. A user token is not enough: a confirm is the
    shopper's call, and the merchant's server is the one that holds the key (§12.3)."""
    return caller.api_key is not None and caller.api_key.merchant_id == intent.merchant_id
