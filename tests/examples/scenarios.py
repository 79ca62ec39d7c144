"""What every integration example must do, checked the same way whatever its language."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from client.graphql import Gateway
from tests.receiver import wait_for

VISA = "4242 4242 4242 4242"
READ_INTENT = """query($id: ID!) { paymentIntent(id: $id) {
  status lineItems { name quantity unitAmount amount } } }"""
CREATE_INTENT = """mutation($input: CreatePaymentIntentInput!) {
  createPaymentIntent(input: $input) { paymentIntent { id } userErrors { code message } } }"""


def received(example) -> list[dict]:
    return httpx.get(f"{example.url}/webhooks/received", timeout=5).json()


async def a_shopper_pays_and_the_shop_hears_of_it(example, browser) -> None:
    """Shop, buy, pay on the hosted checkout, land on the shop's page saying paid; the shop
    then holds the verified `payment_intent.captured` webhook of that intent."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(example.url + "/")
        async with page.expect_navigation(url=f"{example.gateway_url}/checkout/**"):
            await page.click("#buy")
        await page.fill("#card_number", VISA)
        await page.fill("#cardholder_name", "Ada Lovelace")
        await page.fill("#expiry", "12/34")
        await page.fill("#cvc", "123")
        async with page.expect_navigation():
            await page.click("#pay-button")
        assert page.url.startswith(f"{example.url}/success"), await page.inner_text("body")
        title = await page.text_content("#title")
        intent_id = page.url.split("session=")[1].split("&")[0]
    finally:
        await context.close()
    assert title == "Paid, thank you!"
    intent = await read_intent(example, intent_id)
    assert intent["status"] == "CAPTURED"
    assert [(item["name"], item["quantity"], item["amount"]) for item in intent["lineItems"]] \
        == [("The Pragmatic Programmer", 1, 4999), ("Bookmark", 2, 1000)]
    captured = await wait_for(lambda: [event for event in received(example)
                                       if event["type"] == "payment_intent.captured"])
    assert [event["intent"] for event in captured] == [intent_id]


async def read_intent(example, intent_id: str) -> dict:
    """The intent as the merchant's server sees it."""
    async with httpx.AsyncClient(base_url=example.gateway_url, timeout=15) as http:
        answer = await Gateway(http, api_key=example.merchant.api_key).request(
            READ_INTENT, {"id": intent_id})
    answer.raise_for_errors()
    return answer.data["paymentIntent"]


def signed(example, body: str, webhook_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"content-type": "application/json", "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(example.webhook_secret).sign(webhook_id, now, body)}


def sample_event(webhook_id: str) -> str:
    return json.dumps({"id": webhook_id, "type": "webhook.test", "created_at": "2026-01-01",
                       "data": {"object": {"id": "pi_test", "status": "CAPTURED"}}})


async def webhooks_are_verified_and_deduped(example) -> None:
    """A bad signature is a 400 and is not kept; the same delivery twice is kept once."""
    webhook_id = f"evt_{secrets.token_hex(8)}"
    body = sample_event(webhook_id)
    forged = {**signed(example, body, webhook_id), "webhook-signature": "v1,AAAA"}
    with httpx.Client(base_url=example.url, timeout=5) as http:
        refused = http.post("/webhooks", content=body, headers=forged)
        unsigned = http.post("/webhooks", content=body)
        first = http.post("/webhooks", content=body, headers=signed(example, body, webhook_id))
        again = http.post("/webhooks", content=body, headers=signed(example, body, webhook_id))
    assert (refused.status_code, unsigned.status_code) == (400, 400)
    assert first.is_success and again.is_success
    assert [event["id"] for event in received(example)].count(webhook_id) == 1


async def an_unpaid_order_is_not_called_paid(example) -> None:
    """The success page asks the gateway: an intent nobody paid is not paid."""
    async with httpx.AsyncClient(base_url=example.gateway_url, timeout=15) as http:
        gateway = Gateway(http, api_key=example.merchant.api_key)
        created = await gateway.mutate(CREATE_INTENT, "createPaymentIntent", {
            "amount": 500, "currency": "USD", "successUrl": f"{example.url}/success"})
    intent_id = created["paymentIntent"]["id"]
    page = httpx.get(f"{example.url}/success", params={"session": intent_id}, timeout=15)
    forged = httpx.get(f"{example.url}/success", params={"session": "pi_nope"}, timeout=15)
    assert "Not paid" in page.text and "Paid, thank you" not in page.text
    assert "Paid, thank you" not in forged.text
