"""The queue: arq on Redis when REDIS_URL is set, else the same jobs run in this process."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from core.clock import now
from core.config import Settings
from resolvers import dispatch
from tasks.jobs import JOBS, http_client, sweep

log = logging.getLogger("gateway.tasks")


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    return json.loads(data)


class InProcessQueue:
    """Embedded mode: deferred jobs are asyncio tasks, sweeps a loop; one process, no Redis.

    Nothing is lost across restarts: the sweep at start-up finds whatever the database says
    is due (deliveries, expiries).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: dict[str, asyncio.Task] = {}
        self._sweeper: asyncio.Task | None = None
        self.ctx: dict[str, Any] = {"queue": self, "settings": settings}

    async def start(self) -> None:
        self.ctx["http"] = http_client()
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None,
                      defer_until: datetime | None = None) -> None:
        key = job_id or f"{job}:{id(args)}:{now().timestamp()}"
        if key in self._jobs:
            return  # deduplicated by job id, as arq does
        task = asyncio.create_task(self._run(job, args, defer_until))
        self._jobs[key] = task
        task.add_done_callback(lambda _: self._jobs.pop(key, None))

    async def _run(self, job: str, args: tuple, defer_until: datetime | None) -> None:
        if defer_until is not None:
            await asyncio.sleep(max(0.0, (defer_until - now()).total_seconds()))
        try:
            await JOBS[job](self.ctx, *args)
        except Exception:
            log.exception("job %s%s failed", job, args)

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
        tasks = [*self._jobs.values(), *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if "http" in self.ctx:
            await self.ctx["http"].aclose()


class ArqQueue:
    """Fleet mode: jobs go to Redis, arq workers run them."""

    def __init__(self, pool: Any, queue_name: str, close_pool: bool = True) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self.close_pool = close_pool

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None,
                      defer_until: datetime | None = None) -> None:
        await self.pool.enqueue_job(job, *args, _job_id=job_id, _defer_until=defer_until,
                                    _queue_name=self.queue_name)

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
