"""Webhook endpoints (CONTRACT §14) end to end: real receivers, the standardwebhooks
verifier, on SQLite (jobs in the API process) and on PostgreSQL + Redis (an arq worker)."""

from __future__ import annotations

import json
from datetime import timedelta

from standardwebhooks import Webhook

from core.clock import now
from core.config import get_settings, use_settings
from models.events import Event
from tests.conftest import fleet_only
from tests.helpers import (
    EVENTS,
    ROTATE_SECRET,
    UPDATE_SETTINGS,
    add_member,
    confirm,
    create_intent,
    error_code,
    gql,
    open_shop,
    payload_of,
    set_webhook_url,
    user_error_codes,
)
from tests.receiver import wait_for
from tests.webhook_helpers import (
    CREATE_ENDPOINT,
    DELETE_ENDPOINT,
    ENDPOINTS,
    EVENT_TYPES,
    RECOVER_ENDPOINT,
    REDELIVER_TO,
    ROTATE_ENDPOINT,
    create_endpoint,
    delivery_states,
    update_endpoint,
)


def types_of(inbox) -> list[str]:
    return sorted(json.loads(r.body)["type"] for r in inbox.received)


async def created_event(intent_id: str) -> Event:
    return await Event.get(object_id=intent_id, type="payment_intent.created")


async def test_each_endpoint_gets_the_events_it_enables_signed_with_its_secret(
        client, shop, receiver, worker):
    boxes = [receiver.inbox() for _ in range(3)]
    everything = await create_endpoint(client, shop, boxes[0].url)
    captured = await create_endpoint(client, shop, boxes[1].url, ["payment_intent.captured"],
                                     description="orders")
    created = await create_endpoint(client, shop, boxes[2].url, ["payment_intent.created"])
    assert everything["enabledEvents"] == ["*"] and captured["description"] == "orders"
    assert len({e["secret"] for e in (everything, captured, created)}) == 3
    intent = await create_intent(client, shop)
    await confirm(client, intent)
    await wait_for(lambda: len(boxes[0].received) == 2 and boxes[1].received and
                   boxes[2].received)
    assert types_of(boxes[0]) == ["payment_intent.captured", "payment_intent.created"]
    assert types_of(boxes[1]) == ["payment_intent.captured"]
    assert types_of(boxes[2]) == ["payment_intent.created"]
    for box, endpoint in zip(boxes, (everything, captured, created), strict=True):
        for received in box.received:
            payload = Webhook(endpoint["secret"]).verify(received.body, received.headers)
            assert payload["data"]["object"]["id"] == intent["id"]
    event = await created_event(intent["id"])
    ids = {r.headers["webhook-id"] for box in (boxes[0], boxes[2]) for r in box.received
           if '"payment_intent.created"' in r.body}
    assert ids == {event.id}  # the same webhook-id at every endpoint

    async def delivered():
        edges = (await gql(client, EVENTS, {"type": "payment_intent.created"},
                           api_key=shop.api_key))["data"]["events"]["edges"]
        node = edges[0]["node"]
        return node if node["deliveryState"] == "DELIVERED" else None

    node = await wait_for(delivered)
    assert sorted(d["url"] for d in node["deliveries"]) == sorted([boxes[0].url, boxes[2].url])
    query = """query($type: String) { events(type: $type) { edges { node {
      deliveries { endpointId succeeded } } } } }"""
    nodes = (await gql(client, query, {"type": "payment_intent.created"},
                       api_key=shop.api_key))["data"]["events"]["edges"]
    assert sorted(d["endpointId"] for d in nodes[0]["node"]["deliveries"]) == \
        sorted([everything["id"], created["id"]])


async def test_an_endpoint_created_after_an_event_is_not_sent_it(client, shop, inbox, worker):
    await create_endpoint(client, shop, inbox.url)
    intent = await create_intent(client, shop)
    await wait_for(lambda: inbox.received)
    later = await create_endpoint(client, shop, inbox.url + "-later")
    event = await created_event(intent["id"])
    assert later["id"] not in await delivery_states(event.id)


