"""The delivery pump: one loop per worker (or per embedded API process) that claims due
webhook deliveries in batches, POSTs them concurrently and records them in batches.

Where a job per event cost arq's round trips and a claim and a write per delivery, a round
here claims up to CLAIM_BATCH pairs of any events in one statement (SKIP LOCKED: any number
of pumps never claim the same pair), and the Recorder writes whatever finished meanwhile in
one statement. A round starts on a wake-up (dispatch.deliver_events: this process's directly,
the fleet's through the live channel) or every POLL_SECONDS: retries come due by time, and a
lost wake-up costs latency only. At most CONCURRENT_POSTS deliveries are in flight, so a
claimed delivery never waits for a connection while its lease runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from models.sql import Claimed
from resolvers import deliveries, dispatch, live

log = logging.getLogger("gateway.webhooks")

CLAIM_BATCH = 100
POLL_SECONDS = 0.5
# Under load wake-ups come faster than rounds: a round waits this long after the previous
# one began, so each claims many deliveries instead of one each (idle, it starts at once).
ROUND_SECONDS = 0.01


class Pump:
    def __init__(self, http: deliveries.Poster, redis: Any = None,
                 channel: str | None = None) -> None:
        self.http = http
        self._redis, self._channel = redis, channel
        self._wake = asyncio.Event()
        self._room = asyncio.Event()  # a delivery finished: there may be room for more
        self._in_flight: set[asyncio.Task] = set()
        self._recorder = deliveries.Recorder()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run()))
        if self._redis is not None:  # other processes' commits
            self._tasks.append(asyncio.create_task(live.listen(self._redis, self._channel, self)))
        dispatch.add_pump(self.wake)  # this process's commits

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Stop claiming; give the deliveries in flight `grace` seconds to finish and be
        recorded, then abandon the rest (their leases lapse: they are sent again)."""
        dispatch.remove_pump(self.wake)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._in_flight and grace > 0:
            await asyncio.wait(self._in_flight, timeout=grace)
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._recorder.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        began = -ROUND_SECONDS
        while True:
            await asyncio.sleep(max(0.0, began + ROUND_SECONDS - loop.time()))
            room = deliveries.CONCURRENT_POSTS - len(self._in_flight)
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            began = loop.time()
            self._wake.clear()  # a wake-up from now on means another round
            limit = min(room, CLAIM_BATCH)
            try:
                claimed = await deliveries.claim_due(limit)
            except Exception:  # noqa: BLE001 - the database is back later; nothing is lost
                log.warning("could not claim webhook deliveries; retrying", exc_info=True)
                claimed = []
            for one in claimed:
                self._spawn(one)
            if len(claimed) < limit:  # all that is due is under way: wait for more
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    def _spawn(self, claimed: Claimed) -> None:
        task = asyncio.create_task(self._deliver(claimed))
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        self._room.set()

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            await self._recorder.add(await deliveries.try_delivery(self.http, claimed))
        except Exception:  # noqa: BLE001 - unrecorded: its lease lapses, it is sent again
            log.exception("webhook event=%s could not be delivered", claimed.event.id)
