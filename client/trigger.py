"""`python main.py trigger TYPE` (CONTRACT §15): make the gateway emit an event of that type,
through the public API and the test cards, as a merchant's server and a shopper would."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import httpx

from client.graphql import Gateway, GatewayError

ERRORS = "userErrors { code field message }"
CREATE = f"""mutation($input: CreatePaymentIntentInput!) {{ createPaymentIntent(input: $input) {{
  paymentIntent {{ id clientSecret }} {ERRORS} }} }}"""
CONFIRM = f"""mutation($input: ConfirmPaymentIntentInput!) {{
  confirmPaymentIntent(input: $input) {{ checkoutSession {{ status }} {ERRORS} }} }}"""
CANCEL = f"""mutation($input: PaymentIntentActionInput!) {{ cancelPaymentIntent(input: $input) {{
  paymentIntent {{ id status }} {ERRORS} }} }}"""
VOID = f"""mutation($input: VoidPaymentIntentInput!) {{ voidPaymentIntent(input: $input) {{
  paymentIntent {{ id status }} {ERRORS} }} }}"""
REFUND = f"""mutation($input: RefundPaymentIntentInput!) {{ refundPaymentIntent(input: $input) {{
  refund {{ id }} {ERRORS} }} }}"""

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"  # do not honor (05)
MAX_ATTEMPTS = 5


class Trigger:
    """Each method makes one event type happen and returns the ids it made, labelled."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def intent(self, capture_method: str = "AUTOMATIC") -> dict:
        payload = await self.gateway.mutate(CREATE, "createPaymentIntent", {
            "amount": 2000, "currency": "USD", "successUrl": "https://example.com/ok",
            "cancelUrl": "https://example.com/cancel", "captureMethod": capture_method,
            "description": "Triggered by `main.py trigger`"})
        return payload["paymentIntent"]

    async def pay(self, intent: dict, number: str) -> None:
        card = {"number": number, "cardholderName": "Test Card", "expMonth": 12,
                "expYear": 2040, "cvc": "123"}
        answer = await self.gateway.request(CONFIRM, {"input": {
            "id": intent["id"], "clientSecret": intent["clientSecret"], "card": card}})
        answer.raise_for_errors()
        errors = answer.data["confirmPaymentIntent"]["userErrors"]
        if errors and errors[0]["code"] != "PAYMENT_DECLINED":
            raise GatewayError(errors[0]["code"], errors[0]["message"], answer)

    async def created(self) -> dict[str, str]:
        return {"payment_intent": (await self.intent())["id"]}

    async def authorized(self) -> dict[str, str]:
        intent = await self.intent("MANUAL")
        await self.pay(intent, APPROVED)
        return {"payment_intent": intent["id"]}

    async def captured(self) -> dict[str, str]:
        intent = await self.intent()
        await self.pay(intent, APPROVED)
        return {"payment_intent": intent["id"]}

    async def payment_failed(self) -> dict[str, str]:
        intent = await self.intent()
        await self.pay(intent, DECLINED)
        return {"payment_intent": intent["id"]}

    async def failed(self) -> dict[str, str]:
        intent = await self.intent()
        for _ in range(MAX_ATTEMPTS):
            await self.pay(intent, DECLINED)
        return {"payment_intent": intent["id"]}

    async def canceled(self) -> dict[str, str]:
        intent = await self.intent()
        await self.gateway.mutate(CANCEL, "cancelPaymentIntent", {"id": intent["id"]})
        return {"payment_intent": intent["id"]}

    async def voided(self) -> dict[str, str]:
        intent = await self.intent("MANUAL")
        await self.pay(intent, APPROVED)
        await self.gateway.mutate(VOID, "voidPaymentIntent", {"id": intent["id"]})
        return {"payment_intent": intent["id"]}

    async def refunded(self) -> dict[str, str]:
        intent = await self.intent()
        await self.pay(intent, APPROVED)
        refund = await self.gateway.mutate(REFUND, "refundPaymentIntent", {"id": intent["id"]})
        return {"payment_intent": intent["id"], "refund": refund["refund"]["id"]}


# The event types `trigger` makes (CONTRACT §15), by the method making each.
TYPES: dict[str, Callable[[Trigger], Awaitable[dict[str, str]]]] = {
    f"payment_intent.{name}": getattr(Trigger, name)
    for name in ("created", "authorized", "captured", "payment_failed", "failed", "canceled",
                 "voided", "refunded")}


async def trigger(url: str, api_key: str, event_type: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=30, trust_env=False) as http:
        return await TYPES[event_type](Trigger(Gateway(http, api_key=api_key)))


def run_trigger(url: str, api_key: str, event_type: str) -> int:
    """The command: the ids made, one per line; 1 with one line on stderr on failure."""
    if event_type not in TYPES:
        print(f"trigger: unknown event type {event_type!r}; one of: {', '.join(TYPES)}",
              file=sys.stderr)
        return 1
    try:
        ids = asyncio.run(trigger(url, api_key, event_type))
    except httpx.HTTPError as error:
        print(f"trigger: cannot reach the gateway at {url}: {error}", file=sys.stderr)
        return 1
    except ValueError:
        print(f"trigger: {url} does not look like the gateway", file=sys.stderr)
        return 1
    except GatewayError as error:
        hint = " (is the API key right?)" if error.code == "UNAUTHENTICATED" else ""
        print(f"trigger: the gateway refused: {error.code}: {error.message}{hint}",
              file=sys.stderr)
        return 1
    print(f"Triggered {event_type}")
    for label, object_id in ids.items():
        print(f"  {label}: {object_id}")
    return 0
