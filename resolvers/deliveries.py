"""Webhook delivery: claim an event's due deliveries (one per endpoint), POST them signed and
at once, record each attempt, plan each one's next.

At least once: a delivery (an event for one endpoint, models.webhooks.EndpointDelivery) is
PENDING until a 2xx is recorded. A lease (an UPDATE … WHERE the lease is free) lets one
process at a time deliver it; a process that dies mid-delivery leaves a lease that simply runs
out, and the sweep sends it again with the same webhook-id. A disabled endpoint's deliveries
are held, not sent (CONTRACT §14).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from tortoise.expressions import Q

from core import metrics
from core import webhooks as signing
from core.clock import now
from core.config import get_settings
from core.names import Job, delivery_job_id
from core.requests import bound_request_id
from models.events import Event, WebhookDelivery
from models.sql import Claimed, Update, claim_deliveries, write_together
from models.webhooks import EndpointDelivery, EndpointStatus, PairState, WebhookEndpoint
from resolvers import dispatch
from resolvers.events import iso
from resolvers.network import BlockedAddress, pinned_target

log = logging.getLogger("gateway.webhooks")

EARLY_TOLERANCE = timedelta(seconds=1)  # a deferred job may wake a moment early
USER_AGENT = "Gateway-Webhooks/1.0"
# POSTs in flight at once in one process: below the HTTP pool's 200 connections
# (tasks.jobs.http_client), so a POST never waits for a connection inside its timeout.
CONCURRENT_POSTS = 150


@dataclass
class Attempt:
    url: str
    status: int | None = None
    error: str | None = None
    latency_ms: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and signing.is_success(self.status)


def lease_length() -> timedelta:
    return timedelta(seconds=get_settings().webhook_timeout_seconds + 5)


async def claim(event_id: str, endpoint_id: str | None = None) -> list[Claimed]:
    """Take the leases of the event's due deliveries that nobody holds (or of its one
    delivery to `endpoint_id`)."""
    moment = now()
    return await claim_deliveries(event_id, endpoint_id, moment, lease=moment + lease_length(),
                                  due=moment + EARLY_TOLERANCE)


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous for 24 h."""
    live = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and \
            endpoint.previous_secret_until > now():
        live.append(endpoint.previous_secret)
    return live


def signed_request(event: Event, secrets: list[str]) -> tuple[str, dict[str, str]]:
    body = signing.payload_body(event.id, event.type, iso(event.created_at), event.data)
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               "webhook-id": event.id, "webhook-timestamp": str(timestamp),
               "webhook-signature": signing.signature_header(secrets, event.id, timestamp, body)}
    return body, headers


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
    weakref.WeakKeyDictionary()


def _posting() -> asyncio.Semaphore:
    """CONCURRENT_POSTS, per event loop (a semaphore belongs to its loop; tests run several)."""
    loop = asyncio.get_running_loop()
    if loop not in _gates:
        _gates[loop] = asyncio.Semaphore(CONCURRENT_POSTS)
    return _gates[loop]


async def post(http: httpx.AsyncClient, url: str, body: str,
               headers: dict[str, str]) -> Attempt:
    """One POST, whatever happens an Attempt: no exception leaves a delivery unrecorded."""
    attempt = Attempt(url=url)
    started = time.perf_counter()
    try:
        # Resolved again at delivery (DNS may have changed), and connected to that address.
        target = await pinned_target(url)
        async with _posting():
            response = await http.post(target.url, content=body,
                                       headers={**headers, **target.headers},
                                       extensions=target.extensions,
                                       timeout=get_settings().webhook_timeout_seconds)
        attempt.status = response.status_code
        if not attempt.succeeded:
            attempt.error = f"HTTP {response.status_code}"
    except BlockedAddress as error:
        attempt.error = str(error)
    except httpx.HTTPError as error:
        attempt.error = _describe(error)
    except Exception as error:  # a bug or a library's surprise: a failed attempt, logged
        log.exception("webhook POST to %s failed unexpectedly", url)
        attempt.error = _describe(error)
    attempt.latency_ms = round((time.perf_counter() - started) * 1000)
    return attempt


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


