"""The delivery pump (tasks/pump.py): batch claims that never overlap, results that never
overwrite a newer holder's, retries without a job, and the embedded process delivering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from core.clock import now
from models.delivery_sql import claim_due
from models.events import Event, WebhookDelivery
from models.webhooks import EndpointDelivery, PairState, WebhookEndpoint
from resolvers import deliveries, events
from resolvers.deliveries import Attempt, Outcome
from tasks.jobs import http_client
from tasks.pump import Pump
from tests.conftest import fleet_only
from tests.helpers import create_intent, gql, set_webhook_url
from tests.receiver import wait_for
from tests.webhook_helpers import (
    RECOVER_ENDPOINT,
    create_endpoint,
    delivery_state,
    update_endpoint,
)

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # due before anything any other test owes


async def set_aside_pairs(client, shop, url: str, count: int) -> tuple[list[int], datetime]:
    """`count` due deliveries that no running pump can take: leased by "someone" until a
    day from now (written held, so that no pump starts on them meanwhile). A claim made as
    of after that lease takes them, and them first (due since 2000). Returns their ids and
    the moment to claim as of."""
    endpoint = await create_endpoint(client, shop, url)
    await WebhookEndpoint.filter(id=endpoint["id"]).update(status="DISABLED")
    written = [await events.record(shop.merchant_id, "webhook.test", None, {"object": {}})
               for _ in range(count)]
    held_until = now() + timedelta(days=1)
    pairs = EndpointDelivery.filter(event_id__in=[event.id for event in written])
    await pairs.update(state=PairState.PENDING.value, next_attempt_at=LONG_AGO,
                       lease_until=held_until)
    return list(await pairs.values_list("id", flat=True)), held_until + timedelta(seconds=1)


async def claim_as_of(moment: datetime, limit: int):
    return await claim_due(limit, moment, lease=moment + timedelta(seconds=30),
                           due=moment + timedelta(seconds=1))


async def put_away(pair_ids: list[int]) -> None:
    """Leave nothing owed behind for the other tests' pumps and backlog gauges."""
    await EndpointDelivery.filter(id__in=pair_ids).update(state=PairState.FAILED.value,
                                                         next_attempt_at=None, lease_until=None)


@fleet_only
async def test_concurrent_batch_claims_never_take_the_same_delivery(client, shop, inbox):
    """Three claims at once share the due deliveries out: none twice, and every one taken (by
    them or, for those a claim skipped while another held them, by the next claims). Other
    tests' due deliveries may be taken too, as of tomorrow: they are handed back at once."""
    pair_ids, moment = await set_aside_pairs(client, shop, inbox.url, 30)
    taken: list = []
    try:
        rounds = await asyncio.gather(*[claim_as_of(moment, 10) for _ in range(3)])
        taken = [one for batch in rounds for one in batch]
        for _ in range(5):  # what was skipped while locked is taken by a later claim
            if {one.pair.id for one in taken} >= set(pair_ids):
                break
            taken += await claim_as_of(moment, 10)
        ids = [one.pair.id for one in taken]
        assert len(ids) == len(set(ids))  # never the same delivery twice
        assert set(ids) >= set(pair_ids)
        ours = [one for one in taken if one.pair.id in pair_ids]
        assert all(one.event.merchant_id == shop.merchant_id and one.endpoint.url == inbox.url
                   for one in ours)  # read with its event and endpoint
        again = await claim_as_of(moment, 10)
        taken += again
        assert [one for one in again if one.pair.id in pair_ids] == []  # all leased now
    finally:
        await put_away(pair_ids)
        await EndpointDelivery.filter(  # other tests' deliveries: theirs again
            id__in=[one.pair.id for one in taken if one.pair.id not in pair_ids]
        ).update(lease_until=None)


@fleet_only
async def test_a_claim_skips_deliveries_another_claim_has_locked(client, shop, inbox,
                                                                 settings):
    """SKIP LOCKED: a claim under way elsewhere neither blocks this one nor shares a pair."""
    pair_ids, moment = await set_aside_pairs(client, shop, inbox.url, 6)
    other = await asyncpg.connect(settings.database_url)
    try:
        async with other.transaction():  # another process, mid-claim on three of them
            await other.execute("SELECT id FROM endpoint_deliveries WHERE id = any($1) "
                                "FOR UPDATE", pair_ids[:3])
            # as many as are free: the free three come first (due since 2000), so no other
            # test's due deliveries are taken
            claimed = await asyncio.wait_for(claim_as_of(moment, 3), 5)
        assert sorted(one.pair.id for one in claimed) == sorted(pair_ids[3:])
    finally:
        await other.close()
        await put_away(pair_ids)