async def test_event_types_validation_limits_and_roles(client, shop, inbox):
    types = (await gql(client, EVENT_TYPES))["data"]["webhookEventTypes"]  # no authentication
    assert {"payment_intent.created", "webhook.test", "webhook_endpoint.disabled"} <= set(types)

    async def create(token=None, api_key=None, **fields):
        values = {"merchantId": shop.merchant_id, "url": inbox.url, **fields}
        return await gql(client, CREATE_ENDPOINT, {"input": values},
                         token=token or (None if api_key else shop.owner.token), api_key=api_key)

    refused = payload_of(await create(enabledEvents=["payment_intent.created", "nope"]),
                         "createWebhookEndpoint")
    assert refused["userErrors"][0]["code"] == "VALIDATION_ERROR"
    assert refused["userErrors"][0]["field"] == ["input", "enabledEvents"]
    refused = payload_of(await create(url="ftp://x.test/"), "createWebhookEndpoint")
    assert refused["userErrors"][0]["field"] == ["input", "url"]
    assert error_code(await create(api_key=shop.api_key)) == "FORBIDDEN"
    manager = await add_member(client, shop.owner, shop.merchant_id, "MANAGER")
    assert error_code(await create(token=manager.token)) == "FORBIDDEN"
    stranger = await open_shop(client)
    assert user_error_codes(payload_of(await create(token=stranger.owner.token),
                                       "createWebhookEndpoint")) == ["NOT_FOUND"]
    endpoints = [await create_endpoint(client, shop, f"{inbox.url}/{n}") for n in range(16)]
    over = payload_of(await create(), "createWebhookEndpoint")
    assert user_error_codes(over) == ["VALIDATION_ERROR"]
    listed = (await gql(client, ENDPOINTS, {"id": shop.merchant_id}, token=manager.token))
    seen = listed["data"]["merchant"]["webhookEndpoints"]
    assert [e["id"] for e in seen] == [e["id"] for e in endpoints]
    assert {e["secret"] for e in seen} == {None}  # MANAGER: no secrets
    changed = await gql(client, """mutation($input: UpdateWebhookEndpointInput!) {
      updateWebhookEndpoint(input: $input) { webhookEndpoint { id } userErrors { code } } }""",
                        {"input": {"id": endpoints[0]["id"], "description": "x"}},
                        token=stranger.owner.token)
    assert user_error_codes(changed["data"]["updateWebhookEndpoint"]) == ["NOT_FOUND"]
    deleted = payload_of(await gql(client, DELETE_ENDPOINT, {"input": {
        "id": endpoints[0]["id"]}}, token=shop.owner.token), "deleteWebhookEndpoint")
    assert deleted == {"ok": True, "userErrors": []}
    assert payload_of(await create(), "createWebhookEndpoint")["userErrors"] == []  # room again


async def test_a_private_address_is_refused_at_creation(client, shop):
    saved = get_settings()
    use_settings(saved.with_overrides(webhook_allow_private=False))
    try:
        refused = payload_of(await gql(client, CREATE_ENDPOINT, {"input": {
            "merchantId": shop.merchant_id, "url": "http://10.0.0.5/hook"}},
            token=shop.owner.token), "createWebhookEndpoint")
    finally:
        use_settings(saved)
    assert user_error_codes(refused) == ["VALIDATION_ERROR"]
    assert refused["userErrors"][0]["field"] == ["input", "url"]


async def test_after_a_rotation_the_endpoint_signs_with_both_secrets(client, shop, inbox,
                                                                    worker):
    endpoint = await create_endpoint(client, shop, inbox.url)
    rotated = payload_of(await gql(client, ROTATE_ENDPOINT, {"input": {"id": endpoint["id"]}},
                                   token=shop.owner.token), "rotateWebhookEndpointSecret")
    new = rotated["webhookEndpoint"]["secret"]
    assert new != endpoint["secret"]
    await create_intent(client, shop)
    received = (await wait_for(lambda: inbox.received))[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert Webhook(new).verify(received.body, received.headers)


async def test_the_settings_webhook_url_is_the_default_endpoint(client, shop, inbox):
    secret = await set_webhook_url(client, shop, inbox.url)
    merchant = (await gql(client, ENDPOINTS, {"id": shop.merchant_id},
                          token=shop.owner.token))["data"]["merchant"]
    [default] = merchant["webhookEndpoints"]
    assert (default["url"], default["enabledEvents"], default["secret"]) == \
        (inbox.url, ["*"], secret)
    rotated = payload_of(await gql(client, ROTATE_SECRET, {"input": {
        "merchantId": shop.merchant_id}}, token=shop.owner.token), "rotateWebhookSecret")
    merchant = (await gql(client, ENDPOINTS, {"id": shop.merchant_id},
                          token=shop.owner.token))["data"]["merchant"]
    assert merchant["webhookEndpoints"][0]["secret"] == \
        rotated["settings"]["webhookSecret"] != secret
    moved = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": shop.merchant_id, "webhookUrl": inbox.url + "/moved"}},
        token=shop.owner.token), "updateMerchantSettings")
    assert moved["settings"]["webhookUrl"] == inbox.url + "/moved"
    other = await create_endpoint(client, shop, inbox.url + "/other")
    cleared = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": shop.merchant_id, "webhookUrl": ""}}, token=shop.owner.token),
        "updateMerchantSettings")
    assert cleared["settings"]["webhookUrl"] is None
    merchant = (await gql(client, ENDPOINTS, {"id": shop.merchant_id},
                          token=shop.owner.token))["data"]["merchant"]
    assert [e["id"] for e in merchant["webhookEndpoints"]] == [other["id"]]


