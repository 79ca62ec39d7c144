"""Live updates (CONTRACT §15): one hub per API process hands committed events to subscribers.

The database is the source of truth. After commit, `announce()` (called by
`dispatch.deliver_events`) wakes the hubs: this process's at once, and every API process's
through Redis pub/sub when REDIS_URL is set. A woken hub never trusts the message: it reads
from the database what is new, in one scan for all of its subscribers, and hands each its
rows. It also reads every second on its own, so a lost wake-up costs latency, not an event.

No gap, no duplicate: events are ordered by (created_at, id), but a transaction commits a
little after it stamped `created_at`, so "newer than the last one seen" could skip an event
that committed late. Each scan therefore re-reads a window of recent events (on a wake-up, a
window behind the newest event seen; LOOKBACK on the periodic read) and the hub remembers the
ids it has handed out within LOOKBACK: an event whose commit lags its `created_at` by less
than LOOKBACK is never missed, and never handed out twice.

Speed: a scan reads only the ids in its window (ids already seen are most of them), then the
new events whole, in a second query. The wake-up window adapts: when the periodic read finds
an event that the wake-ups missed because its commit lagged further behind than the window
(a loaded machine, a slow transaction), the window widens to cover twice that lag, so the
next such event comes with its wake-up rather than up to a second later; it narrows back
slowly once the lags shrink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.expressions import Q

from core import cursors, endpoints, limits
from core.clock import now
from core.config import get_settings
from core.errors import ErrorCode, RequestError, invalid
from models.events import Event
from models.payment_intents import IntentStatus, PaymentIntent
from resolvers.access import Caller
from resolvers.money import balance
from resolvers.paging import list_merchant_id
from resolvers.payment_intents.reads import checkout_session, visible_intent

log = logging.getLogger("gateway.live")

LOOKBACK = timedelta(seconds=10)  # the longest commit lag (and fleet clock skew) tolerated
WAKE_WINDOW = timedelta(seconds=0.25)  # re-read on each wake-up, behind the newest event seen
NARROWING = 0.9  # each periodic read that finds no lagging event narrows the window so much
# The widest a wake-up's window grows: each wake-up re-reads the ids of its window, so under
# lagging commits at a high rate a wider one would cost more than the lag it saves; an event
# lagging more waits for the periodic read.
MAX_WAKE_WINDOW = timedelta(seconds=2)
REPLAY_PAGE = 200
READ_PAGE = 500  # ids per query when reading new events whole (drivers cap the parameters)


BEHIND = object()  # the last item a subscriber gets when it has fallen too far behind


@dataclass(eq=False)
class Subscriber:
    """One subscription's mailbox. `intent_id` set: it follows one intent, and gets that
    intent (re-read) on each change, only the newest state kept. Otherwise it gets the events
    of its merchant (of `types`, when given), at most `limit` waiting: a subscriber further
    behind than that gets BEHIND instead and leaves the hub (never unbounded memory).
    Light on purpose (a deque made on first use, one future while waiting): an API process
    holds thousands of them."""

    merchant_id: str
    intent_id: str | None = None
    types: frozenset[str] | None = None
    limit: int = field(default_factory=lambda: limits.LIVE_EVENTS_QUEUED)
    behind: bool = False
    items: deque | None = None
    waiter: asyncio.Future | None = None

    def offer(self, item: Any) -> None:
        if self.behind:
            return
        if self.items is None:
            self.items = deque()
        if self.intent_id is not None:
            self.items.clear()  # only the newest state of the intent matters
        elif len(self.items) >= self.limit:
            self.behind, item = True, BEHIND
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> Any:
        """The next item, waiting for one."""
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.popleft()


class Hub:
    """The process's subscribers, and the reading loop that feeds them."""

    def __init__(self, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds  # the periodic read, whatever the wake-ups
        # events' subscribers by (merchant, type), type None for those taking every type
        self.by_kind: dict[tuple[str, str | None], set[Subscriber]] = defaultdict(set)
        self.by_intent: dict[str, set[Subscriber]] = defaultdict(set)  # intents followed
        self.seen: dict[str, datetime] = {}  # event ids handed out (or skipped), for LOOKBACK
        self.newest: datetime | None = None
        self.window = WAKE_WINDOW  # how far behind `newest` a wake-up re-reads (it adapts)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._primed: asyncio.Future | None = None

    @property
    def subscriber_count(self) -> int:
        return len({subscriber for index in (self.by_kind, self.by_intent)
                    for group in index.values() for subscriber in group})

    def _groups(self, subscriber: Subscriber) -> list[tuple[dict[Any, set[Subscriber]], Any]]:
        if subscriber.intent_id is not None:
            return [(self.by_intent, subscriber.intent_id)]
        return [(self.by_kind, (subscriber.merchant_id, kind))  # no types: no group at all
                for kind in (subscriber.types if subscriber.types is not None else (None,))]

    def receivers(self, merchant_id: str, event_type: str) -> list[Subscriber]:
        """The events' subscribers who want this event."""
        return [*self.by_kind.get((merchant_id, None), ()),
                *self.by_kind.get((merchant_id, event_type), ())]

    async def join(self, subscriber: Subscriber) -> None:
        """From this moment on, every event of the subscriber's merchant committed reaches it
        (the first subscriber waits for the hub to learn what is already there)."""
        if self._primed is None:
            self._primed = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._run())
        await asyncio.shield(self._primed)
        for index, key in self._groups(subscriber):
            index[key].add(subscriber)

    def leave(self, subscriber: Subscriber) -> None:
        for index, key in self._groups(subscriber):
            group = index.get(key)
            if group is not None:
                group.discard(subscriber)
                if not group:
                    del index[key]

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            await self._prime()
        except Exception as error:  # noqa: BLE001 - the subscriber sees it, we retry later
            self._primed.set_exception(error)
            self._primed, self._task = None, None
            return
        self._primed.set_result(None)
        loop = asyncio.get_running_loop()
        last_full = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            full = loop.time() - last_full >= self.poll_seconds
            last_full = loop.time() if full else last_full
            try:
                await self.read(full)
            except Exception:  # noqa: BLE001 - the next read finds what this one missed
                log.warning("live read failed; retrying", exc_info=True)
                await asyncio.sleep(self.poll_seconds)

    async def read(self, full: bool) -> None:
        """A wake-up reads `window` behind the newest event seen; the periodic (`full`) read
        re-reads all of LOOKBACK, for the events whose commit lagged more."""
        horizon = now() - LOOKBACK
        if full:
            for event_id, created in list(self.seen.items()):
                if created < horizon:
                    del self.seen[event_id]
        since = horizon
        if not full and self.newest is not None:
            since = max(horizon, self.newest - self.window)
        lagging = await self._scan(since)
        if full:
            self._adapt(lagging)

    def _adapt(self, lag: timedelta | None) -> None:
        """Widen the wake-up window to twice the lag of an event only the periodic read
        found; narrow it back a little after each periodic read that found none."""
        if lag is not None:
            self.window = min(MAX_WAKE_WINDOW, max(self.window, lag * 2))
        else:
            self.window = max(WAKE_WINDOW, self.window * NARROWING)

    async def _prime(self) -> None:
        """Learn which events are already there (LOOKBACK of them): they are nobody's news."""
        for event_id, created in await Event.filter(created_at__gte=now() - LOOKBACK
                                                    ).values_list("id", "created_at"):
            self.seen[event_id] = created
            if self.newest is None or created > self.newest:
                self.newest = created

    async def _scan(self, since: datetime) -> timedelta | None:
        """One narrow read of the ids since `since`; the new events are then read whole and
        given to the subscribers here who want them. Returns the lag of the most lagging new
        event that a wake-up could not have found (created more than `window` before the
        newest event seen before this scan), or None."""
        ids = await Event.filter(created_at__gte=since).values_list("id", flat=True)
        new = [event_id for event_id in ids if event_id not in self.seen]
        if not new:
            return None
        events = sorted([event for start in range(0, len(new), READ_PAGE)
                         for event in await Event.filter(id__in=new[start:start + READ_PAGE])],
                        key=lambda event: (event.created_at, event.id))
        reachable = self.newest - self.window if self.newest is not None else None
        lag = None
        wanted = []
        for event in events:
            self.seen[event.id] = event.created_at
            if reachable is not None and event.created_at < reachable:
                lag = max(lag or timedelta(0), self.newest - event.created_at)
            if event.object_id in self.by_intent or \
                    self.receivers(event.merchant_id, event.type):
                wanted.append(event)
        newest = events[-1].created_at if events else None  # they are in created_at order
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest
        if wanted:
            await self._hand_out(wanted)
        return lag

    async def _hand_out(self, events: list[Event]) -> None:
        followed = {event.object_id for event in events if event.object_id in self.by_intent}
        intents = {intent.id: intent for intent in await PaymentIntent.filter(
            id__in=followed).select_related("merchant")} if followed else {}
        for event in events:
            for subscriber in self.receivers(event.merchant_id, event.type):
                self._offer(subscriber, event)
            if event.object_id in intents:
                for subscriber in list(self.by_intent.get(event.object_id, ())):
                    self._offer(subscriber, intents[event.object_id])

    def _offer(self, subscriber: Subscriber, item: Any) -> None:
        subscriber.offer(item)
        if subscriber.behind:
            self.leave(subscriber)