async def test_a_late_result_does_not_overwrite_the_next_holder(client, shop, inbox):
    """A result that comes back after its lease lapsed and the delivery was claimed again is
    kept as an attempt, but the delivery stays the new holder's."""
    pair_ids, moment = await set_aside_pairs(client, shop, inbox.url, 1)
    try:
        [first] = await claim_as_of(moment, 1)
        later = first.pair.lease_until + timedelta(seconds=1)  # the first lease has lapsed
        [second] = await claim_as_of(later, 1)
        assert second.pair.id == first.pair.id

        await deliveries.record([Outcome(first, Attempt(url=inbox.url, status=200,
                                                         latency_ms=1))])
        pair = await EndpointDelivery.get(id=first.pair.id)
        assert (pair.state, pair.attempt_count, pair.lease_until) == \
            (PairState.PENDING.value, 0, second.pair.lease_until)
        assert await WebhookDelivery.filter(event_id=first.event.id).count() == 1

        await deliveries.record([Outcome(second, Attempt(url=inbox.url, error="HTTP 500",
                                                          status=500, latency_ms=1))])
        pair = await EndpointDelivery.get(id=first.pair.id)
        assert (pair.state, pair.attempt_count, pair.lease_until) == \
            (PairState.PENDING.value, 1, None)
        assert pair.next_attempt_at is not None  # its retry, due by time
        endpoint = await WebhookEndpoint.get(id=first.endpoint.id)
        assert endpoint.failing_since is not None  # the holder's result counts
    finally:
        await put_away(pair_ids)


async def test_two_pumps_send_each_delivery_once_and_retry_without_a_job(
        client, shop, receiver, settings):
    """Two pumps (beside whatever else runs): every event arrives once, and the one that
    failed arrives again when its retry is due, with no job queued for it."""
    inbox = receiver.inbox()
    inbox.statuses = [500]
    await set_webhook_url(client, shop, inbox.url)
    http = http_client()
    pumps = [Pump(http), Pump(http)]
    for pump in pumps:
        pump.start()
    try:
        written = [await events.record(shop.merchant_id, "webhook.test", None, {"object": {}})
                   for _ in range(12)]  # nobody woken: the pumps' polls find them
        await wait_for(lambda: len(inbox.received) >= 13, 20)
        for event in written:
            await wait_for(lambda e=event: _delivered(e.id), 15)
    finally:
        for pump in pumps:
            await pump.stop(grace=5)
        await http.aclose()
    ids = [r.headers["webhook-id"] for r in inbox.received]
    assert sorted(set(ids)) == sorted(event.id for event in written)
    assert len(ids) == 13  # one each, and the failed one twice
    attempts = await WebhookDelivery.filter(event__merchant_id=shop.merchant_id).values_list(
        "attempt", "succeeded")
    assert sorted(attempts) == [(1, False)] + [(1, True)] * 11 + [(2, True)]
    if settings.redis_url:  # the retry came from the database, not from a queued job
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url)
        try:
            queued = [key.decode() for key in await redis.zrange(settings.queue_name, 0, -1)]
        finally:
            await redis.aclose()
        assert not [key for key in queued if any(event.id in key for event in written)]


async def _delivered(event_id: str) -> bool:
    return await delivery_state(event_id) == PairState.DELIVERED.value


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_the_embedded_process_delivers_on_commit(client, shop, inbox):
    """No Redis, no worker: the API process's own pump is woken by the commit."""
    await set_webhook_url(client, shop, inbox.url)
    intent = await create_intent(client, shop)
    event = await Event.get(object_id=intent["id"], type="payment_intent.created")
    await wait_for(lambda: _delivered(event.id), 10)
    assert [r.headers["webhook-id"] for r in inbox.received] == [event.id]


@fleet_only
async def test_one_unrecordable_result_spoils_only_itself(client, shop, inbox):
    """A batch whose write fails is written again one result at a time: the others are
    recorded, the bad one stays leased (and is sent again when its lease lapses)."""
    pair_ids, moment = await set_aside_pairs(client, shop, inbox.url, 2)
    try:
        good, bad = await claim_as_of(moment, 2)
        bad.event.id = "evt_gone"  # its attempt row cannot be written: no such event
        recorder = deliveries.Recorder()
        answered = Attempt(url=inbox.url, status=200, latency_ms=1)
        await asyncio.gather(recorder.add(Outcome(good, answered)),
                             recorder.add(Outcome(bad, answered)))
        await recorder.close()
        states = dict(await EndpointDelivery.filter(id__in=pair_ids).values_list("id", "state"))
        assert states == {good.pair.id: PairState.DELIVERED.value,
                          bad.pair.id: PairState.PENDING.value}
    finally:
        await put_away(pair_ids)


async def test_a_hold_under_way_cannot_undo_a_recovery(client, shop, inbox):
    """Claimed while its endpoint was disabled, a delivery's hold is written after the
    merchant enabled the endpoint and recovered it: the recovery stands (it took the lease)."""
    pair_ids, moment = await set_aside_pairs(client, shop, inbox.url, 1)
    try:
        [claimed] = await claim_as_of(moment, 1)
        endpoint_id = claimed.endpoint.id
        await update_endpoint(client, shop, endpoint_id, status="ENABLED")
        await EndpointDelivery.filter(id=claimed.pair.id).update(next_attempt_at=now())
        recovered = await gql(client, RECOVER_ENDPOINT, {"input": {
            "id": endpoint_id, "since": (now() - timedelta(hours=1)).isoformat()}},
            token=shop.owner.token)
        assert recovered["data"]["recoverWebhookEndpoint"]["count"] == 1
        await deliveries.record([Outcome(claimed, None)])  # the hold, late
        [state] = await EndpointDelivery.filter(id=claimed.pair.id).values_list("state",
                                                                                 flat=True)
        assert state != PairState.HELD.value
    finally:
        await put_away(pair_ids)
