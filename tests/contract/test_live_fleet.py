"""CONTRACT §15 in a fleet: a change committed by any process (another API process, the
worker's sweep) reaches subscribers on every API process, through Redis pub/sub wake-ups.

Real processes (`python main.py serve` twice, `python main.py worker`) on PostgreSQL + Redis.
The API processes' periodic read is set to a minute (LIVE_POLL_SECONDS), so an event that
arrives within the tests' waits came by a wake-up, not by the fallback read.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from datetime import timedelta

import asyncpg
import httpx
import pytest

from core.clock import now
from tests.conftest import ROOT, settings_env, wait_until_ready
from tests.helpers import CANCEL, confirm, create_intent, gql, open_shop, payload_of
from tests.receiver import free_port
from tests.ws import LiveClient

EVENTS_LIVE = """subscription($types: [String!]) { events(types: $types) { id type
  data } }"""
INTENT_UPDATED = "subscription($id: ID!) { paymentIntentUpdated(id: $id) { id status } }"
FALLBACK_READ_SECONDS = "60"  # longer than any wait below: only wake-ups deliver in time
WAIT = 20  # seconds; generous for a loaded CI machine, far under the fallback read


@contextlib.contextmanager
def process(command: str, settings, log_path, **env: str):
    with open(log_path, "w") as log:
        started = subprocess.Popen([sys.executable, "main.py", command], cwd=ROOT,
                                   env={**settings_env(settings), **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        yield started
    finally:
        started.terminate()
        try:
            started.wait(timeout=15)
        except subprocess.TimeoutExpired:
            started.kill()


@contextlib.contextmanager
def api_process(settings, tmp_path, name: str):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / f"{name}.log"
    with process("serve", settings.with_overrides(public_base_url=url), log, PORT=str(port),
                 WORKERS="1", LIVE_POLL_SECONDS=FALLBACK_READ_SECONDS) as server:
        wait_until_ready(url, server, timeout=90, log=log)
        yield url


@pytest.fixture
def fleet(fleet_settings, tmp_path):
    """Two API processes (A, B) and a worker sharing one database and one Redis."""
    with api_process(fleet_settings, tmp_path, "a") as a:  # A migrates the database first
        log = tmp_path / "worker.log"
        with api_process(fleet_settings, tmp_path, "b") as b, \
                process("worker", fleet_settings, log, LOG_LEVEL="info") as worker:
            wait_for_line(log, "worker ready", worker)
            yield a, b


def wait_for_line(log, text: str, started: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert started.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {text!r} in {timeout:g} s: {log.read_text()}"
        time.sleep(0.2)


async def test_a_change_through_process_a_reaches_a_subscriber_on_process_b(fleet):
    a, b = fleet
    async with httpx.AsyncClient(base_url=a, timeout=30) as client:
        shop = await open_shop(client)
        intent = await create_intent(client, shop)
        live = await LiveClient.connect(b, {"apiKey": shop.api_key})
        try:
            events = await live.subscribe(EVENTS_LIVE)
            followed = await live.subscribe(INTENT_UPDATED, {"id": intent["id"]})
            assert (await live.next(followed, WAIT))["paymentIntentUpdated"]["status"] == \
                "AWAITING_PAYMENT_METHOD"
            await confirm(client, intent)
            event = (await live.next(events, WAIT))["events"]
            assert event["type"] == "payment_intent.captured"
            assert event["data"]["object"]["id"] == intent["id"]
            assert (await live.next(followed, WAIT))["paymentIntentUpdated"]["status"] == \
                "CAPTURED"
            other = await create_intent(client, shop)
            canceled = payload_of(await gql(client, CANCEL, {"input": {"id": other["id"]}},
                                            api_key=shop.api_key), "cancelPaymentIntent")
            assert canceled["userErrors"] == []
            kinds = [(await live.next(events, WAIT))["events"]["type"] for _ in range(2)]
            assert kinds == ["payment_intent.created", "payment_intent.canceled"]
        finally:
            await live.close()


async def test_an_expiry_by_the_workers_sweep_reaches_a_subscriber_on_process_b(
        fleet, fleet_settings):
    a, b = fleet
    async with httpx.AsyncClient(base_url=a, timeout=30) as client:
        shop = await open_shop(client)
        intent = await create_intent(client, shop)
    live = await LiveClient.connect(b, {"apiKey": shop.api_key})
    try:
        expired = await live.subscribe(EVENTS_LIVE, {"types": ["payment_intent.expired"]})
        database = await asyncpg.connect(fleet_settings.database_url)
        try:  # due in a moment: the worker's sweep (every second) expires it
            await database.execute("UPDATE payment_intents SET expires_at = $1 WHERE id = $2",
                                   now() + timedelta(seconds=1), intent["id"])
        finally:
            await database.close()
        event = (await live.next(expired, WAIT))["events"]
        assert event["data"]["object"]["id"] == intent["id"]
        assert event["data"]["object"]["status"] == "EXPIRED"
    finally:
        await live.close()