async def test_every_merchants_webhook_settings_are_read_in_one_query(client, shop, inbox,
                                                                      caplog):
    from tests.helpers import UPDATE_SETTINGS, create_merchant

    for n in range(2):
        merchant_id = await create_merchant(client, shop.owner, f"Branch {n}")
        saved = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
            "merchantId": merchant_id, "webhookUrl": inbox.url}}, token=shop.owner.token),
            "updateMerchantSettings")
        assert saved["userErrors"] == []
    await set_webhook_url(client, shop, inbox.url)
    query = "{ merchants { id settings { webhookUrl webhookSecret } } }"
    with caplog.at_level("DEBUG", logger="tortoise.db_client"):
        merchants = (await gql(client, query, token=shop.owner.token))["data"]["merchants"]
    assert len(merchants) == 3 and all(
        m["settings"]["webhookUrl"] == inbox.url and m["settings"]["webhookSecret"]
        for m in merchants)
    reads = [r for r in caplog.records if "FROM \"webhook_endpoints\"" in r.getMessage()]
    assert len(reads) == 1, [r.getMessage()[:120] for r in reads]


async def test_disabled_endpoints_hold_events_until_recovered(client, shop, receiver, worker):
    held_box, live_box = receiver.inbox(), receiver.inbox()
    held = await create_endpoint(client, shop, held_box.url)
    await create_endpoint(client, shop, live_box.url)
    disabled = await update_endpoint(client, shop, held["id"], status="DISABLED")
    assert disabled["webhookEndpoint"]["status"] == "DISABLED"
    assert disabled["webhookEndpoint"]["disabledReason"]
    intents = [await create_intent(client, shop) for _ in range(2)]
    await wait_for(lambda: len(live_box.received) == 2)
    events = [await created_event(intent["id"]) for intent in intents]

    async def all_held():
        states = [(await delivery_states(event.id))[held["id"]] for event in events]
        return states == ["HELD", "HELD"]

    await wait_for(all_held)
    refused = payload_of(await gql(client, RECOVER_ENDPOINT, {"input": {
        "id": held["id"], "since": (now() - timedelta(hours=1)).isoformat()}},
        token=shop.owner.token), "recoverWebhookEndpoint")
    assert user_error_codes(refused) == ["INVALID_STATE"]  # enable it first
    enabled = await update_endpoint(client, shop, held["id"], status="ENABLED")
    assert enabled["webhookEndpoint"]["disabledReason"] is None
    assert await all_held() and held_box.received == []  # enabling sends nothing by itself
    too_old = payload_of(await gql(client, RECOVER_ENDPOINT, {"input": {
        "id": held["id"], "since": (now() - timedelta(days=31)).isoformat()}},
        token=shop.owner.token), "recoverWebhookEndpoint")
    assert user_error_codes(too_old) == ["VALIDATION_ERROR"]
    recovered = payload_of(await gql(client, RECOVER_ENDPOINT, {"input": {
        "id": held["id"], "since": (now() - timedelta(hours=1)).isoformat()}},
        token=shop.owner.token), "recoverWebhookEndpoint")
    assert recovered == {"count": 2, "userErrors": []}
    await wait_for(lambda: len(held_box.received) == 2)
    assert {r.headers["webhook-id"] for r in held_box.received} == {e.id for e in events}
    assert len(live_box.received) == 2  # the other endpoint got nothing again


async def test_a_recovery_goes_through_every_page(client, shop, receiver, worker,
                                                  monkeypatch):
    from resolvers import webhook_endpoints

    monkeypatch.setattr(webhook_endpoints, "RECOVER_PAGE", 2)
    box = receiver.inbox()
    held = await create_endpoint(client, shop, box.url)
    await update_endpoint(client, shop, held["id"], status="DISABLED")
    events = [await created_event((await create_intent(client, shop))["id"])
              for _ in range(5)]

    async def all_held():
        return [(await delivery_states(event.id))[held["id"]] for event in events] == \
            ["HELD"] * 5

    await wait_for(all_held)
    await update_endpoint(client, shop, held["id"], status="ENABLED")
    recovered = payload_of(await gql(client, RECOVER_ENDPOINT, {"input": {
        "id": held["id"], "since": (now() - timedelta(hours=1)).isoformat()}},
        token=shop.owner.token), "recoverWebhookEndpoint")
    assert recovered == {"count": 5, "userErrors": []}  # three pages: 2, 2 and 1
    await wait_for(lambda: len(box.received) == 5)
    assert {r.headers["webhook-id"] for r in box.received} == {e.id for e in events}


