"""CONTRACT §15: GraphQL subscriptions over graphql-transport-ws, against a real uvicorn."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest_asyncio

from core.clock import now
from core.errors import ErrorCode, RequestError
from models.events import DeliveryState, Event
from models.payment_intents import PaymentIntent
from tests.helpers import (
    CANCEL,
    EVENTS,
    REMOVE_MEMBER,
    add_member,
    confirm,
    create_intent,
    gql,
    payload_of,
    register_and_login,
)
from tests.receiver import LocalServer
from tests.ws import LiveClient

INTENT_UPDATED = """subscription($id: ID!) { paymentIntentUpdated(id: $id) {
  id status amountCaptured attemptCount } }"""
SESSION_UPDATED = """subscription($id: ID!, $secret: String!) {
  checkoutSessionUpdated(id: $id, clientSecret: $secret) { id status remainingAttempts
    merchantName } }"""
EVENTS_LIVE = """subscription($merchantId: ID, $types: [String!], $after: String) {
  events(merchantId: $merchantId, types: $types, after: $after) { id type createdAt
    data } }"""
INTENT_MONEY = """subscription($id: ID!) { paymentIntentUpdated(id: $id) { id status
  balanceTransactions { amount } } }"""


@pytest_asyncio.fixture(scope="session")
async def server(app):
    """The tests' app behind a real uvicorn (WebSocket needs a socket)."""
    local = LocalServer(app)
    await local.start()
    yield local
    await local.stop()


async def test_payment_intent_updated_sends_now_then_every_change(server, client, shop):
    intent = await create_intent(client, shop)
    live = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    operation = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
    first = await live.next(operation)
    assert first["paymentIntentUpdated"]["status"] == "AWAITING_PAYMENT_METHOD"
    await confirm(client, intent, "4000000000000002")  # declined: an attempt counts
    declined = await live.next(operation)
    assert declined["paymentIntentUpdated"]["attemptCount"] == 1
    await confirm(client, intent)
    paid = await live.next(operation)
    assert paid["paymentIntentUpdated"]["status"] == "CAPTURED"
    assert paid["paymentIntentUpdated"]["amountCaptured"] == 9999
    await live.close()


async def test_a_member_subscribes_with_the_user_token(server, client, shop):
    intent = await create_intent(client, shop)
    live = await LiveClient.connect(server.url, {"authorization": f"Bearer {shop.owner.token}"})
    operation = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
    assert (await live.next(operation))["paymentIntentUpdated"]["id"] == intent["id"]
    await live.close()


async def test_checkout_session_updated_needs_only_the_client_secret(server, client, shop):
    intent = await create_intent(client, shop)
    live = await LiveClient.connect(server.url)
    operation = await live.subscribe(SESSION_UPDATED, {"id": intent["id"],
                                                       "secret": intent["clientSecret"]})
    first = (await live.next(operation))["checkoutSessionUpdated"]
    assert first["status"] == "AWAITING_PAYMENT_METHOD" and first["remainingAttempts"] == 5
    assert first["merchantName"] == "Acme Books"
    canceled = payload_of(await gql(client, CANCEL, {"input": {"id": intent["id"]}},
                                    api_key=shop.api_key), "cancelPaymentIntent")
    assert canceled["userErrors"] == []
    assert (await live.next(operation))["checkoutSessionUpdated"]["status"] == "CANCELED"
    wrong = await live.subscribe(SESSION_UPDATED, {"id": intent["id"],
                                                   "secret": "pi_secret_" + "x" * 40})
    assert await live.error_code(wrong) == "INVALID_CLIENT_SECRET"
    await live.close()


async def test_an_intent_passing_expires_at_is_sent_as_expired(server, client, shop):
    intent = await create_intent(client, shop)
    await PaymentIntent.filter(id=intent["id"]).update(expires_at=now() + timedelta(seconds=1))
    live = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    operation = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
    assert (await live.next(operation))["paymentIntentUpdated"]["status"] == \
        "AWAITING_PAYMENT_METHOD"
    assert (await live.next(operation, timeout=5))["paymentIntentUpdated"]["status"] == \
        "EXPIRED"
    await live.close()


