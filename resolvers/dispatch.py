"""After-commit work: wake the queue, and the delivery pumps, for what the database now owes.

The database is the source of truth (events with pending deliveries, intents with an
`expiresAt`); a lost wake-up costs only latency, because the sweeps (and the pumps' own
polling) find the work anyway. `main.py` installs the queue and the pumps (tasks/pump.py)
add themselves; resolvers never import `tasks/`.

Wake-ups are coalesced: one flusher at a time sends whatever has gathered since it last
went, so under load many requests' wake-ups share one round trip to Redis, and when idle a
wake-up leaves at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.names import Job
from resolvers import live

log = logging.getLogger("gateway.dispatch")


@dataclass(frozen=True)
class WakeUp:
    job: str
    args: tuple[Any, ...]
    job_id: str | None = None  # a job with this id already queued is not queued again
    defer_until: datetime | None = None


class Queue(Protocol):
    async def enqueue_many(self, wake_ups: list[WakeUp]) -> None: ...


_queue: Queue | None = None
_pending: list[WakeUp] = []
_flusher: asyncio.Task | None = None
_pumps: list[Callable[[], None]] = []  # how to wake each delivery pump in this process


def add_pump(wake: Callable[[], None]) -> None:
    _pumps.append(wake)


def remove_pump(wake: Callable[[], None]) -> None:
    if wake in _pumps:
        _pumps.remove(wake)


def install(queue: Queue | None) -> None:
    global _queue
    _queue = queue


async def enqueue(job: Job, *args: Any, job_id: str | None = None,
                  defer_until: datetime | None = None) -> None:
    """Wake the queue without holding up the caller (the answer to an API request).

    The work is already committed; if this process dies before the wake-up reaches the
    queue, the sweep finds the work anyway.
    """
    global _flusher
    if _queue is None:
        return
    _pending.append(WakeUp(job.value, args, job_id, defer_until))
    if not _flushing():
        _flusher = asyncio.create_task(_flush(_queue))


def _flushing() -> bool:
    """A flusher is running in this event loop (one left by a closed loop never finishes)."""
    return _flusher is not None and not _flusher.done() and \
        _flusher.get_loop() is asyncio.get_running_loop()


async def _flush(queue: Queue) -> None:
    while _pending:
        batch = _pending.copy()
        _pending.clear()
        try:
            await queue.enqueue_many(batch)
        except Exception:  # noqa: BLE001 - the sweep delivers what a lost wake-up missed
            log.warning("could not enqueue %d wake-ups (%s, ...); the sweep will pick them up",
                        len(batch), batch[0].job, exc_info=True)


async def deliver_events(event_ids: list[str]) -> None:
    """The events are committed with their deliveries: wake the pumps, which claim whatever
    is due in batches (no job per event). The live channel is also the pumps' wake-up: the
    fleet's workers listen to it; this process's pumps are woken directly."""
    live.announce()  # subscribers read what is new from the database (CONTRACT §15)
    if event_ids:
        _wake_pumps()


def deliveries_due() -> None:
    """Deliveries were made due again (a recovery): wake the fleet's pumps, through the
    live channel, and this process's directly."""
    live.announce()
    _wake_pumps()


def _wake_pumps() -> None:
    for wake in _pumps:
        wake()


async def settle() -> None:
    """Wait for the wake-ups under way (at shutdown)."""
    while _flushing():
        await asyncio.gather(_flusher, return_exceptions=True)
