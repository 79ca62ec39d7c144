"""`python main.py worker`: an arq worker running the jobs, with the sweep as a cron job."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvloop
from arq import cron
from arq.worker import func
from arq.worker import run_worker as arq_run_worker

from core.config import Settings, use_settings
from core.names import Job
from core.process import settle_memory
from models import db
from resolvers import dispatch, live
from tasks.jobs import JOBS, http_client, sweep
from tasks.metrics_server import start_metrics_server
from tasks.pump import Pump
from tasks.queue import ArqQueue, deserialize, redis_settings, serialize

log = logging.getLogger("gateway.worker")


def worker_settings(settings: Settings, *, standalone: bool = True) -> type:
    """The WorkerSettings class arq expects, built from our settings. `standalone=False`
    runs it inside a process that already has its database connection and its queue for
    wake-ups (the tests' in-process worker beside the API)."""

    async def startup(ctx: dict[str, Any]) -> None:
        use_settings(settings)
        ctx["http"] = http_client()
        if standalone:
            await db.connect(settings.database_url)
            dispatch.install(ArqQueue(ctx["redis"], settings.queue_name, close_pool=False))
            if settings.worker_metrics_port:  # CONTRACT §16
                ctx["metrics_server"] = await start_metrics_server(
                    settings.host, settings.worker_metrics_port)
        # Webhook deliveries: claimed in batches, woken by every process's commits.
        ctx["pump"] = Pump(ctx["http"], ctx["redis"], live.channel_name(settings.queue_name))
        ctx["pump"].start()
        log.info("worker ready on queue %s", settings.queue_name)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "pump" in ctx:  # the POSTs under way end within their timeout
            await ctx["pump"].stop(grace=settings.webhook_timeout_seconds + 1)
        await ctx["http"].aclose()
        if "metrics_server" in ctx:
            ctx["metrics_server"].close()
        if standalone:
            await dispatch.settle()
            await db.disconnect()

    every = max(1, min(30, settings.sweep_interval_seconds))
    return type("WorkerSettings", (), {
        "functions": [func(job, name=name, max_tries=1000) for name, job in JOBS.items()],
        "cron_jobs": [cron(sweep, name=Job.SWEEP.value, second=set(range(0, 60, every)),
                           run_at_startup=True, unique=True, timeout=300)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.redis_url),
        "queue_name": settings.queue_name,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "keep_result": 0,  # finished job ids are free again; the database keeps the state
        "job_timeout": int(settings.webhook_timeout_seconds) + 30,
        "max_jobs": 100,
        "poll_delay": 0.01,  # an idle worker looks for due jobs 100 times a second
        "allow_abort_jobs": False,
    })


def run_worker(settings: Settings) -> None:
    """On uvloop, as uvicorn runs the API: its transports are C, where asyncio's selector loop
    spends Python on every socket write (a delivery makes a dozen, to Redis, PostgreSQL and
    the merchant)."""
    asyncio.set_event_loop(uvloop.new_event_loop())
    arq_settings = worker_settings(settings)
    settle_memory()
    arq_run_worker(arq_settings)
