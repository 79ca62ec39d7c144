"""CONTRACT §12.3: what the holder of a client secret (the shopper) reads.

A confirm with the client secret alone answers the shopper's `checkoutSession`, never the
merchant's intent; the whole intent comes back only with the API key of the intent's own
merchant. Neither the GraphQL answers nor the hosted page carry the merchant's data.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from models.payment_intents import CaptureMethod, PaymentIntent
from models.payment_intents import IntentStatus as S
from resolvers.payment_intents.shopper import remaining_attempts
from schema.schema import build_schema
from tests.helpers import (
    CONFIRM,
    DECLINE_CARDS,
    INTENT,
    REFUND,
    add_member,
    card,
    create_intent,
    error_code,
    gql,
    open_shop,
    payload_of,
)

SESSION = """query($id: ID!, $secret: String!) { checkoutSession(id: $id, clientSecret: $secret) {
  id status amount currency description merchantName expiresAt remainingAttempts successUrl
  cancelUrl attemptCount lastPaymentError { code message } card { brand last4 expMonth expYear }
} }"""



def marked() -> dict:
    """Merchant-only values distinctive enough to grep for in a raw response."""
    tag = secrets.token_hex(6)
    return {"orderId": f"order-{tag}", "customerEmail": f"buyer-{tag}@example.com",
            "metadata": {"cart": f"meta-{tag}", "note": f"note-{tag}"}}


def secrets_of(values: dict) -> list[str]:
    return [values["orderId"], values["customerEmail"], *values["metadata"].values()]


async def raw_graphql(client, query: str, variables: dict, headers: dict | None = None) -> str:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers=headers or {})
    assert response.status_code == 200, response.text
    return response.text


async def raw_confirm(client, intent: dict, number: str = "4242 4242 4242 4242",
                      headers: dict | None = None) -> tuple[str, dict]:
    text = await raw_graphql(client, CONFIRM, {"input": {
        "id": intent["id"], "clientSecret": intent["clientSecret"], "card": card(number)}},
        headers)
    return text, payload_of(json.loads(text), "confirmPaymentIntent")


def assert_leaks_none(text: str, merchant_values: list[str]) -> None:
    for value in merchant_values:
        assert value not in text, value


async def test_client_secret_alone_reads_the_session_not_the_intent(client, shop):
    values = marked()
    intent = await create_intent(client, shop, description="Two books", **values)
    text, confirmed = await raw_confirm(client, intent)
    assert confirmed["userErrors"] == [] and confirmed["paymentIntent"] is None
    session = confirmed["checkoutSession"]
    assert (session["id"], session["status"], session["attemptCount"]) == \
        (intent["id"], "CAPTURED", 1)
    assert session["card"] == {"brand": "visa", "last4": "4242", "expMonth": 12,
                               "expYear": 2035}
    assert session["lastPaymentError"] is None and session["remainingAttempts"] == 0
    assert session["merchantName"] == "Acme Books" and session["description"] == "Two books"
    assert_leaks_none(text, [*secrets_of(values), intent["clientSecret"], shop.merchant_id])


async def test_the_session_never_shows_refunds(client, shop):
    values = marked()
    intent = await create_intent(client, shop, **values)
    await raw_confirm(client, intent)
    refunded = payload_of(await gql(client, REFUND, {"input": {"id": intent["id"],
                                                               "amount": 100}},
                                    api_key=shop.api_key), "refundPaymentIntent")
    refund_id = refunded["refund"]["id"]
    text = await raw_graphql(client, SESSION, {"id": intent["id"],
                                               "secret": intent["clientSecret"]})
    session = json.loads(text)["data"]["checkoutSession"]
    assert session["status"] == "PARTIALLY_REFUNDED" and session["card"]["last4"] == "4242"
    assert_leaks_none(text, [refund_id, *secrets_of(values), intent["clientSecret"]])


def test_the_session_type_has_no_merchant_fields():
    fields = set(build_schema()._schema.type_map["CheckoutSession"].fields)
    assert {"attemptCount", "lastPaymentError", "card", "remainingAttempts"} <= fields
    assert fields.isdisjoint({"metadata", "customerEmail", "orderId", "refunds", "clientSecret",
                              "merchantId", "checkoutUrl", "amountRefunded"})


async def test_asking_the_session_for_merchant_fields_is_refused(client, shop):
    intent = await create_intent(client, shop, **marked())
    body = await gql(client, """query($id: ID!, $secret: String!) {
      checkoutSession(id: $id, clientSecret: $secret) { id metadata customerEmail } }""",
                     {"id": intent["id"], "secret": intent["clientSecret"]})
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"


async def test_a_decline_returns_the_session_with_its_error(client, shop):
    values = marked()
    intent = await create_intent(client, shop, **values)
    text, declined = await raw_confirm(client, intent, DECLINE_CARDS["51"])
    assert [e["code"] for e in declined["userErrors"]] == ["PAYMENT_DECLINED"]
    assert declined["paymentIntent"] is None
    session = declined["checkoutSession"]
    assert session["status"] == "AWAITING_PAYMENT_METHOD"
    assert session["lastPaymentError"]["code"] == "51"
    assert (session["attemptCount"], session["remainingAttempts"]) == (1, 4)
    assert session["card"]["last4"] == "9995"
    assert_leaks_none(text, secrets_of(values))


async def test_another_intents_secret_reads_nothing(client, shop):
    mine = await create_intent(client, shop, **marked())
    theirs = await create_intent(client, shop)
    crossed = {**mine, "clientSecret": theirs["clientSecret"]}
    _, refused = await raw_confirm(client, crossed)
    assert [e["code"] for e in refused["userErrors"]] == ["INVALID_CLIENT_SECRET"]
    assert refused["checkoutSession"] is None and refused["paymentIntent"] is None
    session = await gql(client, SESSION, {"id": mine["id"], "secret": theirs["clientSecret"]})
    assert session["data"]["checkoutSession"] is None


async def test_the_merchants_api_key_also_reads_the_intent(client, shop):
    values = marked()
    intent = await create_intent(client, shop, **values)
    _, confirmed = await raw_confirm(client, intent, headers={"X-API-Key": shop.api_key})
    whole = confirmed["paymentIntent"]
    assert whole["id"] == intent["id"] and whole["status"] == "CAPTURED"
    assert whole["metadata"] == values["metadata"] and whole["orderId"] == values["orderId"]
    assert confirmed["checkoutSession"]["status"] == "CAPTURED"


async def test_the_merchants_key_as_a_bearer_also_reads_a_declined_intent(client, shop):
    intent = await create_intent(client, shop)
    _, declined = await raw_confirm(client, intent, DECLINE_CARDS["05"],
                                    headers={"Authorization": f"Bearer {shop.api_key}"})
    assert [e["code"] for e in declined["userErrors"]] == ["PAYMENT_DECLINED"]
    assert declined["paymentIntent"]["lastPaymentError"]["code"] == "05"


async def test_another_merchants_api_key_reads_only_the_session(client, shop):
    values = marked()
    intent = await create_intent(client, shop, **values)
    other = await open_shop(client)
    text, confirmed = await raw_confirm(client, intent, headers={"X-API-Key": other.api_key})
    assert confirmed["userErrors"] == [] and confirmed["paymentIntent"] is None
    assert confirmed["checkoutSession"]["status"] == "CAPTURED"
    assert_leaks_none(text, secrets_of(values))


@pytest.mark.parametrize("role", ["OWNER", "STAFF"])
async def test_a_members_user_token_reads_only_the_session(client, shop, role):
    values = marked()
    intent = await create_intent(client, shop, **values)
    member = shop.owner if role == "OWNER" else \
        await add_member(client, shop.owner, shop.merchant_id, role)
    text, confirmed = await raw_confirm(
        client, intent, headers={"Authorization": f"Bearer {member.token}"})
    assert confirmed["userErrors"] == [] and confirmed["paymentIntent"] is None
    assert confirmed["checkoutSession"]["attemptCount"] == 1
    assert_leaks_none(text, secrets_of(values))


async def test_a_bad_api_key_is_refused_before_anything_is_paid(client, shop):
    intent = await create_intent(client, shop)
    body = await gql(client, CONFIRM, {"input": {
        "id": intent["id"], "clientSecret": intent["clientSecret"], "card": card()}},
        api_key="sk_test_" + "x" * 40)
    assert error_code(body) == "UNAUTHENTICATED"
    state = await gql(client, INTENT, {"id": intent["id"]}, api_key=shop.api_key)
    assert state["data"]["paymentIntent"]["attemptCount"] == 0


async def test_the_page_and_the_session_agree_and_leak_nothing(client, shop):
    values = marked()
    intent = await create_intent(client, shop, **values)
    page = await client.get(f"/checkout/{intent['id']}",
                            params={"client_secret": intent["clientSecret"]})
    assert page.status_code == 200
    declined = await client.post(f"/checkout/{intent['id']}", data={
        "client_secret": intent["clientSecret"], "card_number": DECLINE_CARDS["51"],
        "cardholder_name": "Ada Lovelace", "expiry": "12/35", "cvc": "123"})
    assert declined.status_code == 402
    session = (await gql(client, SESSION, {"id": intent["id"],
                                           "secret": intent["clientSecret"]}))["data"]
    left = session["checkoutSession"]["remainingAttempts"]
    assert left == 4 and f"{left} attempts left" in declined.text
    for html in (page.text, declined.text):
        assert_leaks_none(html, [*secrets_of(values), shop.merchant_id])


# --- the one count of attempts left, shared by the page and CheckoutSession -----------------
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def stored(status: S = S.AWAITING_PAYMENT_METHOD, attempts: int = 0, most: int = 5,
           expires_in: timedelta = timedelta(hours=1)) -> PaymentIntent:
    return PaymentIntent(id="pi_test", merchant_id="mch_test", amount=100, currency="USD",
                         capture_method=CaptureMethod.AUTOMATIC,
                         success_url="https://shop.test/ok", client_secret="pi_secret_x",
                         expires_at=NOW + expires_in, created_at=NOW - timedelta(minutes=1),
                         status=status, attempt_count=attempts, max_attempts=most)


@pytest.mark.parametrize("intent, left", [
    (stored(), 5),
    (stored(attempts=1), 4),
    (stored(attempts=4), 1),
    (stored(attempts=5), 0),
    (stored(attempts=7), 0),                               # never below zero
    (stored(attempts=1, most=3), 2),
    (stored(expires_in=timedelta(0)), 0),                  # expired, even before the sweep
    (stored(expires_in=-timedelta(seconds=1)), 0),
    (stored(S.FAILED, attempts=5), 0),
    (stored(S.CAPTURED, attempts=1), 0),                   # paid: nothing more to try
    (stored(S.AUTHORIZED, attempts=2), 0),
    (stored(S.CANCELED), 0),
    (stored(S.EXPIRED), 0),
])
def test_remaining_attempts(intent, left):
    assert remaining_attempts(intent, NOW) == left