async def test_events_replays_after_the_cursor_then_goes_live(server, client, shop):
    for _ in range(3):
        await create_intent(client, shop)
    page = await gql(client, EVENTS, {"first": 1}, api_key=shop.api_key)
    cursor = page["data"]["events"]["edges"][0]["cursor"]
    older = [await create_intent(client, shop) for _ in range(2)]
    live = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    operation = await live.subscribe(EVENTS_LIVE, {"after": cursor})
    replayed = [(await live.next(operation))["events"] for _ in range(2)]
    assert [event["data"]["object"]["id"] for event in replayed] == [i["id"] for i in older]
    newer = await create_intent(client, shop)
    assert (await live.next(operation))["events"]["data"]["object"]["id"] == newer["id"]
    assert await live.silent(operation)
    await live.close()


async def test_events_has_no_gap_and_no_duplicate_under_concurrent_commits(server, client,
                                                                           shop):
    await create_intent(client, shop)
    page = await gql(client, EVENTS, {"first": 1}, api_key=shop.api_key)
    cursor = page["data"]["events"]["edges"][0]["cursor"]
    for _ in range(30):  # a replay long enough to overlap the commits below
        await create_intent(client, shop)
    live = await LiveClient.connect(server.url, {"apiKey": shop.api_key})

    async def commit_many() -> list[str]:
        created = []
        for _ in range(6):
            batch = await asyncio.gather(*[create_intent(client, shop) for _ in range(5)])
            created += [intent["id"] for intent in batch]
        return created

    committing = asyncio.create_task(commit_many())
    operation = await live.subscribe(EVENTS_LIVE, {"after": cursor,
                                                   "types": ["payment_intent.created"]})
    during = await committing
    received = []
    while len(received) < 60:
        received.append((await live.next(operation))["events"])
    assert await live.silent(operation, 1.5)  # nothing twice, even after the lookback read
    ids = [event["id"] for event in received]
    assert len(set(ids)) == len(ids) == 60
    intents = {event["data"]["object"]["id"] for event in received}
    assert set(during) <= intents
    await live.close()


async def test_events_with_a_user_token_and_type_filter(server, client, shop):
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    live = await LiveClient.connect(server.url, {"authorization": f"Bearer {staff.token}"})
    operation = await live.subscribe(EVENTS_LIVE, {"merchantId": shop.merchant_id,
                                                   "types": ["payment_intent.canceled"]})
    await asyncio.sleep(0.3)  # subscribed ("from now"): nothing is sent before a change
    intent = await create_intent(client, shop)
    await gql(client, CANCEL, {"input": {"id": intent["id"]}}, api_key=shop.api_key)
    event = (await live.next(operation))["events"]
    assert event["type"] == "payment_intent.canceled"
    assert event["data"]["object"]["status"] == "CANCELED"
    await live.close()


async def test_bad_credentials_close_the_socket_with_4403(server):
    live = await LiveClient.connect(server.url, {"apiKey": "sk_test_" + "x" * 40}, ack=False)
    assert await live.closed_with() == 4403
    live = await LiveClient.connect(server.url, {"authorization": "Bearer nope"}, ack=False)
    assert await live.closed_with() == 4403


