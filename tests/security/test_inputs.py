"""CONTRACT §12.5 and §12.9 through HTTP: the one text rule, malformed ids, cursors, URL hosts.

Each case is an attack that once answered INTERNAL_SERVER_ERROR (or reached the database);
now it gets a coded error naming the field, and changes nothing.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import (
    CHECKOUT_SESSION,
    CREATE_INTENT,
    EVENTS,
    INTENT,
    INTENTS,
    LOGIN,
    MERCHANT,
    REGISTER,
    UPDATE_SETTINGS,
    create_intent,
    payload_of,
    unique_email,
)

CAPTURE_BY_ID = """mutation($input: CapturePaymentIntentInput!) {
  capturePaymentIntent(input: $input) { paymentIntent { id } userErrors { code field } } }"""


async def send(client, query: str, variables: dict, *, token: str | None = None,
               api_key: str | None = None) -> dict:
    """A request whose JSON escapes every non-ASCII character, lone surrogates included."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if api_key:
        headers["x-api-key"] = api_key
    body = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code != 500, response.text
    answer = response.json()
    assert "INTERNAL_SERVER_ERROR" not in response.text, answer
    return answer


def only_user_error(answer: dict, field: str) -> dict:
    payload = payload_of(answer, field)
    assert len(payload["userErrors"]) == 1, payload
    return payload["userErrors"][0]



BAD_TEXT = {"lone surrogate": "ab\ud800cd", "NUL": "ab\x00cd", "escape": "ab\x1bcd",
            "C1 control": "ab\x85cd", "tab in a name": "ab\tcd"}


@pytest.mark.parametrize("kind", BAD_TEXT)
async def test_bad_text_in_login_and_register_is_a_validation_error(client, kind):
    bad = BAD_TEXT[kind]
    login = await send(client, LOGIN, {"input": {"email": f"x{bad}@example.com",
                                                 "password": "whatever"}})
    refused = only_user_error(login, "login")
    assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == ["input", "email"]
    register = await send(client, REGISTER, {"input": {
        "name": bad, "email": unique_email(), "password": "a long enough password"}})
    refused = only_user_error(register, "register")
    assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == ["input", "name"]


@pytest.mark.parametrize("field, bad", [
    ("description", "pay\x00ment"), ("orderId", "order\ud800"), ("idempotencyKey", "key\x00"),
    ("customerEmail", "a\x00@example.com"), ("successUrl", "https://shop.test/\x00"),
])
async def test_bad_text_in_an_intent_changes_nothing(client, shop, field, bad):
    values = {"amount": 500, "currency": "usd", "successUrl": "https://shop.test/ok", field: bad}
    answer = await send(client, CREATE_INTENT, {"input": values}, api_key=shop.api_key)
    refused = only_user_error(answer, "createPaymentIntent")
    assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == ["input", field]
    listed = await send(client, INTENTS, {}, api_key=shop.api_key)
    assert listed["data"]["paymentIntents"]["edges"] == []


@pytest.mark.parametrize("metadata", [{"k": "v\x00"}, {"k\x00": "v"}, {"k": "\udfff"}])
async def test_bad_text_inside_metadata_is_refused(client, shop, metadata):
    values = {"amount": 500, "currency": "usd", "successUrl": "https://shop.test/ok",
              "metadata": metadata}
    answer = await send(client, CREATE_INTENT, {"input": values}, api_key=shop.api_key)
    refused = only_user_error(answer, "createPaymentIntent")
    assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == ["input", "metadata"]


async def test_free_text_keeps_tabs_and_line_breaks(client, shop):
    intent = await create_intent(client, shop, description="Line one\n\tLine two\r\n")
    assert intent["description"] == "Line one\n\tLine two"  # trimmed, kept inside


@pytest.mark.parametrize("bad_id", ["x" * 41, "pi_" + "a" * 60, "pi_\x00", "pi_\ud800",
                                    "' OR 1=1 --", ""])
async def test_a_malformed_id_reads_as_not_found(client, shop, bad_id):
    intent = await send(client, INTENT, {"id": bad_id}, api_key=shop.api_key)
    assert intent["data"]["paymentIntent"] is None
    merchant = await send(client, MERCHANT, {"id": bad_id}, token=shop.owner.token)
    assert merchant["data"]["merchant"] is None
    capture = await send(client, CAPTURE_BY_ID, {"input": {"id": bad_id}}, api_key=shop.api_key)
    assert only_user_error(capture, "capturePaymentIntent") == {
        "code": "NOT_FOUND", "field": ["input", "id"]}
    listed = await send(client, INTENTS, {"merchantId": bad_id}, token=shop.owner.token)
    assert listed["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    "not a cursor!", b64("nonsense"), b64("2026-01-01T00:00:00+00:00|" + "a" * 100),
    b64("2026-01-01T00:00:00|pi_abc"), b64("2026-01-01T00:00:00+00:00|pi_\x00"),
    "A" * 5000, b64("\ud800".encode("utf-8", "surrogatepass").decode("latin-1")),
    b64("0001-01-01T00:00:00+01:00|pi_abc"), b64("9999-12-31T23:59:59-14:00|pi_abc"),
])
async def test_a_bad_cursor_is_a_validation_error_on_after(client, shop, cursor):
    for query in (INTENTS, EVENTS):
        answer = await send(client, query, {"after": cursor}, api_key=shop.api_key)
        error = answer["errors"][0]["extensions"]
        assert error["code"] == "VALIDATION_ERROR" and error["field"] == ["after"], answer