async def attempt_delivery(http: httpx.AsyncClient, claimed: Claimed) -> Attempt:
    """Sign and POST; a failure anywhere, expected or not, is a failed attempt to record."""
    url = claimed.endpoint.url
    try:
        body, headers = signed_request(claimed.event, signing_secrets(claimed.endpoint))
    except Exception as error:
        log.exception("webhook event=%s could not be signed", claimed.event.id)
        return Attempt(url=url, error=_describe(error))
    return await post(http, url, body, headers)


async def deliver(http: httpx.AsyncClient, event_id: str, endpoint_id: str | None = None) -> None:
    """One attempt at each due delivery of the event (or at its one delivery to
    `endpoint_id`), all at once. Safe to call any number of times."""
    claimed = await claim(event_id, endpoint_id)
    if not claimed:
        return
    # Its log lines carry the id of the request that made the event (CONTRACT §16).
    with bound_request_id(claimed[0].event.request_id):
        await asyncio.gather(*[deliver_claimed(http, one) for one in claimed])


async def deliver_claimed(http: httpx.AsyncClient, claimed: Claimed) -> None:
    """One attempt at a delivery whose lease this process holds."""
    event, endpoint = claimed.event, claimed.endpoint
    if endpoint.status != EndpointStatus.ENABLED:
        await hold(claimed.pair.id)
        return
    attempt = await attempt_delivery(http, claimed)
    next_at = await record(claimed, attempt)
    metrics.count_delivery(attempt.succeeded)
    number = claimed.pair.attempt_count + 1
    log.info("webhook event=%s type=%s endpoint=%s attempt=%d status=%s latency_ms=%s%s",
             event.id, event.type, endpoint.id, number, attempt.status or "-",
             attempt.latency_ms, f" error={attempt.error!r}" if attempt.error else "")
    if next_at is not None:
        await dispatch.enqueue(Job.DELIVER_EVENT, event.id, endpoint.id,
                               job_id=delivery_job_id(event.id, endpoint.id, number),
                               defer_until=next_at)


async def hold(pair_id: int) -> None:
    """A disabled endpoint's delivery waits, unsent and uncounted, for recoverWebhookEndpoint."""
    await EndpointDelivery.filter(id=pair_id).update(
        state=PairState.HELD.value, next_attempt_at=None, lease_until=None)


async def record(claimed: Claimed, attempt: Attempt) -> datetime | None:
    """Write the attempt, the delivery's new state and, when it changes, whether the
    endpoint is failing; returns when to try next, if ever."""
    pair, endpoint = claimed.pair, claimed.endpoint
    number = pair.attempt_count + 1
    moment = now()
    delay = None if attempt.succeeded else signing.next_retry_delay(
        get_settings().webhook_retry_schedule, number - pair.retry_base)
    next_at = moment + timedelta(seconds=delay) if delay is not None else None
    state = PairState.DELIVERED if attempt.succeeded else (
        PairState.PENDING if next_at else PairState.FAILED)
    writes: list[WebhookDelivery | Update] = [
        WebhookDelivery(event_id=claimed.event.id, endpoint_id=endpoint.id, attempt=number,
                        url=attempt.url, response_status=attempt.status, error=attempt.error,
                        succeeded=attempt.succeeded, latency_ms=attempt.latency_ms,
                        next_retry_at=next_at),
        Update(EndpointDelivery, pair.id, {"attempt_count": number, "state": state.value,
                                           "next_attempt_at": next_at, "lease_until": None})]
    failing = None if attempt.succeeded else moment
    if (endpoint.failing_since is None) != (failing is None):  # the endpoint's run changes
        writes.append(Update(WebhookEndpoint, endpoint.id, {"failing_since": failing}))
    await write_together(*writes)
    return next_at


async def overdue_event_ids(limit: int = 1000) -> list[str]:
    """Events with a delivery whose time passed a while ago with nobody on it: lost
    wake-ups. One wake-up per event delivers all its due deliveries."""
    moment = now()
    cutoff = moment - timedelta(seconds=get_settings().delivery_grace_seconds)
    rows = await EndpointDelivery.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=moment),
        state=PairState.PENDING.value, next_attempt_at__lte=cutoff,
    ).order_by("next_attempt_at").limit(limit).values_list("event_id", flat=True)
    return list(dict.fromkeys(rows))
