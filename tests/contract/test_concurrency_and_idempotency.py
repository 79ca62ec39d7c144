"""Idempotency keys and money moves under concurrent requests."""

from __future__ import annotations

import asyncio

from tests.helpers import (
    CANCEL,
    CAPTURE,
    CREATE_INTENT,
    INTENTS,
    REFUND,
    confirm,
    create_intent,
    gql,
    open_shop,
    paid_intent,
    payload_of,
    user_error_codes,
)


def intent_input(**changes):
    return {"amount": 2500, "currency": "EUR", "successUrl": "https://shop.test/ok", **changes}


async def create(client, shop, **changes):
    return payload_of(await gql(client, CREATE_INTENT, {"input": intent_input(**changes)},
                                api_key=shop.api_key), "createPaymentIntent")


async def test_same_key_same_request_replays_the_first_result(client, shop):
    first = await create(client, shop, idempotencyKey="order-1")
    again = await create(client, shop, idempotencyKey="order-1")
    assert again["userErrors"] == []
    assert again["paymentIntent"]["id"] == first["paymentIntent"]["id"]
    different = await create(client, shop, idempotencyKey="order-1", amount=2600)
    assert user_error_codes(different) == ["IDEMPOTENCY_KEY_REUSED"]
    assert different["userErrors"][0]["field"] == ["input", "idempotencyKey"]


async def test_keys_are_scoped_per_merchant(client, shop):
    other = await open_shop(client)
    mine = await create(client, shop, idempotencyKey="shared-key")
    theirs = await create(client, other, idempotencyKey="shared-key")
    assert theirs["userErrors"] == []
    assert theirs["paymentIntent"]["id"] != mine["paymentIntent"]["id"]


async def test_idempotent_refund_and_capture(client, shop):
    paid = await paid_intent(client, shop, amount=1000)
    refund = {"id": paid["id"], "amount": 100, "idempotencyKey": "refund-1"}
    first = payload_of(await gql(client, REFUND, {"input": refund}, api_key=shop.api_key),
                       "refundPaymentIntent")
    second = payload_of(await gql(client, REFUND, {"input": refund}, api_key=shop.api_key),
                        "refundPaymentIntent")
    assert second["refund"]["id"] == first["refund"]["id"]
    assert second["paymentIntent"]["amountRefunded"] == 100
    other = payload_of(await gql(client, REFUND, {"input": {**refund, "amount": 200}},
                                 api_key=shop.api_key), "refundPaymentIntent")
    assert user_error_codes(other) == ["IDEMPOTENCY_KEY_REUSED"]

    manual = await create_intent(client, shop, captureMethod="MANUAL")
    await confirm(client, manual)
    capture = {"id": manual["id"], "idempotencyKey": "capture-1"}
    for _ in range(2):
        captured = payload_of(await gql(client, CAPTURE, {"input": capture},
                                        api_key=shop.api_key), "capturePaymentIntent")
        assert captured["userErrors"] == [] and captured["paymentIntent"]["status"] == "CAPTURED"
    cancel = payload_of(await gql(client, CANCEL, {"input": {"id": manual["id"],
                                                             "idempotencyKey": "capture-1"}},
                                  api_key=shop.api_key), "cancelPaymentIntent")
    assert user_error_codes(cancel) == ["IDEMPOTENCY_KEY_REUSED"]


async def test_ten_simultaneous_creates_with_one_key_make_one_intent(client, shop):
    results = await asyncio.gather(*[create(client, shop, idempotencyKey="burst", orderId="B")
                                     for _ in range(10)])
    ids = {r["paymentIntent"]["id"] for r in results}
    assert all(r["userErrors"] == [] for r in results)
    assert len(ids) == 1
    listed = (await gql(client, INTENTS, {"first": 100}, api_key=shop.api_key))["data"]
    assert [e["node"]["id"] for e in listed["paymentIntents"]["edges"]] == list(ids)


async def test_fifty_simultaneous_confirms_pay_once(client, shop):
    intent = await create_intent(client, shop, captureMethod="MANUAL")
    results = await asyncio.gather(*[confirm(client, intent) for _ in range(50)])
    codes = sorted(tuple(user_error_codes(r)) for r in results)
    assert codes.count(()) == 1
    assert set(codes) - {()} == {("PAYMENT_ALREADY_COMPLETED",)}
    from models.events import Event
    assert await Event.filter(object_id=intent["id"],
                              type="payment_intent.authorized").count() == 1


async def test_simultaneous_declines_count_every_attempt(client, shop):
    intent = await create_intent(client, shop)
    results = await asyncio.gather(*[confirm(client, intent, "4000000000000002")
                                     for _ in range(8)])
    codes = [tuple(user_error_codes(r)) for r in results]
    assert codes.count(("PAYMENT_DECLINED",)) == 5
    assert codes.count(("MAX_ATTEMPTS_REACHED",)) == 3
    from models.payment_intents import PaymentIntent
    stored = await PaymentIntent.get(id=intent["id"])
    assert (stored.status, stored.attempt_count) == ("FAILED", 5)


async def test_twenty_simultaneous_refunds_never_exceed_the_capture(client, shop):
    paid = await paid_intent(client, shop, amount=1000)
    results = await asyncio.gather(*[
        gql(client, REFUND, {"input": {"id": paid["id"], "amount": 70}}, api_key=shop.api_key)
        for _ in range(20)])
    payloads = [payload_of(r, "refundPaymentIntent") for r in results]
    succeeded = [p for p in payloads if not p["userErrors"]]
    assert len(succeeded) == 14  # 14 × 70 = 980 ≤ 1000 < 15 × 70
    assert all(user_error_codes(p) == ["INVALID_STATE"] for p in payloads if p["userErrors"])
    from models.payment_intents import PaymentIntent, Refund
    stored = await PaymentIntent.get(id=paid["id"])
    refunds = await Refund.filter(payment_intent_id=paid["id"]).values_list("amount", flat=True)
    assert stored.amount_refunded == sum(refunds) == 980


async def test_simultaneous_full_refunds_refund_once(client, shop):
    paid = await paid_intent(client, shop, amount=1000)
    results = await asyncio.gather(*[
        gql(client, REFUND, {"input": {"id": paid["id"]}}, api_key=shop.api_key)
        for _ in range(10)])
    payloads = [payload_of(r, "refundPaymentIntent") for r in results]
    assert sum(1 for p in payloads if not p["userErrors"]) == 1
    from models.payment_intents import Refund
    assert await Refund.filter(payment_intent_id=paid["id"]).count() == 1