async def test_each_subscription_is_authorized(server, client, shop):
    intent = await create_intent(client, shop)
    stranger = await register_and_login(client, "stranger")
    anonymous = await LiveClient.connect(server.url)
    assert await anonymous.error_code(await anonymous.subscribe(
        INTENT_UPDATED, {"id": intent["id"]})) == "UNAUTHENTICATED"
    assert await anonymous.error_code(await anonymous.subscribe(EVENTS_LIVE)) == \
        "UNAUTHENTICATED"
    outsider = await LiveClient.connect(server.url, {"authorization":
                                                     f"Bearer {stranger.token}"})
    assert await outsider.error_code(await outsider.subscribe(
        INTENT_UPDATED, {"id": intent["id"]})) == "NOT_FOUND"
    assert await outsider.error_code(await outsider.subscribe(
        EVENTS_LIVE, {"merchantId": shop.merchant_id})) == "NOT_FOUND"
    assert await outsider.error_code(await outsider.subscribe(
        EVENTS_LIVE, {"merchantId": shop.merchant_id, "after": "garbage"})) == "NOT_FOUND"
    keyed = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    assert await keyed.error_code(await keyed.subscribe(
        EVENTS_LIVE, {"after": "garbage"})) == "VALIDATION_ERROR"
    assert await keyed.error_code(await keyed.subscribe(  # a typo matches nothing: refused
        EVENTS_LIVE, {"types": ["payment_intent.capture"]})) == "VALIDATION_ERROR"
    assert await keyed.error_code(await keyed.subscribe(
        "{ paymentIntents { edges { node { id } } } }")) == "GRAPHQL_VALIDATION_FAILED"
    for live in (anonymous, outsider, keyed):
        await live.close()


async def test_the_51st_subscription_of_a_connection_is_rate_limited(server, client, shop):
    intent = await create_intent(client, shop)
    live = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    operations = [await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
                  for _ in range(50)]
    for operation in operations:
        await live.next(operation)
    assert await live.error_code(await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})) \
        == "RATE_LIMITED"
    await live.complete(operations[0])
    await asyncio.sleep(0.2)
    again = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
    assert (await live.next(again))["paymentIntentUpdated"]["id"] == intent["id"]
    await live.close()


async def test_a_revoked_key_closes_its_sockets(server, client, shop):
    from tests.helpers import REVOKE_KEY, create_api_key

    key = await create_api_key(client, shop.owner, shop.merchant_id)
    live = await LiveClient.connect(server.url, {"apiKey": key})
    operation = await live.subscribe(EVENTS_LIVE)
    keys = await gql(client, "query($id: ID!) { merchant(id: $id) { apiKeys { id prefix } } }",
                     {"id": shop.merchant_id}, token=shop.owner.token)
    key_id = next(k["id"] for k in keys["data"]["merchant"]["apiKeys"]
                  if key.startswith(k["prefix"]))
    revoked = payload_of(await gql(client, REVOKE_KEY, {"input": {"id": key_id}},
                                   token=shop.owner.token), "revokeApiKey")
    assert revoked["userErrors"] == []
    assert await live.closed_with(timeout=8) == 4403
    assert operation


async def test_the_server_answers_pings(server):
    live = await LiveClient.connect(server.url)
    await live.socket.send('{"type": "ping"}')
    assert (await live.other())["type"] == "pong"
    await live.close()


async def test_a_member_removed_loses_each_subscription_with_a_coded_error(server, client,
                                                                           shop):
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    intent = await create_intent(client, shop)
    live = await LiveClient.connect(server.url, {"authorization": f"Bearer {staff.token}"})
    events = await live.subscribe(EVENTS_LIVE, {"merchantId": shop.merchant_id})
    followed = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
    await live.next(followed)
    removed = payload_of(await gql(client, REMOVE_MEMBER, {"input": {
        "merchantId": shop.merchant_id, "userId": staff.user_id}}, token=shop.owner.token),
        "removeMember")
    assert removed["userErrors"] == []
    # within the re-check (every 2 s): each ends with the code a stranger gets
    assert await live.error_code(events, timeout=10) == "NOT_FOUND"
    assert await live.error_code(followed, timeout=10) == "NOT_FOUND"
    await live.socket.send('{"type": "ping"}')  # the token is still good: the socket stays
    assert (await live.other())["type"] == "pong"
    await live.close()