async def test_redeliver_to_one_endpoint(client, shop, receiver, worker):
    boxes = [receiver.inbox(), receiver.inbox()]
    first = await create_endpoint(client, shop, boxes[0].url)
    await create_endpoint(client, shop, boxes[1].url)
    intent = await create_intent(client, shop)
    await wait_for(lambda: boxes[0].received and boxes[1].received)
    event = await created_event(intent["id"])
    again = payload_of(await gql(client, REDELIVER_TO, {"input": {
        "id": event.id, "endpointId": first["id"]}}, api_key=shop.api_key), "redeliverEvent")
    assert again["userErrors"] == []
    await wait_for(lambda: len(boxes[0].received) == 2)
    assert boxes[0].received[1].headers["webhook-id"] == event.id
    assert len(boxes[1].received) == 1
    elsewhere = await open_shop(client)
    stranger = await create_endpoint(client, elsewhere, boxes[1].url)
    refused = payload_of(await gql(client, REDELIVER_TO, {"input": {
        "id": event.id, "endpointId": stranger["id"]}}, api_key=shop.api_key),
        "redeliverEvent")
    assert refused["userErrors"][0]["field"] == ["input", "endpointId"]


async def test_an_endpoint_failing_too_long_is_disabled_and_the_others_are_told(
        client, shop, receiver, worker):
    failing_box, other_box = receiver.inbox(), receiver.inbox()
    failing_box.always = 500
    failing = await create_endpoint(client, shop, failing_box.url)
    other = await create_endpoint(client, shop, other_box.url)
    saved = get_settings()
    use_settings(saved.with_overrides(webhook_disable_after_seconds=2))
    try:
        await create_intent(client, shop)
        told = await wait_for(lambda: other_box.bodies_of_type("webhook_endpoint.disabled"), 30)
    finally:
        use_settings(saved)
    body = json.loads(told[0].body)
    assert body["data"]["object"]["id"] == failing["id"]
    assert body["data"]["object"]["status"] == "DISABLED"
    assert Webhook(other["secret"]).verify(told[0].body, told[0].headers)
    assert failing_box.bodies_of_type("webhook_endpoint.disabled") == []
    merchant = (await gql(client, ENDPOINTS, {"id": shop.merchant_id},
                          token=shop.owner.token))["data"]["merchant"]
    state = {e["id"]: (e["status"], e["disabledReason"]) for e in merchant["webhookEndpoints"]}
    assert state[failing["id"]][0] == "DISABLED" and state[failing["id"]][1]
    assert state[other["id"]] == ("ENABLED", None)
    sent = len(failing_box.received)
    intent = await create_intent(client, shop)
    await wait_for(lambda: [r for r in other_box.received if intent["id"] in r.body])
    event = await created_event(intent["id"])
    await wait_for(lambda: _state_is(event.id, failing["id"], "HELD"))
    assert len(failing_box.received) == sent  # nothing goes to a disabled endpoint


async def _state_is(event_id: str, endpoint_id: str, state: str) -> bool:
    return (await delivery_states(event_id)).get(endpoint_id) == state


@fleet_only
async def test_a_payment_written_while_its_endpoint_is_deleted_still_commits(
        client, shop, inbox, settings):
    """The event's deliveries are chosen from the endpoints as the statement found them; one
    deleted by a transaction that commits meanwhile is skipped, not a foreign-key failure of
    the payment's own statement."""
    import asyncio

    import asyncpg

    from models.webhooks import EndpointDelivery
    from resolvers import events

    doomed = await create_endpoint(client, shop, inbox.url)
    other = await asyncpg.connect(settings.database_url)
    try:
        async with other.transaction():  # the delete, not yet committed
            await other.execute("DELETE FROM webhook_endpoints WHERE id = $1", doomed["id"])
            written = asyncio.create_task(
                events.record(shop.merchant_id, "webhook.test", None, {"object": {}}))
            await asyncio.sleep(0.3)  # the write waits for the delete's outcome
            assert not written.done()
        event = await asyncio.wait_for(written, 10)
    finally:
        await other.close()
    assert await EndpointDelivery.filter(event_id=event.id, endpoint_id=doomed["id"]).count() == 0


@fleet_only
async def test_concurrent_webhook_url_changes_leave_one_default_endpoint(client, shop, inbox):
    import asyncio

    from models.webhooks import WebhookEndpoint

    await asyncio.gather(*[set_webhook_url(client, shop, f"{inbox.url}?n={n}")
                           for n in range(8)])
    assert await WebhookEndpoint.filter(merchant_id=shop.merchant_id, is_default=True).count() \
        == 1
    assert (await set_webhook_url(client, shop, inbox.url)).startswith("whsec_")
