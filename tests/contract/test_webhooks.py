"""Webhooks end to end: a real receiver, the standardwebhooks verifier, retries, recovery.

On SQLite the API process runs the jobs (embedded mode); on PostgreSQL a real arq worker
process does, fed through Redis.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core.clock import now
from core.config import get_settings, use_settings
from models.events import DeliveryState, Event
from models.payment_intents import PaymentIntent
from resolvers import events, payment_intents
from tests.helpers import (
    DECLINE_CARDS,
    EVENTS,
    REDELIVER,
    ROTATE_SECRET,
    SEND_TEST_WEBHOOK,
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


def event_types(inbox) -> list[str]:
    return [json.loads(r.body)["type"] for r in inbox.received]


async def deliveries_of(client, shop, event_type):
    edges = (await gql(client, EVENTS, {"type": event_type, "first": 5},
                       api_key=shop.api_key))["data"]["events"]["edges"]
    return edges[0]["node"] if edges else None


async def test_events_are_signed_per_standard_webhooks(client, shop, inbox, worker):
    secret = await set_webhook_url(client, shop, inbox.url)
    intent = await create_intent(client, shop)
    await confirm(client, intent)
    await wait_for(lambda: len(inbox.received) >= 2)
    verifier = Webhook(secret)
    for received in inbox.received:
        payload = verifier.verify(received.body, received.headers)
        assert payload["id"] == received.headers["webhook-id"]
        assert payload["data"]["object"]["id"] == intent["id"]
        assert payload["created_at"].endswith("Z")
    assert sorted(event_types(inbox)) == ["payment_intent.captured", "payment_intent.created"]
    tampered = inbox.received[0].body.replace('"amount":9999', '"amount":1')
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, inbox.received[0].headers)
    assert "4242424242424242" not in " ".join(r.body for r in inbox.received)


async def test_a_failing_endpoint_gets_the_same_event_after_backoff(client, shop, inbox,
                                                                   worker):
    inbox.statuses = [500]
    await set_webhook_url(client, shop, inbox.url)
    await create_intent(client, shop)
    await wait_for(lambda: len(inbox.received) >= 2)
    first, second = inbox.received[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    event = await wait_for(lambda: deliveries_of(client, shop, "payment_intent.created"))
    event = await wait_for(lambda: _delivered(client, shop))
    attempts = event["deliveries"]
    assert [(a["attempt"], a["responseStatus"], a["succeeded"]) for a in attempts] == \
        [(1, 500, False), (2, 200, True)]
    assert attempts[0]["nextRetryAt"] and attempts[0]["error"] == "HTTP 500"


async def _delivered(client, shop):
    event = await deliveries_of(client, shop, "payment_intent.created")
    return event if event and event["deliveryState"] == "DELIVERED" else None


async def test_eight_failures_mark_failed_then_redeliver(client, shop, inbox, worker):
    inbox.always = 503
    await set_webhook_url(client, shop, inbox.url)
    await create_intent(client, shop)

    async def failed():
        event = await deliveries_of(client, shop, "payment_intent.created")
        return event if event["deliveryState"] == "FAILED" else None

    event = await wait_for(failed, timeout=40)
    assert len(event["deliveries"]) == 8 and len(inbox.received) == 8
    assert event["deliveries"][-1]["nextRetryAt"] is None
    inbox.always = None
    again = payload_of(await gql(client, REDELIVER, {"input": {"id": event["id"]}},
                                 api_key=shop.api_key), "redeliverEvent")
    assert again["event"]["deliveryState"] == "PENDING"
    await wait_for(lambda: len(inbox.received) == 9)
    assert inbox.received[-1].headers["webhook-id"] == event["id"]
    await wait_for(lambda: _delivered(client, shop))


async def test_send_test_webhook(client, shop, inbox, worker):
    refused = payload_of(await gql(client, SEND_TEST_WEBHOOK, {"input": {
        "merchantId": shop.merchant_id}}, token=shop.owner.token), "sendTestWebhook")
    assert user_error_codes(refused) == ["VALIDATION_ERROR"]
    await set_webhook_url(client, shop, inbox.url)
    sent = payload_of(await gql(client, SEND_TEST_WEBHOOK, {"input": {
        "merchantId": shop.merchant_id}}, token=shop.owner.token), "sendTestWebhook")
    assert sent["event"]["type"] == "webhook.test"
    await wait_for(lambda: inbox.bodies_of_type("webhook.test"))
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    assert error_code(await gql(client, SEND_TEST_WEBHOOK, {"input": {
        "merchantId": shop.merchant_id}}, token=staff.token)) == "FORBIDDEN"


async def test_after_rotation_both_secrets_sign(client, shop, inbox, worker):
    old = await set_webhook_url(client, shop, inbox.url)
    new = payload_of(await gql(client, ROTATE_SECRET, {"input": {
        "merchantId": shop.merchant_id}}, token=shop.owner.token),
        "rotateWebhookSecret")["settings"]["webhookSecret"]
    await create_intent(client, shop)
    received = (await wait_for(lambda: inbox.received))[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(received.body, received.headers)
    assert Webhook(new).verify(received.body, received.headers)


async def test_an_intent_expires_unwatched_and_its_webhook_arrives(client, shop, inbox,
                                                                   worker):
    await set_webhook_url(client, shop, inbox.url)
    saved = get_settings()
    use_settings(saved.with_overrides(intent_ttl_seconds=2))
    try:
        intent = await create_intent(client, shop)
    finally:
        use_settings(saved)
    expired = await wait_for(lambda: inbox.bodies_of_type("payment_intent.expired"), 20)
    assert json.loads(expired[0].body)["data"]["object"]["id"] == intent["id"]
    assert (await PaymentIntent.get(id=intent["id"])).status == "EXPIRED"


async def test_sweep_expires_in_bulk_and_auto_voids(client, shop, inbox, worker):
    await set_webhook_url(client, shop, inbox.url)
    overdue = [await create_intent(client, shop) for _ in range(3)]
    await PaymentIntent.filter(id__in=[i["id"] for i in overdue]).update(
        expires_at=now() - timedelta(minutes=5))
    manual = await create_intent(client, shop, captureMethod="MANUAL")
    await confirm(client, manual)
    await PaymentIntent.filter(id=manual["id"]).update(authorized_at=now() - timedelta(days=8))
    await wait_for(lambda: len(inbox.bodies_of_type("payment_intent.expired")) == 3, 20)
    await wait_for(lambda: inbox.bodies_of_type("payment_intent.voided"), 20)
    assert (await PaymentIntent.get(id=manual["id"])).status == "VOIDED"
    assert await Event.filter(object_id=overdue[0]["id"],
                              type="payment_intent.expired").count() == 1


async def test_bulk_expiry_events_carry_the_intent_snapshot(client, shop, inbox):
    """On PostgreSQL the bulk expiry builds its events in SQL: they must say exactly what
    `intent_snapshot` says, card, last error, metadata and timestamps included."""
    await set_webhook_url(client, shop, inbox.url)
    quiet = await open_shop(client)  # no webhook URL: its events are kept, not owed
    intents = [
        await create_intent(client, shop),
        await create_intent(client, shop, description="Mug", orderId="o-1",
                            customerEmail="ada@example.com", metadata={"sku": "mug-1"}),
        await create_intent(client, shop, cancelUrl=None),
        await create_intent(client, quiet),
    ]
    declined = await confirm(client, intents[2], DECLINE_CARDS["51"])
    assert user_error_codes(declined) == ["PAYMENT_DECLINED"]
    overdue = now() - timedelta(minutes=5)
    await PaymentIntent.filter(id__in=[i["id"] for i in intents]).update(expires_at=overdue)
    await PaymentIntent.filter(id=intents[0]["id"]).update(
        expires_at=overdue.replace(microsecond=0))

    owed = await payment_intents.expire_due()  # or a sweep running meanwhile did it

    for intent in intents:
        stored = await PaymentIntent.get(id=intent["id"])
        [event] = await Event.filter(object_id=intent["id"], type="payment_intent.expired")
        assert stored.status == "EXPIRED"
        assert event.data == {"object": events.intent_snapshot(stored)}
    snapshots = [(await Event.get(object_id=i["id"], type="payment_intent.expired")).data
                 for i in intents]
    assert "." not in snapshots[0]["object"]["expires_at"]  # no microseconds: none shown
    assert snapshots[2]["object"]["card"]["last4"] == "9995"
    assert snapshots[2]["object"]["last_payment_error"]["code"] == "51"
    quiet_event = await Event.get(object_id=intents[3]["id"], type="payment_intent.expired")
    assert quiet_event.delivery_state == DeliveryState.NONE
    assert quiet_event.id not in owed


async def test_lost_wake_ups_are_found_by_the_sweep(client, shop, inbox, worker):
    """A pending delivery with no job (a crash, a restart, a flushed queue) still goes out."""
    await set_webhook_url(client, shop, inbox.url)
    event = await events.record(shop.merchant_id, "webhook.test", None, {"object": {}})
    # written with its delivery, but nobody was woken: the database alone says it is owed
    arrived = await wait_for(lambda: [r for r in inbox.received
                                      if r.headers["webhook-id"] == event.id], 20)
    assert json.loads(arrived[0].body)["type"] == "webhook.test"


async def test_ssrf_guard(client, shop, inbox, worker):
    saved = get_settings()
    await set_webhook_url(client, shop, inbox.url)
    use_settings(saved.with_overrides(webhook_allow_private=False))
    try:
        for url in ["http://127.0.0.1:8000/hook", "http://10.0.0.5/x", "http://[::1]/x",
                    "http://169.254.169.254/latest", "http://localhost/x"]:
            refused = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
                "merchantId": shop.merchant_id, "webhookUrl": url}}, token=shop.owner.token),
                "updateMerchantSettings")
            assert user_error_codes(refused) == ["VALIDATION_ERROR"], url
            assert refused["userErrors"][0]["field"] == ["input", "webhookUrl"]
        if saved.redis_url is None:  # embedded: the delivery-time check runs in this process
            await create_intent(client, shop)
            event = await wait_for(lambda: _first_attempt(client, shop), 20)
            assert "non-public" in event["deliveries"][0]["error"]
            assert inbox.received == []
    finally:
        use_settings(saved)


async def _first_attempt(client, shop):
    event = await deliveries_of(client, shop, "payment_intent.created")
    return event if event and event["deliveries"] else None


async def test_events_without_a_webhook_url_are_kept_but_not_sent(client, shop, worker):
    await create_intent(client, shop)
    event = await deliveries_of(client, shop, "payment_intent.created")
    assert event["deliveryState"] == "NONE" and event["deliveries"] == []


async def test_a_url_set_by_another_process_applies_to_the_next_event(client, shop, inbox,
                                                                      worker):
    """No event is lost to a cache: merchants without a URL are never cached as such."""
    from models.webhooks import WebhookEndpoint

    await create_intent(client, shop)  # no URL yet: NONE
    await WebhookEndpoint.create(  # as another API process would
        merchant_id=shop.merchant_id, url=inbox.url, enabled_events=["*"], is_default=True,
        secret="whsec_" + "A" * 43 + "=")
    intent = await create_intent(client, shop)
    arrived = await wait_for(lambda: [r for r in inbox.received if intent["id"] in r.body], 20)
    assert json.loads(arrived[0].body)["data"]["object"]["id"] == intent["id"]
