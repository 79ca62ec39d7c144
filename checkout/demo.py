"""`python main.py demo`: the quick start against a running gateway, ending in a checkout URL."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from client import Gateway, GatewayError, onboard

PASSWORD = "demo password 123"

CREATE_INTENT = """mutation($input: CreatePaymentIntentInput!) {
  createPaymentIntent(input: $input) {
    paymentIntent { id checkoutUrl } userErrors { code field message } } }"""


def run_demo(base_url: str) -> int:
    return asyncio.run(_demo(base_url))


async def _demo(base_url: str) -> int:
    email = f"demo-{secrets.token_hex(4)}@example.com"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            gateway = Gateway(http)
            merchant = await onboard(gateway, name="Demo", email=email, password=PASSWORD,
                                     business_name="Demo Books",
                                     merchant_email="billing@demo.test")
            created = await gateway.as_merchant_server(merchant.api_key).mutate(
                CREATE_INTENT, "createPaymentIntent", {
                    "amount": 4999, "currency": "USD", "description": "A demo order",
                    "successUrl": f"{base_url}/healthz?paid={{CHECKOUT_SESSION_ID}}",
                    "cancelUrl": f"{base_url}/healthz?canceled=1"})
    except (httpx.HTTPError, ValueError, GatewayError) as error:
        print(f"demo failed against {base_url}: {error}")
        return 1
    intent = created["paymentIntent"]
    print(f"user      {email} / {PASSWORD}\nmerchant  {merchant.id}\n"
          f"api key   {merchant.api_key}\nintent    {intent['id']}\n\n"
          f"Pay it (4242 4242 4242 4242, any future date, any CVC):\n  {intent['checkoutUrl']}")
    return 0