async def test_a_subscriber_too_far_behind_is_ended_and_can_resume(server, client, shop,
                                                                   monkeypatch):
    from core import limits
    from resolvers import api_keys, live
    from resolvers.access import Caller

    monkeypatch.setattr(limits, "LIVE_EVENTS_QUEUED", 2)
    caller = Caller(api_key=await api_keys.authenticate(shop.api_key))
    stream = live.follow_events(caller, None, None, None)
    first = asyncio.create_task(anext(stream))  # it joins the hub, then waits
    await asyncio.sleep(0.3)
    made = [await create_intent(client, shop)]
    assert (await asyncio.wait_for(first, 10)).object_id == made[0]["id"]
    made += [await create_intent(client, shop) for _ in range(4)]  # nobody reads them
    await asyncio.sleep(1.5)  # the hub's periodic read has seen them all
    assert [(await anext(stream)).object_id for _ in range(2)] == [i["id"] for i in made[1:3]]
    try:
        await anext(stream)
        raise AssertionError("the stream should have ended")
    except RequestError as error:
        assert error.code is ErrorCode.RATE_LIMITED
        cursor = error.extensions["cursor"]
    finally:
        await stream.aclose()
    resumed = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    operation = await resumed.subscribe(EVENTS_LIVE, {"after": cursor})
    rest = [(await resumed.next(operation))["events"]["data"]["object"]["id"] for _ in range(2)]
    assert rest == [i["id"] for i in made[3:]]
    await resumed.close()


async def test_websocket_handshakes_are_rate_limited_per_ip(settings):
    import websockets

    from tests.security.test_limits import own_app
    from tests.ws import PROTOCOL, ws_url

    async with own_app(settings, websocket_handshakes_per_minute=2) as application:
        local = LocalServer(application)
        await local.start()
        try:
            for _ in range(2):
                live = await LiveClient.connect(local.url)
                await live.close()
            try:
                await websockets.connect(ws_url(local.url), subprotocols=[PROTOCOL])
                raise AssertionError("the third handshake of the minute went through")
            except websockets.InvalidStatus as refused:
                assert refused.response.status_code == 429
                assert int(refused.response.headers["Retry-After"]) >= 1
                assert b"RATE_LIMITED" in refused.response.body
        finally:
            await local.stop()


async def test_header_names_authenticate_too_as_graphiql_sends_them(server, client, shop):
    """GraphiQL sends its headers editor as the connection_init payload."""
    intent = await create_intent(client, shop)
    for payload in ({"X-API-Key": shop.api_key},
                    {"Authorization": f"Bearer {shop.owner.token}"}):
        live = await LiveClient.connect(server.url, payload)
        operation = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
        assert (await live.next(operation))["paymentIntentUpdated"]["id"] == intent["id"]
        await live.close()


async def test_a_subscription_over_http_is_refused_with_a_code(client, shop):
    body = await gql(client, EVENTS_LIVE, {"after": "garbage"}, api_key=shop.api_key)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "WebSocket" in body["errors"][0]["message"]


async def until_status(live: LiveClient, operation: str, status: str) -> dict:
    """The operation's next results, until the intent reads `status`."""
    for _ in range(5):
        intent = (await live.next(operation))["paymentIntentUpdated"]
        if intent["status"] == status:
            return intent
    raise AssertionError(f"no {status} in 5 results")


async def test_identical_subscriptions_share_results_but_callers_see_their_own(server, client,
                                                                               shop):
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    intent = await create_intent(client, shop)
    merchant = await LiveClient.connect(server.url, {"apiKey": shop.api_key})
    member = await LiveClient.connect(server.url, {"authorization": f"Bearer {staff.token}"})
    twins = [await merchant.subscribe(INTENT_MONEY, {"id": intent["id"]}) for _ in range(2)]
    other = await member.subscribe(INTENT_MONEY, {"id": intent["id"]})
    for live, operation in ((merchant, twins[0]), (merchant, twins[1]), (member, other)):
        assert (await live.next(operation))["paymentIntentUpdated"]["status"] == \
            "AWAITING_PAYMENT_METHOD"
    await confirm(client, intent)
    seen = [await until_status(merchant, operation, "CAPTURED") for operation in twins]
    assert seen[0] == seen[1] and seen[0]["balanceTransactions"] == [{"amount": 9999}]
    # the same document and variables, but STAFF does not read money: never the key's result
    assert (await until_status(member, other, "CAPTURED"))["balanceTransactions"] == []
    await merchant.close()
    await member.close()


