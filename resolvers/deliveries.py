"""Webhook delivery: claim an event, POST it signed, record the attempt, plan the next.

At least once: an event is PENDING until a 2xx is recorded. A lease (an UPDATE … WHERE the
lease is free) lets one process at a time deliver it; a process that dies mid-delivery leaves
a lease that simply runs out, and the sweep sends the event again with the same webhook-id.
"""

from __future__ import annotations

import logging
import time
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
from models.events import DeliveryState, Event, WebhookDelivery
from models.merchants import Merchant
from models.sql import Update, claim_delivery, write_together
from resolvers import dispatch
from resolvers.events import iso
from resolvers.merchants import signing_secrets
from resolvers.network import BlockedAddress, pinned_target

log = logging.getLogger("gateway.webhooks")

EARLY_TOLERANCE = timedelta(seconds=1)  # a deferred job may wake a moment early
USER_AGENT = "Gateway-Webhooks/1.0"


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


async def claim(event_id: str) -> tuple[Event, Merchant] | None:
    """Take the event's lease if it is due and nobody holds it: the event and its merchant's
    webhook settings, or None."""
    moment = now()
    return await claim_delivery(event_id, moment, lease=moment + lease_length(),
                                due=moment + EARLY_TOLERANCE)


def signed_request(event: Event, secrets: list[str]) -> tuple[str, dict[str, str]]:
    body = signing.payload_body(event.id, event.type, iso(event.created_at), event.data)
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               "webhook-id": event.id, "webhook-timestamp": str(timestamp),
               "webhook-signature": signing.signature_header(secrets, event.id, timestamp, body)}
    return body, headers


async def post(http: httpx.AsyncClient, url: str, body: str,
               headers: dict[str, str]) -> Attempt:
    """One POST, whatever happens an Attempt: no exception leaves an event unrecorded."""
    attempt = Attempt(url=url)
    started = time.perf_counter()
    try:
        # Resolved again at delivery (DNS may have changed), and connected to that address.
        target = await pinned_target(url)
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


async def attempt_delivery(http: httpx.AsyncClient, event: Event, merchant: Merchant) -> Attempt:
    """Sign and POST; a failure anywhere, expected or not, is a failed attempt to record."""
    try:
        body, headers = signed_request(event, signing_secrets(merchant))
    except Exception as error:
        log.exception("webhook event=%s could not be signed", event.id)
        return Attempt(url=merchant.webhook_url, error=_describe(error))
    return await post(http, merchant.webhook_url, body, headers)


async def deliver(http: httpx.AsyncClient, event_id: str) -> None:
    """One attempt at one event, if it is due and free. Safe to call any number of times."""
    claimed = await claim(event_id)
    if claimed is None:
        return
    event, merchant = claimed
    # Its log lines carry the id of the request that made the event (CONTRACT §16).
    with bound_request_id(event.request_id):
        await deliver_claimed(http, event, merchant)


async def deliver_claimed(http: httpx.AsyncClient, event: Event, merchant: Merchant) -> None:
    """One attempt at an event whose lease this process holds."""
    if not merchant.webhook_url:
        await Event.filter(id=event.id).update(delivery_state=DeliveryState.NONE,
                                               lease_until=None, next_attempt_at=None)
        return
    attempt = await attempt_delivery(http, event, merchant)
    next_at = await record(event, attempt)
    metrics.count_delivery(attempt.succeeded)
    log.info("webhook event=%s type=%s attempt=%d status=%s latency_ms=%s%s", event.id,
             event.type, event.attempt_count + 1, attempt.status or "-", attempt.latency_ms,
             f" error={attempt.error!r}" if attempt.error else "")
    if next_at is not None:
        await dispatch.enqueue(Job.DELIVER_EVENT, event.id,
                               job_id=delivery_job_id(event.id, event.attempt_count + 1),
                               defer_until=next_at)


async def record(event: Event, attempt: Attempt) -> datetime | None:
    """Write the attempt and the event's new state; returns when to try next, if ever."""
    number = event.attempt_count + 1
    delay = None if attempt.succeeded else signing.next_retry_delay(
        get_settings().webhook_retry_schedule, number - event.retry_base)
    next_at = now() + timedelta(seconds=delay) if delay is not None else None
    state = DeliveryState.DELIVERED if attempt.succeeded else (
        DeliveryState.PENDING if next_at else DeliveryState.FAILED)
    await write_together(
        WebhookDelivery(event_id=event.id, attempt=number, url=attempt.url,
                        response_status=attempt.status, error=attempt.error,
                        succeeded=attempt.succeeded, latency_ms=attempt.latency_ms,
                        next_retry_at=next_at),
        Update(Event, event.id, {"attempt_count": number, "delivery_state": state,
                                 "next_attempt_at": next_at, "lease_until": None}))
    return next_at


async def overdue_event_ids(limit: int = 1000) -> list[str]:
    """Pending deliveries whose time passed a while ago with nobody on them: lost wake-ups."""
    moment = now()
    cutoff = moment - timedelta(seconds=get_settings().delivery_grace_seconds)
    return await Event.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=moment),
        delivery_state=DeliveryState.PENDING, next_attempt_at__lte=cutoff,
    ).order_by("next_attempt_at").limit(limit).values_list("id", flat=True)
