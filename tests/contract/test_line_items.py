"""Line items, locale and submitType of a payment intent (CONTRACT §17) through HTTP: stored,
summed, read back by the merchant and the shopper, carried in webhooks, and each refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import now
from models.events import Event
from models.payment_intents import PaymentIntent
from resolvers import events, payment_intents
from tests.helpers import (
    CREATE_INTENT,
    EVENTS,
    gql,
    open_shop,
    payload_of,
)

ITEMS = [{"name": "Mug", "quantity": 2, "unitAmount": 1250},
         {"name": "Free sticker", "quantity": 1, "unitAmount": 0},
         {"name": "Tea, 250 g", "quantity": 3, "unitAmount": 2500}]
TOTAL = 2 * 1250 + 3 * 2500
STORED = [{"name": "Mug", "quantity": 2, "unitAmount": 1250, "amount": 2500},
          {"name": "Free sticker", "quantity": 1, "unitAmount": 0, "amount": 0},
          {"name": "Tea, 250 g", "quantity": 3, "unitAmount": 2500, "amount": 7500}]
NEW_FIELDS = "lineItems { name quantity unitAmount amount } locale submitType"
CREATE = f"""mutation($input: CreatePaymentIntentInput!) {{ createPaymentIntent(input: $input) {{
  paymentIntent {{ id clientSecret {NEW_FIELDS} }} userErrors {{ code field message }} }} }}"""
INTENT = f"""query($id: ID!) {{ paymentIntent(id: $id) {{ {NEW_FIELDS} }} }}"""
SESSION = f"""query($id: ID!, $secret: String!) {{ checkoutSession(id: $id, clientSecret: $secret)
  {{ {NEW_FIELDS} branding {{ displayName primaryColor buttonColor backgroundColor borderStyle
  logoUrl }} }} }}"""


@pytest.fixture
async def shop(client):
    return await open_shop(client)


async def create(client, shop, **fields) -> dict:
    values = {"amount": TOTAL, "currency": "usd", "successUrl": "https://shop.test/ok",
              **fields}
    return payload_of(await gql(client, CREATE, {"input": values}, api_key=shop.api_key),
                      "createPaymentIntent")


async def test_line_items_locale_and_submit_type_are_stored_and_read_back(client, shop):
    created = await create(client, shop, lineItems=ITEMS, locale="fr", submitType="DONATE")
    assert created["userErrors"] == []
    intent = created["paymentIntent"]
    expected = {"lineItems": STORED, "locale": "fr", "submitType": "DONATE"}
    assert {key: intent[key] for key in expected} == expected
    read = (await gql(client, INTENT, {"id": intent["id"]}, api_key=shop.api_key))["data"]
    assert read["paymentIntent"] == expected
    session = (await gql(client, SESSION, {"id": intent["id"],
                                           "secret": intent["clientSecret"]}))["data"]
    assert {key: session["checkoutSession"][key] for key in expected} == expected
    assert session["checkoutSession"]["branding"]["buttonColor"] == "#635bff"


async def test_defaults_without_the_new_fields(client, shop):
    intent = (await create(client, shop))["paymentIntent"]
    assert (intent["lineItems"], intent["locale"], intent["submitType"]) == ([], None, "PAY")
    session = (await gql(client, SESSION, {"id": intent["id"],
                                           "secret": intent["clientSecret"]}))["data"]
    # No locale: the page follows Accept-Language, and the session says "en".
    assert session["checkoutSession"]["locale"] == "en"
    assert session["checkoutSession"]["lineItems"] == []
    assert session["checkoutSession"]["branding"]["borderStyle"] == "ROUNDED"


async def test_created_event_carries_the_new_fields(client, shop):
    intent = (await create(client, shop, lineItems=ITEMS, locale="ar",
                           submitType="BOOK"))["paymentIntent"]
    body = await gql(client, EVENTS, {"type": "payment_intent.created"}, api_key=shop.api_key)
    [event] = [edge["node"] for edge in body["data"]["events"]["edges"]
               if edge["node"]["data"]["object"]["id"] == intent["id"]]
    snapshot = event["data"]["object"]
    assert snapshot["line_items"] == [{"name": i["name"], "quantity": i["quantity"],
                                       "unit_amount": i["unitAmount"], "amount": i["amount"]}
                                      for i in STORED]
    assert (snapshot["locale"], snapshot["submit_type"]) == ("ar", "BOOK")


async def test_bulk_expiry_snapshot_carries_line_items(client, shop):
    """The PostgreSQL bulk expiry writes its snapshot in SQL: it matches intent_snapshot."""
    intent = (await create(client, shop, lineItems=ITEMS, locale="fr"))["paymentIntent"]
    await PaymentIntent.filter(id=intent["id"]).update(expires_at=now() - timedelta(minutes=5))
    await payment_intents.expire_due()
    stored = await PaymentIntent.get(id=intent["id"])
    [event] = await Event.filter(object_id=intent["id"], type="payment_intent.expired")
    assert event.data == {"object": events.intent_snapshot(stored)}
    assert event.data["object"]["line_items"][0]["unit_amount"] == 1250


def item(**changes) -> dict:
    return {"name": "Mug", "quantity": 1, "unitAmount": TOTAL, **changes}


@pytest.mark.parametrize(("fields", "field"), [
    ({"lineItems": [item(unitAmount=TOTAL - 1)]}, ["input", "lineItems"]),  # wrong sum
    ({"lineItems": []}, ["input", "lineItems"]),  # sums to 0, not the amount
    ({"lineItems": [item(name="")]}, ["input", "lineItems", "0", "name"]),
    ({"lineItems": [item(name="x" * 201)]}, ["input", "lineItems", "0", "name"]),
    ({"lineItems": [item(name="   ")]}, ["input", "lineItems", "0", "name"]),
    ({"lineItems": [item(quantity=0, unitAmount=1)]}, ["input", "lineItems", "0", "quantity"]),
    ({"lineItems": [item(quantity=1000, unitAmount=1)]},
     ["input", "lineItems", "0", "quantity"]),
    ({"lineItems": [item(unitAmount=TOTAL + 1), item(unitAmount=-1)]},
     ["input", "lineItems", "1", "unitAmount"]),
    ({"amount": 101, "lineItems": [item(unitAmount=1)] * 101}, ["input", "lineItems"]),
    ({"locale": "de"}, ["input", "locale"]),
    ({"locale": "EN"}, ["input", "locale"]),
])
async def test_refusals_name_the_field(client, shop, fields, field):
    refused = await create(client, shop, **fields)
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == \
        [("VALIDATION_ERROR", field)]
    assert refused["paymentIntent"] is None


async def test_a_hundred_line_items_are_allowed(client, shop):
    created = await create(client, shop, amount=100, lineItems=[item(unitAmount=1)] * 100)
    assert created["userErrors"] == [] and len(created["paymentIntent"]["lineItems"]) == 100


async def test_unknown_submit_type_is_a_graphql_error(client, shop):
    body = await gql(client, CREATE_INTENT, {"input": {
        "amount": 100, "currency": "usd", "successUrl": "https://shop.test/ok",
        "submitType": "SUBSCRIBE"}}, api_key=shop.api_key)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_new_fields_are_part_of_the_idempotency_fingerprint(client, shop):
    first = await create(client, shop, lineItems=ITEMS, idempotencyKey="order-42")
    again = await create(client, shop, lineItems=ITEMS, idempotencyKey="order-42")
    assert again["paymentIntent"]["id"] == first["paymentIntent"]["id"]
    for changed in ({"lineItems": ITEMS[::-1]}, {"locale": "fr"}, {"submitType": "BOOK"}):
        reused = await create(client, shop, **{"lineItems": ITEMS, **changed},
                              idempotencyKey="order-42")
        assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"], changed
