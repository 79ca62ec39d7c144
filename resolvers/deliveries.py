"""Webhook delivery: claim due deliveries (one event's, or a batch across events for the
pump, tasks/pump.py), POST them signed and at once, record the attempts together, plan each
one's next.

At least once: a delivery (an event for one endpoint, models.webhooks.EndpointDelivery) is
PENDING until a 2xx is recorded. A lease (an UPDATE … WHERE the lease is free) lets one
process at a time deliver it; a process that dies mid-delivery leaves a lease that simply runs
out, and the pump sends it again with the same webhook-id. A result is recorded only while
its lease is still the pair's, so a late one never overwrites a newer holder's. A failed
attempt sets when the next is due; the pump claims it then. A disabled endpoint's deliveries
are held, not sent (CONTRACT §14).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.expressions import Q

from core import metrics
from core import webhooks as signing
from core.clock import now
from core.config import get_settings
from core.requests import bound_request_id
from core.webhooks import TransportError
from models import delivery_sql
from models.delivery_sql import PairResult
from models.events import Event, WebhookDelivery
from models.sql import Claimed, claim_deliveries
from models.webhooks import EndpointDelivery, EndpointStatus, PairState, WebhookEndpoint
from resolvers.events import iso
from resolvers.network import RESOLVE_SECONDS, BlockedAddress, pinned_target

log = logging.getLogger("gateway.webhooks")

EARLY_TOLERANCE = timedelta(seconds=1)  # a deferred job may wake a moment early
USER_AGENT = "Gateway-Webhooks/1.0"
# POSTs in flight at once in one process, each on a connection of its own
# (tasks/webhook_http.py). A POST waits for its turn outside its timeout, so a wait is never
# counted as the merchant's failure; the pump claims no more than this many at once.
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


class Poster(Protocol):
    """The webhook HTTP client (tasks/webhook_http.py): an answer's status, or TransportError
    when there was no answer."""

    async def post(self, url: str, *, content: str, headers: dict[str, str],
                   extensions: dict[str, str] | None = None, timeout: float = 30.0) -> Any: ...


def lease_length() -> timedelta:
    """Long enough for the name lookup (network.RESOLVE_SECONDS) and the POST's whole timeout,
    with a margin: a delivery is never claimed again while its first attempt can still run."""
    return timedelta(seconds=RESOLVE_SECONDS + get_settings().webhook_timeout_seconds + 5)


async def claim(event_id: str, endpoint_id: str | None = None) -> list[Claimed]:
    """Take the leases of the event's due deliveries that nobody holds (or of its one
    delivery to `endpoint_id`)."""
    moment = now()
    lease = moment + lease_length()
    claimed = await claim_deliveries(event_id, endpoint_id, moment, lease=lease,
                                     due=moment + EARLY_TOLERANCE)
    for one in claimed:
        one.pair.lease_until = lease  # the token its result is recorded under
    return claimed


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


async def post(http: Poster, url: str, body: str,
               headers: dict[str, str]) -> Attempt:
    """One POST, whatever happens an Attempt: no exception leaves a delivery unrecorded."""
    attempt = Attempt(url=url)
    started = time.perf_counter()
    try:
        # Resolved again at delivery (DNS may have changed), and connected to that address.
        target = await pinned_target(url)
        async with _posting():
            started = time.perf_counter()  # the merchant's latency: not our wait for a turn
            response = await http.post(target.url, content=body,
                                       headers={**headers, **target.headers},
                                       extensions=target.extensions,
                                       timeout=get_settings().webhook_timeout_seconds)
        attempt.status = response.status_code
        if not attempt.succeeded:
            attempt.error = f"HTTP {response.status_code}"
    except BlockedAddress as error:
        attempt.error = str(error)[:500]
    except TransportError as error:
        attempt.error = str(error)[:500]
    except Exception as error:  # a bug or a library's surprise: a failed attempt, logged
        log.exception("webhook POST to %s failed unexpectedly", url)
        attempt.error = _describe(error)
    attempt.latency_ms = round((time.perf_counter() - started) * 1000)
    return attempt


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


async def attempt_delivery(http: Poster, claimed: Claimed) -> Attempt:
    """Sign and POST; a failure anywhere, expected or not, is a failed attempt to record."""
    url = claimed.endpoint.url
    try:
        body, headers = signed_request(claimed.event, signing_secrets(claimed.endpoint))
    except Exception as error:
        log.exception("webhook event=%s could not be signed", claimed.event.id)
        return Attempt(url=url, error=_describe(error))
    return await post(http, url, body, headers)


async def deliver(http: Poster, event_id: str, endpoint_id: str | None = None) -> None:
    """One attempt at each due delivery of the event (or at its one delivery to
    `endpoint_id`), all at once, recorded together. Safe to call any number of times."""
    claimed = await claim(event_id, endpoint_id)
    if claimed:
        await record(list(await asyncio.gather(*[try_delivery(http, one) for one in claimed])))


async def claim_due(limit: int) -> list[Claimed]:
    """Take the leases of up to `limit` due deliveries of any events (the pump's batch)."""
    moment = now()
    return await delivery_sql.claim_due(limit, moment, lease=moment + lease_length(),
                                        due=moment + EARLY_TOLERANCE)


@dataclass
class Outcome:
    """What became of a claimed delivery: an attempt, or None when it was held."""

    claimed: Claimed
    attempt: Attempt | None


async def try_delivery(http: Poster, claimed: Claimed) -> Outcome:
    """One attempt at a delivery whose lease this process holds; a disabled endpoint's
    delivery is held instead (unsent, uncounted) for recoverWebhookEndpoint."""
    if claimed.endpoint.status != EndpointStatus.ENABLED:
        return Outcome(claimed, None)
    # Its log lines carry the id of the request that made the event (CONTRACT §16).
    with bound_request_id(claimed.event.request_id):
        return Outcome(claimed, await attempt_delivery(http, claimed))


async def record(outcomes: list[Outcome]) -> None:
    """Write the attempts and each delivery's new state (if its lease is still ours) in one
    statement; then, where an endpoint's run of failures starts or ends, that (rarely: a
    statement per endpoint); then count and log each attempt."""
    moment = now()
    rows: list[WebhookDelivery] = []
    results: list[PairResult] = []
    failing: dict[str, datetime | None] = {}  # the endpoint's latest attempt of the batch
    known: dict[str, datetime | None] = {}  # its failing_since as the claim read it
    for outcome in outcomes:
        row, result = _planned(outcome, moment)
        results.append(result)
        if row is not None:
            rows.append(row)
            failing[row.endpoint_id] = None if row.succeeded else moment
            known[row.endpoint_id] = outcome.claimed.endpoint.failing_since
    await delivery_sql.record_results(rows, results)
    for endpoint_id, since in failing.items():
        if (known[endpoint_id] is None) != (since is None):
            await delivery_sql.set_failing(endpoint_id, since)
    for outcome in outcomes:
        if outcome.attempt is not None:
            metrics.count_delivery(outcome.attempt.succeeded)
            _log_attempt(outcome)


def _planned(outcome: Outcome, moment: datetime) -> tuple[WebhookDelivery | None, PairResult]:
    """The attempt's row (none for a hold) and the delivery's next state: delivered, due
    again after the schedule's delay, or failed when the round of retries is used up."""
    pair, attempt = outcome.claimed.pair, outcome.attempt
    if attempt is None:
        return None, PairResult(pair.id, pair.lease_until, PairState.HELD.value,
                                pair.attempt_count, None)
    number = pair.attempt_count + 1
    delay = None if attempt.succeeded else signing.next_retry_delay(
        get_settings().webhook_retry_schedule, number - pair.retry_base)
    next_at = moment + timedelta(seconds=delay) if delay is not None else None
    state = PairState.DELIVERED if attempt.succeeded else (
        PairState.PENDING if next_at else PairState.FAILED)
    row = WebhookDelivery(event_id=outcome.claimed.event.id,
                          endpoint_id=outcome.claimed.endpoint.id, attempt=number,
                          url=attempt.url, response_status=attempt.status, error=attempt.error,
                          succeeded=attempt.succeeded, latency_ms=attempt.latency_ms,
                          next_retry_at=next_at)
    return row, PairResult(pair.id, pair.lease_until, state.value, number, next_at)


def _log_attempt(outcome: Outcome) -> None:
    event, attempt = outcome.claimed.event, outcome.attempt
    if not log.isEnabledFor(logging.INFO):  # the usual case under load: no work at all
        return
    with bound_request_id(event.request_id):
        log.info("webhook event=%s type=%s endpoint=%s attempt=%d status=%s latency_ms=%s%s",
                 event.id, event.type, outcome.claimed.endpoint.id,
                 outcome.claimed.pair.attempt_count + 1, attempt.status or "-",
                 attempt.latency_ms, f" error={attempt.error!r}" if attempt.error else "")


class Recorder:
    """Records the outcomes of concurrent deliveries in batches: one write in flight at a
    time, and whatever finishes meanwhile (or within GATHER_SECONDS) goes in the next one.
    `add` returns once its outcome is written (or the write failed: the lease then lapses
    and the delivery is sent again, with the same webhook-id)."""

    GATHER_SECONDS = 0.005

    def __init__(self) -> None:
        self._batch: list[Outcome] = []
        self._written: asyncio.Future | None = None
        self._writer: asyncio.Task | None = None

    async def add(self, outcome: Outcome) -> None:
        if self._written is None:
            self._written = asyncio.get_running_loop().create_future()
        written = self._written
        self._batch.append(outcome)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await asyncio.shield(written)

    async def _write(self) -> None:
        while self._batch:
            await asyncio.sleep(self.GATHER_SECONDS)
            batch, written = self._batch, self._written
            self._batch, self._written = [], None
            try:
                await record(batch)
            except Exception:  # noqa: BLE001 - one at a time: a bad one spoils only itself
                log.warning("could not record %d webhook attempts together; one by one",
                            len(batch), exc_info=True)
                await _record_each(batch)
            written.set_result(None)

    async def close(self) -> None:
        """Wait for what is being written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)


async def _record_each(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        try:
            await record([outcome])
        except Exception:  # noqa: BLE001 - unrecorded: its lease lapses, it is sent again
            log.exception("could not record webhook event=%s endpoint=%s",
                          outcome.claimed.event.id, outcome.claimed.endpoint.id)


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
