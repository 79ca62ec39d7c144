"""Nothing is lost: a delivery interrupted by a dying process, or jobs lost from Redis."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from models.events import Event
from tests.conftest import fleet_only
from tests.helpers import create_intent, set_webhook_url
from tests.receiver import wait_for
from tests.webhook_helpers import delivery_state, leased


@pytest.fixture
def worker(worker_subprocess):
    """These tests are about the worker process itself: killed, doubled, its log read."""
    return worker_subprocess


async def restart_jobs(app, worker) -> None:
    """Kill whatever runs the jobs, mid-flight, and start it again."""
    if worker is not None:  # PostgreSQL + Redis: SIGKILL the arq worker process
        worker.kill()
        worker.start()
        return
    from tasks.queue import create_queue  # embedded: the in-process queue dies with its tasks

    await app.state.queue.close()
    app.state.queue = await create_queue(app.state.settings)


async def test_a_delivery_cut_off_mid_flight_is_sent_again(app, client, shop, receiver,
                                                           worker):
    inbox = receiver.inbox()
    inbox.delays = [30]  # the first request hangs until its sender is gone
    await set_webhook_url(client, shop, inbox.url)
    intent = await create_intent(client, shop)
    event = await Event.get(object_id=intent["id"], type="payment_intent.created")
    await wait_for(lambda: _leased(event.id), 15)
    await restart_jobs(app, worker)
    await wait_for(lambda: inbox.received, 30)
    assert inbox.received[0].headers["webhook-id"] == event.id
    await wait_for(lambda: _state(event.id, "DELIVERED"), 15)


async def _leased(event_id: str) -> bool:
    return await leased(event_id)


async def _state(event_id: str, state: str) -> bool:
    return await delivery_state(event_id) == state


@fleet_only  # embedded mode has no Redis: see test_lost_wake_ups_are_found_by_the_sweep
async def test_jobs_wiped_from_redis_lose_no_event(client, shop, receiver, worker, settings):
    inbox = receiver.inbox()
    inbox.statuses = [500]
    await set_webhook_url(client, shop, inbox.url)
    intents = [await create_intent(client, shop) for _ in range(3)]
    await wait_for(lambda: len(inbox.received) >= 3, 15)  # first attempts (one failed)
    redis = aioredis.from_url(settings.redis_url)
    try:  # what a FLUSHALL would do to this run: its queue and its jobs are gone
        await redis.delete(settings.queue_name)
        async for key in redis.scan_iter("arq:job:deliver:*"):
            await redis.delete(key)
    finally:
        await redis.aclose()
    ids = {i["id"] for i in intents}

    def delivered_ids():
        return {json.loads(r.body)["data"]["object"]["id"] for r in inbox.received}

    await wait_for(lambda: delivered_ids() == ids and len(inbox.received) >= 4, 30)
    assert delivered_ids() == ids  # the failed one too, though its job was wiped
    for intent in intents:
        await wait_for(lambda i=intent: _created_delivered(i["id"]), 15)


async def _created_delivered(intent_id: str) -> bool:
    event = await Event.get(object_id=intent_id, type="payment_intent.created")
    return await delivery_state(event.id) == "DELIVERED"


async def test_the_worker_logs_each_delivery_without_secrets(client, shop, receiver, worker,
                                                             caplog):
    import logging

    caplog.set_level(logging.INFO, logger="gateway.webhooks")
    inbox = receiver.inbox()
    secret = await set_webhook_url(client, shop, inbox.url)
    intent = await create_intent(client, shop)
    event = await Event.get(object_id=intent["id"], type="payment_intent.created")
    await wait_for(lambda: _state(event.id, "DELIVERED"), 15)

    def log_text() -> str:
        return worker.output() if worker is not None else caplog.text

    line = await wait_for(lambda: next((entry for entry in log_text().splitlines()
                                         if f"event={event.id}" in entry), None), 10)
    assert "type=payment_intent.created" in line and "attempt=1" in line
    assert "status=200" in line and "latency_ms=" in line
    assert secret not in log_text() and secret.removeprefix("whsec_") not in log_text()


@fleet_only  # embedded mode runs one in-process queue
async def test_two_workers_send_each_event_once(client, shop, receiver, worker, settings,
                                                tmp_path):
    from tests.conftest import WorkerProcess

    second = WorkerProcess(settings, tmp_path / "second-worker.log")
    second.start()
    try:
        inbox = receiver.inbox()
        await set_webhook_url(client, shop, inbox.url)
        intents = [await create_intent(client, shop) for _ in range(20)]
        await wait_for(lambda: len(inbox.received) >= 20, 30)
        for intent in intents:
            await wait_for(lambda i=intent: _created_delivered(i["id"]), 15)
    finally:
        second.stop()
    ids = [r.headers["webhook-id"] for r in inbox.received]
    assert len(ids) == len(set(ids)) == 20
    from models.events import WebhookDelivery
    attempts = await WebhookDelivery.filter(event__merchant_id=shop.merchant_id).values_list(
        "attempt", flat=True)
    assert sorted(attempts) == [1] * 20


async def test_a_worker_killed_mid_fan_out_loses_no_delivery(app, client, shop, receiver,
                                                             worker):
    """Four endpoints, one hanging: the process dies with the four POSTs in flight, and
    every endpoint still gets the event, with the same webhook-id."""
    from tests.webhook_helpers import create_endpoint, delivery_states

    boxes = [receiver.inbox() for _ in range(4)]
    boxes[0].delays = [30]
    for box in boxes:
        await create_endpoint(client, shop, box.url)
    intent = await create_intent(client, shop)
    event = await Event.get(object_id=intent["id"], type="payment_intent.created")
    await wait_for(lambda: _leased(event.id), 15)
    await restart_jobs(app, worker)
    await wait_for(lambda: all(box.received for box in boxes), 30)
    assert {box.received[-1].headers["webhook-id"] for box in boxes} == {event.id}

    async def all_delivered():
        return set((await delivery_states(event.id)).values()) == {"DELIVERED"}

    await wait_for(all_delivered, 15)