async def test_a_shared_execution_runs_once_and_outlives_a_subscription_that_ends():
    from schema.subscriptions import SharedResults

    results, runs = SharedResults(), []

    async def execute() -> str:
        runs.append("run")
        await asyncio.sleep(0.05)
        return "result"

    leaving = asyncio.ensure_future(results.result(("event", "document"), (), execute))
    staying = asyncio.ensure_future(results.result(("event", "document"), (), execute))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert await staying == "result" and runs == ["run"]
    assert results.result(("other",), (), lambda: "now") == "now"
    assert results.result(("other",), (), lambda: "never") == "now"


async def make_event(merchant_id: str, created_at) -> str:
    """An event as if its transaction had stamped `created_at` and committed only now."""
    event = await Event.create(merchant_id=merchant_id, type="test.lagging", data={},
                               delivery_state=DeliveryState.NONE)
    await Event.filter(id=event.id).update(created_at=created_at)
    return event.id


async def test_a_commit_lagging_behind_the_wake_up_window_widens_it(app, shop):
    from resolvers.live import WAKE_WINDOW, Hub, Subscriber

    hub = Hub(poll_seconds=3600)  # no periodic read of its own: the test makes them
    subscriber = Subscriber(shop.merchant_id, types=frozenset({"test.lagging"}))
    await hub.join(subscriber)
    try:
        first = await make_event(shop.merchant_id, now())
        hub.wake()
        assert (await asyncio.wait_for(subscriber.get(), 5)).id == first
        late = await make_event(shop.merchant_id, hub.newest - timedelta(seconds=1))
        hub.wake()
        await asyncio.sleep(0.5)
        assert not subscriber.items  # its commit lagged further than the wake-up re-reads
        await hub.read(full=True)  # the periodic read finds it, once
        assert (await asyncio.wait_for(subscriber.get(), 5)).id == late
        assert hub.window >= timedelta(seconds=1.5) > WAKE_WINDOW
        later = await make_event(shop.merchant_id, hub.newest - timedelta(seconds=1))
        hub.wake()  # the wider window: the wake-up finds the next such event at once
        assert (await asyncio.wait_for(subscriber.get(), 5)).id == later
        await hub.read(full=True)
        assert not subscriber.items  # nothing twice
    finally:
        hub.leave(subscriber)
        await hub.close()


async def test_a_document_over_the_token_limit_is_refused_at_once(server):
    """As over HTTP (§12.6): a subscribe message's document is parsed no further than the
    token limit, with or without credentials."""
    import time

    from core import limits

    live = await LiveClient.connect(server.url)
    started = time.monotonic()
    operation = await live.subscribe("subscription { " + "a " * (limits.GRAPHQL_TOKENS * 6) + "}")
    assert await live.error_code(operation, timeout=5) == "GRAPHQL_PARSE_FAILED"
    assert time.monotonic() - started < 5
    broken = await live.subscribe("subscription { ")  # any syntax error: the same code
    assert await live.error_code(broken) == "GRAPHQL_PARSE_FAILED"
    await live.close()


async def test_staff_follow_no_payout_or_dispute_events(server, client, shop):
    """As in the events list: a role that may not read payouts and disputes gets none of
    their events live either, whatever types it asks for."""
    from resolvers import events

    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    live = await LiveClient.connect(server.url, {"authorization": f"Bearer {staff.token}"})
    every = await live.subscribe(EVENTS_LIVE, {"merchantId": shop.merchant_id})
    payouts = await live.subscribe(EVENTS_LIVE, {"merchantId": shop.merchant_id,
                                                 "types": ["payout.created"]})
    await asyncio.sleep(0.3)  # both joined the hub
    await events.record(shop.merchant_id, "payout.created", "po_x", {"object": {"id": "po_x"}})
    await events.record(shop.merchant_id, "webhook.test", None, {"object": {}})
    assert (await live.next(every))["events"]["type"] == "webhook.test"
    assert await live.silent(payouts) and await live.silent(every)
    await live.close()
