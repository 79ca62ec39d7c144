"""CONTRACT §12.8 and §12.9 at delivery: the address checked is the address used, and no
failure of any kind leaves an event pending with no attempt recorded."""

from __future__ import annotations

from core.config import get_settings, use_settings
from models.webhooks import WebhookEndpoint
from tests.helpers import (
    EVENTS,
    UPDATE_SETTINGS,
    create_intent,
    gql,
    payload_of,
    set_webhook_url,
    user_error_codes,
)
from tests.receiver import wait_for


async def first_delivery(client, shop) -> dict | None:
    edges = (await gql(client, EVENTS, {"type": "payment_intent.created", "first": 1},
                       api_key=shop.api_key))["data"]["events"]["edges"]
    return edges[0]["node"] if edges and edges[0]["node"]["deliveries"] else None


async def test_a_url_the_http_client_cannot_encode_records_failed_attempts(client, shop,
                                                                            worker):
    """`xn--a.example` once crashed httpx's IDNA encoder: no attempt, pending forever."""
    await set_webhook_url(client, shop, "https://hooks.example/in")
    await WebhookEndpoint.filter(merchant_id=shop.merchant_id).update(
        url="http://xn--a.example/")
    await create_intent(client, shop)
    event = await wait_for(lambda: first_delivery(client, shop), 20)
    attempt = event["deliveries"][0]
    assert attempt["succeeded"] is False and attempt["error"]
    assert attempt["nextRetryAt"] is not None  # it follows the retry schedule
    assert event["deliveryState"] == "PENDING"


async def test_delivery_connects_to_the_resolved_address_and_keeps_the_host_name(
        client, shop, receiver, worker):
    inbox = receiver.inbox()
    named = inbox.url.replace("127.0.0.1", "localhost")
    await set_webhook_url(client, shop, named)
    intent = await create_intent(client, shop)
    arrived = await wait_for(lambda: [r for r in inbox.received if intent["id"] in r.body], 20)
    assert arrived[0].headers["host"] == f"localhost:{receiver.port}"


EMBEDDED_PRIVATE = ["http://[64:ff9b::7f00:1]/x", "http://[64:ff9b::a00:5]/x",
                    "http://[2002:7f00:1::]/x", "http://[2002:c0a8:101::]/x",
                    "http://[::7f00:1]/x", "http://[::ffff:127.0.0.1]/x",
                    "http://[::ffff:a9fe:a9fe]/x", "http://[64:ff9b:1:7f00:0:100::]/x"]


async def test_ipv6_forms_of_private_ipv4_addresses_are_refused(client, shop):
    saved = get_settings()
    use_settings(saved.with_overrides(webhook_allow_private=False))
    try:
        for url in EMBEDDED_PRIVATE:
            refused = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
                "merchantId": shop.merchant_id, "webhookUrl": url}}, token=shop.owner.token),
                "updateMerchantSettings")
            assert user_error_codes(refused) == ["VALIDATION_ERROR"], url
    finally:
        use_settings(saved)


async def test_the_connection_goes_to_the_checked_address_with_no_second_lookup(app):
    from resolvers.network import pinned_target

    plain = await pinned_target("http://user:pw@localhost:8123/hook?x=1")
    assert plain.url == "http://user:pw@127.0.0.1:8123/hook?x=1"
    assert plain.headers == {"host": "localhost:8123"} and plain.extensions == {}
    tls = await pinned_target("https://localhost/hook")
    assert tls.url == "https://127.0.0.1/hook"
    assert tls.extensions == {"sni_hostname": "localhost"}  # the certificate is for the name


async def test_an_unexpected_failure_while_signing_is_a_recorded_attempt(client, shop, worker):
    """No exception type leaves an event pending with no attempt: here a corrupt secret."""
    await set_webhook_url(client, shop, "https://hooks.example/in")
    await WebhookEndpoint.filter(merchant_id=shop.merchant_id).update(
        secret="whsec_not*base64")
    await create_intent(client, shop)
    event = await wait_for(lambda: first_delivery(client, shop), 20)
    attempt = event["deliveries"][0]
    assert attempt["succeeded"] is False and "Error" in attempt["error"]
    assert attempt["nextRetryAt"] is not None and event["deliveryState"] == "PENDING"
