"""Wake-ups: queued in one round trip, in arq's own format, once per job id."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from arq import create_pool
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from arq.utils import to_unix_ms

from core.clock import now
from core.names import Job
from resolvers import dispatch
from resolvers.dispatch import WakeUp
from tasks.queue import ArqQueue, deserialize, redis_settings, serialize
from tests.conftest import TEST_REDIS_URL, skip_or_fail_without_services


async def test_wake_ups_are_queued_once_each_as_arq_would():
    skip_or_fail_without_services()
    queue_name = f"arq:queue:test-wake-ups:{secrets.token_hex(4)}"
    pool = await create_pool(redis_settings(TEST_REDIS_URL), job_serializer=serialize,
                             job_deserializer=deserialize, default_queue_name=queue_name)
    first, later = f"deliver:{secrets.token_hex(6)}", f"deliver:{secrets.token_hex(6)}:retry"
    try:
        queue = ArqQueue(pool, queue_name, close_pool=False)
        due = now() + timedelta(hours=1)
        await queue.enqueue_many([WakeUp("deliver_event", ("evt_1",), first),
                                  WakeUp("deliver_event", ("evt_1",), first),
                                  WakeUp("deliver_event", ("evt_3",), later, due)])
        await queue.enqueue_many([WakeUp("deliver_event", ("evt_2",), first)])

        assert set(await pool.zrange(queue_name, 0, -1)) == {first.encode(), later.encode()}
        assert await pool.zscore(queue_name, later) == to_unix_ms(due)
        job = deserialize_job(await pool.get(job_key_prefix + first), deserializer=deserialize)
        assert (job.function, job.args) == ("deliver_event", ["evt_1"])  # not evt_2
        assert await pool.pttl(job_key_prefix + later) > 24 * 3600 * 1000  # 1 h + arq's day
        assert {job.job_id for job in await pool.queued_jobs(queue_name=queue_name)} == \
            {first, later}  # arq reads them back
    finally:
        await pool.delete(queue_name, job_key_prefix + first, job_key_prefix + later)
        await pool.aclose()


class SlowQueue:
    """Records each round trip; each takes a little while, as Redis does."""

    def __init__(self) -> None:
        self.round_trips: list[list[str]] = []

    async def enqueue_many(self, wake_ups: list[WakeUp]) -> None:
        self.round_trips.append([wake_up.args[0] for wake_up in wake_ups])
        await asyncio.sleep(0.05)


async def test_wake_ups_made_meanwhile_share_the_next_round_trip():
    queue = SlowQueue()
    installed = dispatch._queue
    dispatch.install(queue)
    try:
        await dispatch.enqueue(Job.DELIVER_EVENT, "evt_1")
        await asyncio.sleep(0.01)  # the first round trip is under way
        await asyncio.gather(*[dispatch.enqueue(Job.DELIVER_EVENT, f"evt_{n}")
                               for n in range(2, 6)])
        await dispatch.settle()
    finally:
        dispatch.install(installed)
    assert queue.round_trips == [["evt_1"], ["evt_2", "evt_3", "evt_4", "evt_5"]]
