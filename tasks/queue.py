"""The queue: arq on Redis when REDIS_URL is set, else the same jobs run in this process."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from uuid import uuid4

from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms

from core.clock import now
from core.config import Settings
from resolvers import dispatch
from resolvers.dispatch import WakeUp
from tasks.jobs import JOBS, http_client, sweep
from tasks.pump import Pump

log = logging.getLogger("gateway.tasks")


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    return json.loads(data)


class InProcessQueue:
    """Embedded mode: deferred jobs are asyncio tasks, sweeps a loop, and the delivery pump
    runs here (woken directly by dispatch.deliver_events); one process, no Redis.

    Nothing is lost across restarts: the sweep at start-up finds whatever the database says
    is due (deliveries, expiries).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: dict[str, asyncio.Task] = {}
        self._sweeper: asyncio.Task | None = None
        self._pump: Pump | None = None
        self.ctx: dict[str, Any] = {"queue": self, "settings": settings}

    async def start(self) -> None:
        self.ctx["http"] = http_client()
        self._pump = Pump(self.ctx["http"])
        self._pump.start()
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def enqueue_many(self, wake_ups: list[WakeUp]) -> None:
        for wake_up in wake_ups:
            self._start(wake_up)

    def _start(self, wake_up: WakeUp) -> None:
        key = wake_up.job_id or f"{wake_up.job}:{id(wake_up)}:{now().timestamp()}"
        if key in self._jobs:
            return  # deduplicated by job id, as arq does
        task = asyncio.create_task(self._run(wake_up))
        self._jobs[key] = task
        task.add_done_callback(lambda _: self._jobs.pop(key, None))

    async def _run(self, wake_up: WakeUp) -> None:
        if wake_up.defer_until is not None:
            await asyncio.sleep(max(0.0, (wake_up.defer_until - now()).total_seconds()))
        try:
            await JOBS[wake_up.job](self.ctx, *wake_up.args)
        except Exception:
            log.exception("job %s%s failed", wake_up.job, wake_up.args)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await sweep(self.ctx)
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_seconds)

    async def ping(self) -> dict[str, str]:
        return {}

    async def close(self) -> None:
        if self._pump is not None:  # what is in flight dies with the process: leases lapse
            await self._pump.stop(grace=0)
        tasks = [*self._jobs.values(), *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if "http" in self.ctx:
            await self.ctx["http"].aclose()


# arq's enqueue_job for many jobs in one round trip, where arq spends three on each (WATCH,
# EXISTS, MULTI/EXEC): the same keys and the same rule, that a job whose id is queued or kept
# as a result is not queued again. ARGV: the job key prefix, the result key prefix, then for
# each job its id, score (when it is due, in ms), expiry (ms) and payload.
ENQUEUE_MANY = """
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('EXISTS', ARGV[1] .. id, ARGV[2] .. id) == 0 then
    redis.call('PSETEX', ARGV[1] .. id, ARGV[i + 2], ARGV[i + 3])
    redis.call('ZADD', KEYS[1], ARGV[i + 1], id)
  end
end
"""


class ArqQueue:
    """Fleet mode: jobs go to Redis, arq workers run them."""

    def __init__(self, pool: Any, queue_name: str, close_pool: bool = True) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self.close_pool = close_pool
        self._enqueue_many = pool.register_script(ENQUEUE_MANY)

    async def enqueue_many(self, wake_ups: list[WakeUp]) -> None:
        enqueued_ms = timestamp_ms()
        args: list[Any] = [job_key_prefix, result_key_prefix]
        for wake_up in wake_ups:
            due_ms = to_unix_ms(wake_up.defer_until) if wake_up.defer_until else enqueued_ms
            args += [wake_up.job_id or uuid4().hex, due_ms,
                     due_ms - enqueued_ms + expires_extra_ms,
                     serialize_job(wake_up.job, wake_up.args, {}, None, enqueued_ms,
                                   serializer=serialize)]
        await self._enqueue_many(keys=[self.queue_name], args=args)

    async def ping(self) -> dict[str, str]:
        try:
            await self.pool.ping()
        except Exception as error:  # noqa: BLE001 - readiness reports any failure
            return {"redis": f"error: {type(error).__name__}"}
        return {"redis": "ok"}

    async def close(self) -> None:
        if self.close_pool:
            await self.pool.aclose()


def redis_settings(url: str):
    from arq.connections import RedisSettings
    return RedisSettings.from_dsn(url)


async def create_queue(settings: Settings) -> InProcessQueue | ArqQueue:
    if settings.redis_url:
        from arq import create_pool
        pool = await create_pool(redis_settings(settings.redis_url),
                                 job_serializer=serialize, job_deserializer=deserialize,
                                 default_queue_name=settings.queue_name)
        queue: InProcessQueue | ArqQueue = ArqQueue(pool, settings.queue_name)
    else:
        queue = InProcessQueue(settings)
        await queue.start()
    dispatch.install(queue)
    return queue
