"""After-commit work: wake the queue for what the database now owes.

The database is the source of truth (events with pending deliveries, intents with an
`expiresAt`); a lost wake-up costs only latency, because the sweeps find the work anyway.
`main.py` installs the queue; resolvers never import `tasks/`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger("gateway.dispatch")


class Queue(Protocol):
    async def enqueue(self, job: str, *args: Any, job_id: str | None = None,
                      defer_until: datetime | None = None) -> None: ...


_queue: Queue | None = None


def install(queue: Queue | None) -> None:
    global _queue
    _queue = queue


_in_flight: set[asyncio.Task] = set()


async def enqueue(job: str, *args: Any, job_id: str | None = None,
                  defer_until: datetime | None = None) -> None:
    """Wake the queue without holding up the caller (the answer to an API request).

    The work is already committed; if this process dies before the wake-up reaches the
    queue, the sweep finds the work anyway.
    """
    if _queue is None:
        return
    task = asyncio.create_task(_enqueue_now(_queue, job, args, job_id, defer_until))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


async def _enqueue_now(queue: Queue, job: str, args: tuple, job_id: str | None,
                       defer_until: datetime | None) -> None:
    try:
        await queue.enqueue(job, *args, job_id=job_id, defer_until=defer_until)
    except Exception:  # noqa: BLE001 - the sweep delivers what a lost wake-up missed
        log.warning("could not enqueue %s %s; the sweep will pick it up", job, args,
                    exc_info=True)


async def deliver_events(event_ids: list[str]) -> None:
    for event_id in event_ids:
        await enqueue("deliver_event", event_id, job_id=f"deliver:{event_id}")


async def expire_at(intent_id: str, when: datetime) -> None:
    await enqueue("expire_intent", intent_id, job_id=f"expire:{intent_id}", defer_until=when)


async def settle() -> None:
    """Wait for the wake-ups under way (at shutdown)."""
    if _in_flight:
        await asyncio.gather(*list(_in_flight), return_exceptions=True)
