"""The jobs. Each runs at least once, so each is idempotent: it re-reads the database."""

from __future__ import annotations

import logging
from typing import Any

from core.clock import now
from core.names import Job
from resolvers import deliveries, dispatch, idempotency, payment_intents, webhook_endpoints
from resolvers.money import sweeps as money_sweeps
from tasks.webhook_http import WebhookClient

log = logging.getLogger("gateway.tasks")

STARTED = now()  # when this process (a worker, or the API in embedded mode) started

WAKE_UP_LIMIT = 1000  # per sweep; the rest are found by the next sweeps


def http_client() -> WebhookClient:
    """Webhook deliveries: no redirects followed (a 3xx is a failure), pooled connections
    (tasks/webhook_http.py)."""
    return WebhookClient()


async def deliver_event(ctx: dict[str, Any], event_id: str,
                        endpoint_id: str | None = None) -> None:
    """The event's due deliveries, to every endpoint (or to one: its retries, a recovery)."""
    await deliveries.deliver(ctx["http"], event_id, endpoint_id)


async def sweep(ctx: dict[str, Any]) -> None:
    """What the database says is due: expiries, lapsed authorizations, endpoints failing for
    too long, lost deliveries."""
    written = await payment_intents.expire_due()
    written += await payment_intents.void_lapsed_authorizations()
    written += await webhook_endpoints.disable_failing()
    written += await money_sweeps.sweep(STARTED)  # payouts and disputes (CONTRACT §13)
    # Deliveries due a while with nobody on them (a lost wake-up): wake the pumps again.
    await dispatch.deliver_events(written + await deliveries.overdue_event_ids(WAKE_UP_LIMIT))
    await idempotency.forget_expired()
    if written:
        log.info("sweep: %d expiries and auto-voids", len(written))


JOBS = {Job.DELIVER_EVENT.value: deliver_event}