# --- the process's hub, and the wake-ups ---------------------------------------------------------
_hub: Hub | None = None
_redis: Any = None  # a client to publish wake-ups on, in a fleet
_channel: str | None = None
_publishing: asyncio.Task | None = None
_again = False


PROCESS_TOKEN = secrets.token_hex(8).encode()  # what this process publishes: not a wake-up


def channel_name(namespace: str) -> str:
    """The pub/sub channel of one deployment (the Redis keys' namespace: the queue name)."""
    return f"{namespace}:live"


_listener: asyncio.Task | None = None


async def start(redis_url: str | None, namespace: str, poll_seconds: float = 1.0) -> Hub:
    """The API process's hub; in a fleet, woken by every process through Redis pub/sub."""
    global _hub, _redis, _channel, _listener
    _hub = Hub(poll_seconds)
    if redis_url:
        from redis.asyncio import Redis

        _redis, _channel = Redis.from_url(redis_url), channel_name(namespace)
        _listener = asyncio.create_task(listen(_redis, _channel, _hub))
    return _hub


async def stop() -> None:
    global _hub, _redis, _listener
    tasks = [task for task in (_listener, _publishing) if task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if _hub is not None:
        await _hub.close()
    if _redis is not None:
        await _redis.aclose()
    _hub, _redis, _listener = None, None, None


def _publisher() -> Any:
    """Where wake-ups go in a fleet: the API's Redis, or, in a worker (no hub), a client made
    on first use from the settings."""
    global _redis, _channel
    if _redis is None and _hub is None:
        settings = get_settings()
        if settings.redis_url:
            from redis.asyncio import Redis

            _redis, _channel = Redis.from_url(settings.redis_url), \
                channel_name(settings.queue_name)
    return _redis


def hub() -> Hub:
    if _hub is None:
        raise RuntimeError("no live hub in this process")
    return _hub


def announce() -> None:
    """Something was committed: wake this process's hub now and the fleet's through Redis.
    Never holds up the caller; a lost wake-up is found by the hubs' periodic read."""
    global _publishing, _again
    if _hub is not None:
        _hub.wake()
    if _publisher() is None:
        return
    if _publishing is not None and not _publishing.done():
        _again = True  # the publisher under way sends one more: wake-ups coalesce
        return
    _publishing = asyncio.create_task(_publish())


async def _publish() -> None:
    global _again
    _again = True
    while _again:
        _again = False
        try:
            await _redis.publish(_channel, PROCESS_TOKEN)
        except Exception:  # noqa: BLE001 - the hubs read every second anyway
            log.warning("could not publish a live wake-up", exc_info=True)
            return


class Wakeable(Protocol):
    def wake(self) -> None: ...


async def listen(redis: Any, channel: str, target: Wakeable) -> None:
    """Wake `target` (a hub, or a worker's delivery pump) on each message of the fleet's
    channel, reconnecting after a failure."""
    while True:
        try:
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(channel)
            try:
                async for message in pubsub.listen():
                    if message.get("data") != PROCESS_TOKEN:  # ours: woken already
                        target.wake()
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - meanwhile the hub reads every second
            log.warning("live wake-ups from Redis interrupted; reconnecting", exc_info=True)
            await asyncio.sleep(1.0)


# --- what the subscriptions read ----------------------------------------------------------------
async def replay(merchant_id: str, after: str, types: set[str] | None
                 ) -> AsyncIterator[Event]:
    """Every event of the merchant after the cursor, oldest first, page by page."""
    created, last_id = cursors.decode(after)
    while True:
        query = Event.filter(merchant_id=merchant_id).filter(
            Q(created_at__gt=created) | Q(created_at=created, id__gt=last_id))
        if types is not None:
            query = query.filter(type__in=types)
        page = await query.order_by("created_at", "id").limit(REPLAY_PAGE)
        for event in page:
            yield event
        if len(page) < REPLAY_PAGE:
            return
        created, last_id = page[-1].created_at, page[-1].id


# --- the three subscriptions (CONTRACT §15), as streams of models ------------------------------
MAX_TYPES = 50  # `types` of the events subscription

# How a subscription asks to be authorized again while it runs: `watch(key, check)`, where
# `check(caller)` raises a UserError or RequestError once the caller may no longer see it
# (subscriptions with the same key share one check). schema.subscriptions runs the checks.
Check = Callable[[Caller], Awaitable[Any]]
Watch = Callable[[tuple[str, ...], Check], None]


def _unwatched(key: tuple[str, ...], check: Check) -> None:
    return None


async def follow_events(caller: Caller, merchant_id: str | None, types: list[str] | None,
                        after: str | None, watch: Watch = _unwatched) -> AsyncIterator[Event]:
    """The merchant's events after the cursor (none: from now), oldest first, then each new
    one as it commits: no gap and no duplicate between the two."""
    merchant_id = await list_merchant_id(caller, merchant_id, "events:read")
    watch(("events", merchant_id),
          lambda again: list_merchant_id(again, merchant_id, "events:read"))
    wanted = await balance.readable_event_types(caller, merchant_id, _event_types(types))
    start = cursors.decode(after) if after is not None else None  # refused before anything
    subscriber = Subscriber(merchant_id,
                            types=frozenset(wanted) if wanted is not None else None)
    await hub().join(subscriber)  # first: whatever commits from now on is queued for us
    try:
        replayed: set[str] = set()
        if after is not None:
            async for event in replay(merchant_id, after, wanted):
                replayed.add(event.id)
                after = cursors.encode(event.created_at, event.id)
                yield event
        forget_replayed_at = now() + LOOKBACK + LOOKBACK
        while True:
            event = await subscriber.get()
            if event is BEHIND:
                raise fell_behind(subscriber.limit, after)
            if replayed and now() > forget_replayed_at:
                replayed.clear()  # the hub hands out no event older than LOOKBACK
            if event.id in replayed or (start is not None and
                                        (event.created_at, event.id) <= start):
                continue
            after = cursors.encode(event.created_at, event.id)
            yield event
    finally:
        hub().leave(subscriber)


def fell_behind(limit: int, cursor: str | None) -> RequestError:
    return RequestError(ErrorCode.RATE_LIMITED,
                        f"This subscription fell more than {limit} events behind and was "
                        "ended; subscribe again with `after` set to extensions.cursor",
                        cursor=cursor, retryAfter=1)


def _event_types(types: list[str] | None) -> set[str] | None:
    if not types:
        return None
    if len(types) > MAX_TYPES:
        raise invalid("types", f"At most {MAX_TYPES} event types")
    return endpoints.known_event_types(types, "types")


async def follow_intent(caller: Caller, intent_id: str, watch: Watch = _unwatched
                        ) -> AsyncIterator[PaymentIntent]:
    """The intent now, then after each change (and when `expiresAt` passes)."""
    intent = await visible_intent(caller, intent_id)
    watch(("intent", intent.id), lambda again: visible_intent(again, intent.id))
    async for state in _follow(intent):
        yield state


async def follow_checkout(intent_id: str, client_secret: str) -> AsyncIterator[PaymentIntent]:
    """The shopper's intent now, then after each change (and when `expiresAt` passes)."""
    intent = await checkout_session(intent_id, client_secret)
    async for state in _follow(intent):
        yield state


async def _follow(intent: PaymentIntent) -> AsyncIterator[PaymentIntent]:
    subscriber = Subscriber(intent.merchant_id, intent.id)
    await hub().join(subscriber)  # before reading the state: no change falls in between
    try:
        current = await _read_intent(intent.id)
        shown = _state(current)
        yield current
        while True:
            try:
                current = await asyncio.wait_for(subscriber.get(), _until_expiry(current))
            except TimeoutError:  # `expiresAt` passed: it now reads EXPIRED
                # Read again rather than yield the same object in a new state: an object once
                # yielded keeps its state, so identical subscriptions may share its result
                # (schema.subscriptions.SharedEventExecutor).
                current = await _read_intent(intent.id)
            if _state(current) != shown:
                shown = _state(current)
                yield current
    finally:
        hub().leave(subscriber)


async def _read_intent(intent_id: str) -> PaymentIntent:
    return await PaymentIntent.get(id=intent_id).select_related("merchant")


def _state(intent: PaymentIntent) -> tuple[int, str]:
    return intent.version, intent.effective_status(now()).value


def _until_expiry(intent: PaymentIntent) -> float | None:
    """Seconds until an unpaid intent expires by time (None: nothing to wait for)."""
    if intent.effective_status(now()) is not IntentStatus.AWAITING_PAYMENT_METHOD:
        return None
    return max(0.0, (intent.expires_at - now()).total_seconds()) + 0.05
