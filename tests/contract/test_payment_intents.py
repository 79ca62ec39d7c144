"""Payment intents through HTTP: creation, reads, every test card, every transition."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.helpers import (
    CANCEL,
    CAPTURE,
    CHECKOUT_SESSION,
    CREATE_INTENT,
    DECLINE_CARDS,
    EVENTS,
    INTENT,
    INTENTS,
    MASTERCARD,
    REFUND,
    VOID,
    add_member,
    confirm,
    create_api_key,
    create_intent,
    error_code,
    gql,
    open_shop,
    paid_intent,
    payload_of,
    register_and_login,
    user_error_codes,
)


async def run(client, document, field, api_key=None, token=None, **values):
    return payload_of(await gql(client, document, {"input": values}, api_key=api_key,
                                token=token), field)


async def test_create_returns_a_ready_intent(client, shop):
    intent = await create_intent(client, shop, description="Two books", orderId="A-1",
                                 customerEmail="Shopper@Example.com",
                                 metadata={"cart": "42"})
    assert intent["id"].startswith("pi_") and intent["status"] == "AWAITING_PAYMENT_METHOD"
    assert intent["currency"] == "USD" and intent["amount"] == 9999
    assert intent["captureMethod"] == "AUTOMATIC"
    assert intent["clientSecret"].startswith("pi_secret_")
    assert len(intent["clientSecret"]) >= len("pi_secret_") + 32
    assert intent["checkoutUrl"] == \
        f"http://testserver/checkout/{intent['id']}?client_secret={intent['clientSecret']}"
    created = datetime.fromisoformat(intent["createdAt"])
    expires = datetime.fromisoformat(intent["expiresAt"])
    assert expires - created == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=2))
    assert created.tzinfo is not None
    assert intent["customerEmail"] == "shopper@example.com"
    assert intent["metadata"] == {"cart": "42"}
    assert (intent["attemptCount"], intent["maxAttempts"]) == (0, 5)
    assert intent["card"] is None and intent["refunds"] == []


@pytest.mark.parametrize("values, field", [
    ({"amount": 0}, "amount"), ({"amount": -1}, "amount"), ({"amount": 100_000_000}, "amount"),
    ({"currency": "XYZ"}, "currency"), ({"successUrl": "shop.test/ok"}, "successUrl"),
    ({"cancelUrl": "javascript:alert(1)"}, "cancelUrl"),
    ({"customerEmail": "nope"}, "customerEmail"),
    ({"metadata": {"k": 1}}, "metadata"), ({"metadata": ["a"]}, "metadata"),
    ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ({"idempotencyKey": ""}, "idempotencyKey"), ({"idempotencyKey": "k" * 256}, "idempotencyKey"),
])
async def test_create_validates(client, shop, values, field):
    base = {"amount": 100, "currency": "EUR", "successUrl": "https://shop.test/ok"}
    created = await run(client, CREATE_INTENT, "createPaymentIntent", shop.api_key,
                        **{**base, **values})
    assert user_error_codes(created) == ["VALIDATION_ERROR"]
    assert created["userErrors"][0]["field"] == ["input", field]
    assert created["paymentIntent"] is None


async def test_amount_type_errors_are_validation_failures(client, shop):
    body = await gql(client, CREATE_INTENT, {"input": {
        "amount": 99.99, "currency": "USD", "successUrl": "https://shop.test/ok"}},
        api_key=shop.api_key)
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"


async def test_create_needs_an_api_key(client, shop):
    values = {"amount": 100, "currency": "USD", "successUrl": "https://shop.test/ok"}
    assert error_code(await gql(client, CREATE_INTENT, {"input": values})) == "UNAUTHENTICATED"
    assert error_code(await gql(client, CREATE_INTENT, {"input": values},
                                token=shop.owner.token)) == "FORBIDDEN"


async def test_jpy_and_mad(client, shop):
    yen = await create_intent(client, shop, amount=500, currency="jpy")
    dirham = await create_intent(client, shop, amount=1250, currency="Mad")
    assert (yen["currency"], dirham["currency"]) == ("JPY", "MAD")


async def test_approved_cards_capture_automatically(client, shop):
    intent = await create_intent(client, shop)
    paid = await confirm(client, intent, MASTERCARD, api_key=shop.api_key)
    assert paid["userErrors"] == []
    result = paid["paymentIntent"]
    assert result["status"] == "CAPTURED" and result["amountCaptured"] == 9999
    assert result["card"] == {"brand": "mastercard", "last4": "4444", "expMonth": 12,
                              "expYear": 2035}
    assert result["attemptCount"] == 1 and result["lastPaymentError"] is None


async def test_manual_capture_authorizes_then_captures_part(client, shop):
    intent = await create_intent(client, shop, captureMethod="MANUAL")
    authorized = (await confirm(client, intent, api_key=shop.api_key))["paymentIntent"]
    assert authorized["status"] == "AUTHORIZED" and authorized["amountCapturable"] == 9999
    too_much = await run(client, CAPTURE, "capturePaymentIntent", shop.api_key,
                         id=intent["id"], amount=10_000)
    assert user_error_codes(too_much) == ["INVALID_STATE"]
    zero = await run(client, CAPTURE, "capturePaymentIntent", shop.api_key,
                     id=intent["id"], amount=0)
    assert user_error_codes(zero) == ["VALIDATION_ERROR"]
    captured = await run(client, CAPTURE, "capturePaymentIntent", shop.api_key,
                         id=intent["id"], amount=5000)
    result = captured["paymentIntent"]
    assert (result["status"], result["amountCaptured"], result["amountCapturable"]) == \
        ("CAPTURED", 5000, 0)
    twice = await run(client, CAPTURE, "capturePaymentIntent", shop.api_key, id=intent["id"])
    assert user_error_codes(twice) == ["INVALID_STATE"]


@pytest.mark.parametrize("code", sorted(DECLINE_CARDS))
async def test_each_decline_card(client, shop, code):
    intent = await create_intent(client, shop)
    declined = await confirm(client, intent, DECLINE_CARDS[code])
    assert user_error_codes(declined) == ["PAYMENT_DECLINED"]
    result = declined["checkoutSession"]
    assert result["status"] == "AWAITING_PAYMENT_METHOD"
    assert result["lastPaymentError"]["code"] == code
    assert result["attemptCount"] == 1


async def test_unknown_valid_card_is_declined_05(client, shop):
    intent = await create_intent(client, shop)
    declined = await confirm(client, intent, "4111 1111 1111 1111")
    assert declined["checkoutSession"]["lastPaymentError"]["code"] == "05"


async def test_five_declines_fail_the_intent(client, shop):
    intent = await create_intent(client, shop)
    for attempt in range(1, 6):
        declined = await confirm(client, intent, DECLINE_CARDS["51"])
        assert user_error_codes(declined) == ["PAYMENT_DECLINED"]
        assert declined["checkoutSession"]["attemptCount"] == attempt
    assert declined["checkoutSession"]["status"] == "FAILED"
    after = await confirm(client, intent)
    assert user_error_codes(after) == ["MAX_ATTEMPTS_REACHED"]


@pytest.mark.parametrize("changes, field", [
    ({"number": "4242 4242 4242 4241"}, ["input", "card", "number"]),
    ({"number": "3782 822463 10005"}, ["input", "card", "number"]),
    ({"expMonth": 13}, ["input", "card", "expMonth"]),
    ({"expYear": 2020}, ["input", "card", "expYear"]),
    ({"cvc": "12"}, ["input", "card", "cvc"]),
    ({"cardholderName": " "}, ["input", "card", "cardholderName"]),
])
async def test_invalid_cards_use_no_attempt(client, shop, changes, field):
    intent = await create_intent(client, shop)
    changes = dict(changes)  # the parameters are shared by both backends' runs
    number = changes.pop("number", "4242424242424242")
    refused = await confirm(client, intent, number, **changes)
    assert user_error_codes(refused) == ["VALIDATION_ERROR"]
    assert refused["userErrors"][0]["field"] == field
    state = (await gql(client, INTENT, {"id": intent["id"]}, api_key=shop.api_key))["data"]
    assert state["paymentIntent"]["attemptCount"] == 0


async def test_wrong_client_secret(client, shop):
    intent = await create_intent(client, shop)
    other = await create_intent(client, shop)
    refused = await confirm(client, {**intent, "clientSecret": other["clientSecret"]})
    assert user_error_codes(refused) == ["INVALID_CLIENT_SECRET"]
    missing = await confirm(client, {**intent, "id": "pi_missing"})
    assert user_error_codes(missing) == ["NOT_FOUND"]


async def test_paying_twice_is_already_completed(client, shop):
    intent = await create_intent(client, shop)
    await confirm(client, intent)
    assert user_error_codes(await confirm(client, intent)) == ["PAYMENT_ALREADY_COMPLETED"]


async def test_void_and_cancel(client, shop):
    manual = await create_intent(client, shop, captureMethod="MANUAL")
    await confirm(client, manual)
    voided = await run(client, VOID, "voidPaymentIntent", shop.api_key, id=manual["id"],
                       reason="out of stock")
    assert voided["paymentIntent"]["status"] == "VOIDED"
    assert voided["paymentIntent"]["amountCapturable"] == 0
    assert user_error_codes(await run(client, CAPTURE, "capturePaymentIntent", shop.api_key,
                                      id=manual["id"])) == ["INVALID_STATE"]

    waiting = await create_intent(client, shop)
    canceled = await run(client, CANCEL, "cancelPaymentIntent", shop.api_key, id=waiting["id"])
    assert canceled["paymentIntent"]["status"] == "CANCELED"
    assert user_error_codes(await confirm(client, waiting)) == ["INVALID_STATE"]

    authorized = await create_intent(client, shop, captureMethod="MANUAL")
    await confirm(client, authorized)
    canceled_auth = await run(client, CANCEL, "cancelPaymentIntent", shop.api_key,
                              id=authorized["id"])
    assert canceled_auth["paymentIntent"]["status"] == "VOIDED"

    captured = await paid_intent(client, shop)
    for document, field in [(VOID, "voidPaymentIntent"), (CANCEL, "cancelPaymentIntent")]:
        refused = await run(client, document, field, shop.api_key, id=captured["id"])
        assert user_error_codes(refused) == ["INVALID_STATE"], field


async def test_partial_and_full_refunds(client, shop):
    paid = await paid_intent(client, shop, amount=1000)
    first = await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=paid["id"],
                      amount=300, reason="damaged")
    assert first["refund"]["amount"] == 300 and first["refund"]["status"] == "succeeded"
    assert first["paymentIntent"]["status"] == "PARTIALLY_REFUNDED"
    assert first["paymentIntent"]["amountRefunded"] == 300
    too_much = await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=paid["id"],
                         amount=701)
    assert user_error_codes(too_much) == ["INVALID_STATE"]
    negative = await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=paid["id"],
                         amount=-5)
    assert user_error_codes(negative) == ["VALIDATION_ERROR"]
    rest = await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=paid["id"])
    assert rest["refund"]["amount"] == 700
    assert rest["paymentIntent"]["status"] == "REFUNDED"
    assert [r["amount"] for r in rest["paymentIntent"]["refunds"]] == [300, 700]
    again = await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=paid["id"])
    assert user_error_codes(again) == ["INVALID_STATE"]


async def test_refund_needs_a_capture(client, shop):
    waiting = await create_intent(client, shop)
    refused = await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=waiting["id"])
    assert user_error_codes(refused) == ["INVALID_STATE"]


async def test_reads_and_pagination(client, shop):
    ids = [(await create_intent(client, shop, amount=100 + i))["id"] for i in range(5)]
    await confirm(client, {"id": ids[0], "clientSecret": (await gql(
        client, INTENT, {"id": ids[0]}, api_key=shop.api_key))["data"]["paymentIntent"][
        "clientSecret"]})
    seen, after = [], None
    while True:
        page = (await gql(client, INTENTS, {"first": 2, "after": after},
                          api_key=shop.api_key))["data"]["paymentIntents"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))
    captured = (await gql(client, INTENTS, {"status": "CAPTURED"},
                          api_key=shop.api_key))["data"]["paymentIntents"]["edges"]
    assert [edge["node"]["id"] for edge in captured] == [ids[0]]
    by_member = (await gql(client, INTENTS, {"merchantId": shop.merchant_id, "first": 1},
                           token=shop.owner.token))["data"]["paymentIntents"]
    assert by_member["edges"][0]["node"]["id"] == ids[-1]
    assert error_code(await gql(client, INTENTS, {}, token=shop.owner.token)) == \
        "VALIDATION_ERROR"
    assert error_code(await gql(client, INTENTS, {"first": 101},
                                api_key=shop.api_key)) == "VALIDATION_ERROR"
    assert error_code(await gql(client, INTENTS, {"after": "!!bad"},
                                api_key=shop.api_key)) == "VALIDATION_ERROR"


async def test_tenants_are_isolated(client, shop):
    intent = await create_intent(client, shop)
    other = await open_shop(client)
    assert (await gql(client, INTENT, {"id": intent["id"]},
                      api_key=other.api_key))["data"]["paymentIntent"] is None
    assert (await gql(client, INTENT, {"id": intent["id"]},
                      token=other.owner.token))["data"]["paymentIntent"] is None
    for document, field in [(CAPTURE, "capturePaymentIntent"), (CANCEL, "cancelPaymentIntent"),
                            (REFUND, "refundPaymentIntent"), (VOID, "voidPaymentIntent")]:
        refused = await run(client, document, field, other.api_key, id=intent["id"])
        assert user_error_codes(refused) == ["NOT_FOUND"], field
    listed = (await gql(client, INTENTS, {"merchantId": shop.merchant_id},
                        api_key=other.api_key))
    assert user_error_codes({"userErrors": []}) == [] and "errors" in listed


async def test_roles_for_payment_operations(client, shop):
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    manager = await add_member(client, shop.owner, shop.merchant_id, "MANAGER")
    paid = await paid_intent(client, shop, amount=500)
    seen = (await gql(client, INTENT, {"id": paid["id"]}, token=staff.token))["data"]
    assert seen["paymentIntent"]["id"] == paid["id"]
    assert error_code(await gql(client, REFUND, {"input": {"id": paid["id"]}},
                                token=staff.token)) == "FORBIDDEN"
    refunded = await run(client, REFUND, "refundPaymentIntent", token=manager.token,
                         id=paid["id"], amount=100)
    assert refunded["refund"]["amount"] == 100
    outsider = await register_and_login(client, "outsider")
    assert (await gql(client, INTENT, {"id": paid["id"]},
                      token=outsider.token))["data"]["paymentIntent"] is None


async def test_checkout_session_is_the_shoppers_view(client, shop):
    intent = await create_intent(client, shop, description="Two books")
    session = (await gql(client, CHECKOUT_SESSION, {"id": intent["id"],
                                                    "secret": intent["clientSecret"]}))
    view = session["data"]["checkoutSession"]
    assert view["merchantName"] == "Acme Books" and view["remainingAttempts"] == 5
    assert view["description"] == "Two books" and "clientSecret" not in view
    wrong = await gql(client, CHECKOUT_SESSION, {"id": intent["id"], "secret": "pi_secret_x"})
    assert wrong["data"]["checkoutSession"] is None


async def test_every_transition_writes_its_event(client, shop):
    manual = await create_intent(client, shop, captureMethod="MANUAL", amount=800)
    await confirm(client, manual, DECLINE_CARDS["05"])
    await confirm(client, manual)
    await run(client, CAPTURE, "capturePaymentIntent", shop.api_key, id=manual["id"])
    await run(client, REFUND, "refundPaymentIntent", shop.api_key, id=manual["id"], amount=10)
    canceled = await create_intent(client, shop)
    await run(client, CANCEL, "cancelPaymentIntent", shop.api_key, id=canceled["id"])
    events = (await gql(client, EVENTS, {"first": 100},
                        api_key=shop.api_key))["data"]["events"]["edges"]
    by_intent = {}
    for edge in reversed(events):
        node = edge["node"]
        by_intent.setdefault(node["data"]["object"]["id"], []).append(node["type"])
    assert by_intent[manual["id"]] == [
        "payment_intent.created", "payment_intent.payment_failed",
        "payment_intent.authorized", "payment_intent.captured", "payment_intent.refunded"]
    assert by_intent[canceled["id"]] == ["payment_intent.created", "payment_intent.canceled"]
    refunded = next(e["node"] for e in events if e["node"]["type"] == "payment_intent.refunded")
    assert refunded["data"]["object"]["amount_refunded"] == 10
    assert refunded["data"]["refund"]["amount"] == 10
    assert "client_secret" not in str(refunded["data"])


async def test_expired_intents_cannot_be_paid(client, shop):
    from models.payment_intents import PaymentIntent

    intent = await create_intent(client, shop)
    await PaymentIntent.filter(id=intent["id"]).update(
        expires_at=datetime.fromisoformat(intent["createdAt"]) - timedelta(seconds=1))
    seen = (await gql(client, INTENT, {"id": intent["id"]}, api_key=shop.api_key))["data"]
    assert seen["paymentIntent"]["status"] == "EXPIRED"
    assert user_error_codes(await confirm(client, intent)) == ["INTENT_EXPIRED"]
    assert (await PaymentIntent.get(id=intent["id"])).status == "EXPIRED"
    assert user_error_codes(await confirm(client, intent)) == ["INTENT_EXPIRED"]


async def test_api_key_of_another_merchant_cannot_list_it(client, shop):
    other_key = await create_api_key(client, shop.owner, shop.merchant_id)
    listed = (await gql(client, INTENTS, {}, api_key=other_key))["data"]["paymentIntents"]
    assert isinstance(listed["edges"], list)
