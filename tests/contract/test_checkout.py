"""The hosted checkout page through HTTP: GET, form POST, redirects, escaping, headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from tests.helpers import DECLINE_CARDS, INTENT, confirm, create_intent, gql


def page_url(intent: dict) -> str:
    return f"/checkout/{intent['id']}?client_secret={intent['clientSecret']}"


def form(intent: dict, number: str = "4242 4242 4242 4242", **fields) -> dict:
    return {"client_secret": intent["clientSecret"], "card_number": number,
            "cardholder_name": "Ada Lovelace", "expiry": "12/35", "cvc": "123", **fields}


async def post(client, intent, **kwargs):
    return await client.post(f"/checkout/{intent['id']}", data=form(intent, **kwargs))


async def test_page_shows_merchant_description_and_amount(client, shop):
    intent = await create_intent(client, shop, description="Two books")
    page = await client.get(page_url(intent))
    assert page.status_code == 200
    assert "Acme Books" in page.text and "Two books" in page.text
    assert "Pay $99.99" in page.text
    for attribute in ['autocomplete="cc-number"', 'autocomplete="cc-exp"',
                      'autocomplete="cc-csc"', 'autocomplete="cc-name"', 'inputmode="numeric"',
                      '<label for="card_number">']:
        assert attribute in page.text


async def test_amounts_are_formatted_per_currency(client, shop):
    yen = await create_intent(client, shop, amount=5000, currency="JPY")
    assert "Pay ¥5,000" in (await client.get(page_url(yen))).text
    euro = await create_intent(client, shop, amount=123456, currency="EUR")
    assert "Pay €1,234.56" in (await client.get(page_url(euro))).text


async def test_security_headers(client, shop):
    intent = await create_intent(client, shop)
    headers = (await client.get(page_url(intent))).headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "form-action 'self' https://shop.test" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


async def test_bad_secret_and_unknown_intent(client, shop):
    intent = await create_intent(client, shop)
    wrong = await client.get(f"/checkout/{intent['id']}?client_secret=pi_secret_wrong")
    assert wrong.status_code == 403 and "Invalid payment session" in wrong.text
    missing = await client.get(f"/checkout/{intent['id']}")
    assert missing.status_code == 403
    unknown = await client.get("/checkout/pi_unknown?client_secret=x")
    assert unknown.status_code == 404
    posted = await client.post(f"/checkout/{intent['id']}",
                               data={**form(intent), "client_secret": "nope"})
    assert posted.status_code == 403


async def test_escaping(client, shop):
    intent = await create_intent(client, shop, description="<script>alert(1)</script>")
    page = await client.get(page_url(intent))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_approved_card_redirects_to_success(client, shop):
    intent = await create_intent(client, shop,
                                 successUrl="https://shop.test/done?order=7&s={CHECKOUT_SESSION_ID}")
    response = await post(client, intent)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    query = parse_qs(target.query)
    assert (target.netloc, target.path) == ("shop.test", "/done")
    assert query == {"order": ["7"], "s": [intent["id"]], "payment_intent": [intent["id"]]}
    state = (await gql(client, INTENT, {"id": intent["id"]}, api_key=shop.api_key))["data"]
    assert state["paymentIntent"]["status"] == "CAPTURED"
    again = await client.get(page_url(intent))
    assert again.status_code == 303 and "shop.test/done" in again.headers["location"]


async def test_decline_shows_reason_and_attempts_left(client, shop):
    intent = await create_intent(client, shop)
    response = await post(client, intent, number=DECLINE_CARDS["51"])
    assert response.status_code == 402
    assert "insufficient funds" in response.text and "4 attempts left" in response.text
    assert DECLINE_CARDS["51"] not in response.text
    assert 'value="123"' not in response.text  # the CVC is never echoed
    assert 'value="Ada Lovelace"' in response.text


async def test_invalid_fields_are_named_and_use_no_attempt(client, shop):
    intent = await create_intent(client, shop)
    for fields, name in [({"number": "4242 4242 4242 4241"}, "card_number"),
                         ({"expiry": "13/35"}, "expiry"), ({"expiry": "soon"}, "expiry"),
                         ({"cvc": "12"}, "cvc"), ({"cardholder_name": ""}, "cardholder_name")]:
        response = await post(client, intent, **fields)
        assert response.status_code == 400, fields
        assert f'id="{name}-error" >' in response.text or \
            f'id="{name}-error">' in response.text, fields
        assert "4242 4242 4242 4241" not in response.text
    state = (await gql(client, INTENT, {"id": intent["id"]}, api_key=shop.api_key))["data"]
    assert state["paymentIntent"]["attemptCount"] == 0


async def test_fifth_decline_redirects_to_cancel(client, shop):
    intent = await create_intent(client, shop, cancelUrl="https://shop.test/cancel")
    for _ in range(4):
        assert (await post(client, intent, number=DECLINE_CARDS["05"])).status_code == 402
    fifth = await post(client, intent, number=DECLINE_CARDS["05"])
    assert fifth.status_code == 303
    assert fifth.headers["location"] == \
        f"https://shop.test/cancel?payment_intent={intent['id']}"


async def test_closed_intents_go_back_to_the_merchant(client, shop):
    from models.payment_intents import PaymentIntent

    expired = await create_intent(client, shop)
    await PaymentIntent.filter(id=expired["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = await client.get(page_url(expired))
    assert response.status_code == 303 and "shop.test/cancel" in response.headers["location"]
    posted = await post(client, expired)
    assert posted.status_code == 303 and "shop.test/cancel" in posted.headers["location"]

    no_cancel = await create_intent(client, shop, cancelUrl=None)
    await PaymentIntent.filter(id=no_cancel["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    page = await client.get(page_url(no_cancel))
    assert page.status_code == 410 and "can no longer be completed" in page.text


async def test_checkout_and_graphql_share_one_confirm(client, shop):
    intent = await create_intent(client, shop)
    await post(client, intent, number=DECLINE_CARDS["05"])
    second = await confirm(client, intent, DECLINE_CARDS["05"])
    assert second["checkoutSession"]["attemptCount"] == 2
    response = await post(client, intent)
    assert response.status_code == 303


async def test_card_numbers_never_reach_the_database_or_logs(client, shop, settings, caplog):
    import logging

    from tortoise import connections

    caplog.set_level(logging.DEBUG)
    numbers = ["4242424242424242", "5555555555554444", DECLINE_CARDS["51"]]
    for number in numbers:
        intent = await create_intent(client, shop, captureMethod="MANUAL")
        await post(client, intent, number=number)
        await confirm(client, await create_intent(client, shop), number)
    connection = connections.get("default")
    if settings.database_url.startswith("sqlite"):
        tables = [row["name"] for row in (await connection.execute_query(
            "SELECT name FROM sqlite_master WHERE type='table'"))[1]]
    else:
        tables = [row["tablename"] for row in (await connection.execute_query(
            "SELECT tablename FROM pg_tables WHERE schemaname='public'"))[1]]
    for table in tables:
        rows = (await connection.execute_query(f'SELECT * FROM "{table}"'))[1]
        dump = " ".join(str(dict(row)) for row in rows)
        for number in numbers:
            assert number not in dump, table
            assert " ".join([number[i:i + 4] for i in range(0, 16, 4)]) not in dump, table
    for number in numbers:
        assert number not in caplog.text
