"""A scrape of /metrics (CONTRACT §16), for the API and the worker alike: the process's
families (core.metrics) and the webhook backlog, read from the database now."""

from __future__ import annotations

import logging

from core import metrics
from core.clock import now
from models import sql

log = logging.getLogger("gateway.metrics")


async def scrape() -> bytes:
    return metrics.exposition(await backlog())


async def backlog() -> int | None:
    """Events due for delivery and not delivered; None (the gauge left out) when the database
    cannot say: a scrape still gets the counters."""
    try:
        return await sql.webhook_backlog(now())
    except Exception:
        log.warning("webhook backlog unavailable for /metrics", exc_info=True)
        return None