async def test_a_real_cursor_still_pages(client, shop):
    for _ in range(3):
        await create_intent(client, shop)
    first = await send(client, INTENTS, {"first": 2}, api_key=shop.api_key)
    after = first["data"]["paymentIntents"]["pageInfo"]["endCursor"]
    rest = await send(client, INTENTS, {"first": 2, "after": after}, api_key=shop.api_key)
    assert len(rest["data"]["paymentIntents"]["edges"]) == 1


@pytest.mark.parametrize("event_type", ["x" * 65, "payment_intent.\x00", "\ud800",
                                        "payment_intent.capture", "*"])
async def test_an_impossible_event_type_is_a_validation_error(client, shop, event_type):
    answer = await send(client, EVENTS, {"type": event_type}, api_key=shop.api_key)
    error = answer["errors"][0]["extensions"]
    assert error["code"] == "VALIDATION_ERROR" and error["field"] == ["type"]


BAD_HOSTS = ["https://a;b.example/ok", "https://a,b.example/ok", 'https://a"b.example/ok',
             "https://a'b.example/ok", "http://xn--a.example/ok", "https://-bad.example/ok",
             "https://a b.example/ok", "https://shop.test;script-src *@x/ok",
             "http://[::1%;sandbox,'unsafe-inline'\"x]/"]  # a zone id is free text


@pytest.mark.parametrize("url", BAD_HOSTS)
async def test_a_url_host_must_be_a_dns_name_or_an_ip(client, shop, url):
    values = {"amount": 500, "currency": "usd", "successUrl": "https://shop.test/ok",
              "cancelUrl": url}
    answer = await send(client, CREATE_INTENT, {"input": values}, api_key=shop.api_key)
    refused = only_user_error(answer, "createPaymentIntent")
    assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == ["input", "cancelUrl"]
    settings = await send(client, UPDATE_SETTINGS, {"input": {
        "merchantId": shop.merchant_id, "webhookUrl": url}}, token=shop.owner.token)
    refused = only_user_error(settings, "updateMerchantSettings")
    assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == ["input", "webhookUrl"]


async def test_international_domain_names_are_welcome(client, shop):
    intent = await create_intent(client, shop, successUrl="https://bücher.example/ok")
    assert intent["successUrl"] == "https://bücher.example/ok"


@pytest.mark.parametrize("path", ["/checkout/pi_%00", "/checkout/" + "x" * 300,
                                  "/checkout/%ED%A0%80"])
async def test_the_checkout_page_treats_a_malformed_id_as_unknown(client, path):
    response = await client.get(path, params={"client_secret": "pi_secret_\x00"})
    assert response.status_code in (403, 404)


async def test_the_checkout_form_holds_to_the_same_text_rule(client, shop):
    intent = await create_intent(client, shop)
    form = {"client_secret": intent["clientSecret"], "card_number": "4242 4242 4242 4242",
            "cardholder_name": "Ada\x00Lovelace", "expiry": "12/35", "cvc": "123"}
    response = await client.post(f"/checkout/{intent['id']}", data=form)
    assert response.status_code == 400 and "name on the card" in response.text
    session = await send(client, CHECKOUT_SESSION, {"id": intent["id"],
                                                    "secret": intent["clientSecret"]})
    assert session["data"]["checkoutSession"]["status"] == "AWAITING_PAYMENT_METHOD"


async def test_bad_text_in_a_list_item_names_the_item(client, shop):
    items = [{"name": "Notebook", "quantity": 1, "unitAmount": 250},
             {"name": "Pen\x00", "quantity": 1, "unitAmount": 250}]
    values = {"amount": 500, "currency": "usd", "successUrl": "https://shop.test/ok",
              "lineItems": items}
    answer = await send(client, CREATE_INTENT, {"input": values}, api_key=shop.api_key)
    refused = only_user_error(answer, "createPaymentIntent")
    assert refused["code"] == "VALIDATION_ERROR"
    assert refused["field"] == ["input", "lineItems", "1", "name"]
