"""X-Request-ID (CONTRACT §16): kept or made, echoed on every response, in every GraphQL
error, in the access log, and carried to the events a request makes and their deliveries."""

from __future__ import annotations

import logging

import pytest

from core.requests import RequestIdFilter, is_valid
from models.events import DeliveryState, Event
from resolvers.events import new_event
from tests.helpers import CREATE_INTENT, gql, payload_of, set_webhook_url
from tests.receiver import wait_for

TYPENAME = {"query": "{ __typename }"}


@pytest.fixture
def logs(caplog):
    """caplog at INFO for the gateway's loggers, its records given their request id as the
    gateway's own handler does."""
    caplog.set_level(logging.INFO, logger="gateway")
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


def test_only_short_plain_ids_are_valid():
    assert is_valid("a") and is_valid("Req-1.2_3") and is_valid("x" * 128)
    assert not any(is_valid(value) for value in
                   ["", "x" * 129, "has space", "a/b", "<b>", "é", "a\nb", None])


async def test_an_id_is_made_for_graphql_checkout_and_healthz(client):
    responses = [await client.post("/graphql", json=TYPENAME), await client.get("/healthz"),
                 await client.get("/checkout/pi_doesnotexist")]
    made = [response.headers["x-request-id"] for response in responses]
    assert all(is_valid(request_id) for request_id in made)
    assert len(set(made)) == 3


async def test_the_requests_own_id_is_kept(client):
    for own in ["req-1.A_b", "x" * 128]:
        headers = {"X-Request-ID": own}
        for response in [await client.post("/graphql", json=TYPENAME, headers=headers),
                         await client.get("/healthz", headers=headers),
                         await client.get("/checkout/pi_doesnotexist", headers=headers)]:
            assert response.headers["x-request-id"] == own


async def test_an_invalid_id_is_replaced(client):
    for bad in ["x" * 129, "has space", "a/b", "<script>", "semi;colon"]:
        response = await client.get("/healthz", headers={"X-Request-ID": bad})
        replaced = response.headers["x-request-id"]
        assert replaced != bad and is_valid(replaced)


async def test_every_graphql_error_carries_the_request_id(client):
    parse = await client.post("/graphql", json={"query": "{ nope"},
                              headers={"X-Request-ID": "req-parse"})
    unauthenticated = await gql(client, "{ me { id } }", headers={"X-Request-ID": "req-me"})
    too_large = await client.post("/graphql", content=b'{"query": "' + b" " * 70_000 + b'"}',
                                  headers={"X-Request-ID": "req-big",
                                           "content-type": "application/json"})
    assert parse.json()["errors"][0]["extensions"]["requestId"] == "req-parse"
    assert unauthenticated["errors"][0]["extensions"]["requestId"] == "req-me"
    assert too_large.status_code == 413  # refused before GraphQL runs: error_response
    assert too_large.headers["x-request-id"] == "req-big"
    assert too_large.json()["errors"][0]["extensions"]["requestId"] == "req-big"


async def test_each_request_is_logged_once_when_it_ends(client, logs):
    response = await client.get("/checkout/pi_doesnotexist", headers={"X-Request-ID": "req-log"})
    await client.get("/healthz", headers={"X-Request-ID": "req-log-2"})
    [line] = [record for record in logs.records
              if record.name == "gateway.access" and record.request_id == "req-log"]
    assert (line.method, line.route, line.status) == \
        ("GET", "/checkout/{intent_id}", response.status_code)
    assert line.duration_ms >= 0
    assert "GET /checkout/{intent_id}" in line.getMessage()
    assert [r.route for r in logs.records if getattr(r, "request_id", "") == "req-log-2"] == \
        ["/healthz"]


async def test_the_event_and_its_delivery_carry_the_request_id(client, shop, inbox, worker,
                                                               logs):
    await set_webhook_url(client, shop, inbox.url)
    created = payload_of(await gql(client, CREATE_INTENT, {"input": {
        "amount": 1500, "currency": "usd", "successUrl": "https://shop.test/ok",
        "cancelUrl": "https://shop.test/cancel"}}, api_key=shop.api_key,
        headers={"X-Request-ID": "req-event"}), "createPaymentIntent")
    event = await Event.get(object_id=created["paymentIntent"]["id"],
                            type="payment_intent.created")
    assert event.request_id == "req-event"

    def delivery_lines():
        return [record for record in logs.records
                if record.name == "gateway.webhooks" and event.id in record.getMessage()]

    [line, *_] = await wait_for(delivery_lines)
    assert line.request_id == "req-event"


async def test_events_made_without_a_request_have_no_request_id(client, shop):
    event = new_event(shop.merchant_id, "test.event", None, {}, DeliveryState.NONE)
    assert event.request_id is None
