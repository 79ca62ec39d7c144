"""Rate limits (CONTRACT §11, §12.4, §12.10): token buckets, one abstraction for every limit.

A `RateLimiter` is one named limit (a `Rate`) over a store of buckets. `LocalStore` keeps the
buckets in this process (embedded mode, one process); with REDIS_URL the store is Redis
(`tasks.limit_store`), so a fleet of N processes allows the configured rate, not N times it.
The arithmetic lives here once (`take_token`, `verdict`); the Redis script repeats the refill
and the take, and hands the tokens left to `verdict` for the rest.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import ErrorCode, RequestError
from core.security import sha256_hex

# A limit on card form posts per IP lets a shopper pay a few intents a minute from one address.
CHECKOUT_INTENTS_PER_IP = 3


@dataclass(frozen=True)
class Rate:
    """A steady rate and the burst a full bucket allows at once."""

    per_second: float
    burst: float

    @classmethod
    def per_minute(cls, count: int) -> Rate:
        """`count` at once, then one every 60/count seconds."""
        return cls(count / 60, max(1.0, float(count)))

    @classmethod
    def steady(cls, per_second: float, burst_seconds: float) -> Rate:
        return cls(per_second, max(1.0, per_second * burst_seconds))

    @property
    def refill_seconds(self) -> float:
        """How long an emptied bucket takes to fill again (how long a store keeps it)."""
        return self.burst / self.per_second


@dataclass
class Bucket:
    tokens: float
    updated: float
    full_at: float = 0.0  # when it holds `burst` again: from then on it tells nothing

    @classmethod
    def after(cls, tokens: float, moment: float, rate: Rate) -> Bucket:
        return cls(tokens, moment, moment + (rate.burst - tokens) / rate.per_second)


@dataclass(frozen=True)
class Verdict:
    """One request against one limit, as the X-RateLimit-* headers tell it (CONTRACT §16)."""

    limit: int  # requests a full bucket allows at once
    remaining: int  # whole requests left now
    reset: int  # whole seconds until the bucket is full again
    retry_after: int  # 0: the request may go ahead (it was counted); else seconds to wait

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


def verdict(tokens: float, rate: Rate, allowed: bool) -> Verdict:
    """The verdict from the tokens a bucket holds after the request (taken when allowed)."""
    wait = 0 if allowed else max(1, math.ceil((1 - tokens) / rate.per_second))
    return Verdict(limit=math.floor(rate.burst), remaining=max(0, math.floor(tokens)),
                   reset=max(0, math.ceil((rate.burst - tokens) / rate.per_second)),
                   retry_after=wait)


def tightest(*verdicts: Verdict) -> Verdict:
    """The limit a client is closest to: a refusal first, else the fewest requests left."""
    return min(verdicts, key=lambda one: (-one.retry_after, one.remaining, -one.reset))


def take_token(bucket: Bucket | None, rate: Rate, moment: float) -> tuple[Bucket, Verdict]:
    """The bucket after one request at `moment`, and its verdict (a request that may go
    ahead is counted)."""
    if bucket is None:
        bucket = Bucket(rate.burst, moment)
    tokens = min(rate.burst, bucket.tokens + max(0.0, moment - bucket.updated) * rate.per_second)
    if tokens >= 1:
        return Bucket.after(tokens - 1, moment, rate), verdict(tokens - 1, rate, allowed=True)
    return Bucket.after(tokens, moment, rate), verdict(tokens, rate, allowed=False)


class LimitStore(Protocol):
    """Where buckets live, and which login attempts for one account are in flight."""

    async def take(self, key: str, rate: Rate) -> Verdict: ...

    async def take_in_turn(self, buckets: list[tuple[str, Rate]]) -> list[Verdict]:
        """Each bucket in turn, stopping after the first that refuses (the later ones are
        not counted): a verdict per bucket taken from."""
        ...

    async def begin_attempt(self, key: str, attempt: str) -> None: ...

    async def end_attempt(self, key: str, attempt: str) -> bool: ...

    async def close(self) -> None: ...


class LocalStore:
    """This process's buckets (embedded mode, and the fallback when Redis fails)."""

    def __init__(self, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._in_flight: dict[str, set[str]] = {}
        self._overlapped: set[str] = set()

    async def take(self, key: str, rate: Rate) -> Verdict:
        moment = self.clock()
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._make_room(moment)
        self._buckets[key], result = take_token(self._buckets.get(key), rate, moment)
        return result

    async def take_in_turn(self, buckets: list[tuple[str, Rate]]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for key, rate in buckets:
            verdicts.append(await self.take(key, rate))
            if verdicts[-1].retry_after:
                break
        return verdicts

    def _make_room(self, moment: float) -> None:
        """Bounded memory without amnesty: first forget the buckets that are full again (they
        say nothing), then those that will be full soonest. A flood of made-up clients, whose
        buckets refill in moments, cannot push out a spent login bucket that refills over
        minutes."""
        self._buckets = {key: bucket for key, bucket in self._buckets.items()
                         if bucket.full_at > moment}
        if len(self._buckets) >= self.max_keys:
            keep = sorted(self._buckets.items(), key=lambda item: item[1].full_at)
            self._buckets = dict(keep[len(keep) // 2:])

    async def begin_attempt(self, key: str, attempt: str) -> None:
        running = self._in_flight.setdefault(key, set())
        running.add(attempt)
        if len(running) > 1:
            self._overlapped |= running

    async def end_attempt(self, key: str, attempt: str) -> bool:
        """Whether another attempt on the same key was in flight at any time beside this one."""
        running = self._in_flight.get(key, set())
        running.discard(attempt)
        if not running:
            self._in_flight.pop(key, None)
        overlapped = attempt in self._overlapped
        self._overlapped.discard(attempt)
        return overlapped

    async def close(self) -> None:
        return None


class RateLimiter:
    """One limit: `retry_after(client)` is 0 when the request may go ahead (and counts it),
    else the whole seconds the client should wait."""

    def __init__(self, name: str, rate: Rate, store: LimitStore) -> None:
        self.name = name
        self.rate = rate
        self.store = store

    @classmethod
    def local(cls, name: str, rate: Rate) -> RateLimiter:
        return cls(name, rate, LocalStore())

    async def take(self, client: str) -> Verdict:
        """Counts the request if it may go ahead; the verdict says so and what is left."""
        return await self.store.take(self.key(client), self.rate)

    def key(self, client: str) -> str:
        return f"{self.name}:{client}"

    async def retry_after(self, client: str) -> int:
        return (await self.take(client)).retry_after

    async def check(self, client: str) -> None:
        """RATE_LIMITED (a top-level error with `retryAfter`) past the limit."""
        wait = await self.retry_after(client)
        if wait:
            raise rate_limited(wait)


async def take_in_turn(*limits: tuple[RateLimiter, str]) -> list[Verdict]:
    """(limit, client) pairs, each counted only while every earlier one let the request
    through: a verdict per limit taken from. One round trip when the limits share a store."""
    stores = {id(limiter.store) for limiter, _ in limits}
    if len(stores) == 1:
        return await limits[0][0].store.take_in_turn(
            [(limiter.key(client), limiter.rate) for limiter, client in limits])
    verdicts: list[Verdict] = []
    for limiter, client in limits:
        verdicts.append(await limiter.take(client))
        if verdicts[-1].retry_after:
            break
    return verdicts


def rate_limited(wait: int) -> RequestError:
    return RequestError(ErrorCode.RATE_LIMITED, "Too many requests; slow down", retryAfter=wait)


@dataclass
class Limits:
    """Every limit of one app, over one store."""

    store: LimitStore
    graphql_ip: RateLimiter
    graphql_credential: RateLimiter
    auth_email: RateLimiter
    auth_ip: RateLimiter
    checkout_intent: RateLimiter
    checkout_ip: RateLimiter
    websocket_ip: RateLimiter  # WebSocket handshakes (CONTRACT §15)

    async def graphql(self, ip: str, credential: str | None) -> Verdict:
        """The tightest of the limits before a GraphQL operation runs, over HTTP or a
        WebSocket: per IP, then per credential (counted only when the IP's limit let the
        request through), in one round trip."""
        limits = [(self.graphql_ip, ip)]
        if credential:
            limits.append((self.graphql_credential, sha256_hex(credential)))
        return tightest(*await take_in_turn(*limits))

    async def checkout(self, ip: str, intent_id: str) -> Verdict:
        """The tightest of a checkout POST's limits: per IP, then per intent (counted only
        when the IP's limit let the request through), in one round trip."""
        return tightest(*await take_in_turn((self.checkout_ip, ip),
                                            (self.checkout_intent, intent_id)))

    @classmethod
    def of(cls, settings: Any, store: LimitStore) -> Limits:
        """From `core.config.Settings`."""
        burst = settings.rate_limit_burst_seconds
        checkout = settings.checkout_posts_per_minute
        return cls(
            store=store,
            graphql_ip=RateLimiter(
                "ip", Rate.steady(settings.rate_limit_ip_per_second, burst), store),
            graphql_credential=RateLimiter(
                "key", Rate.steady(settings.rate_limit_key_per_second, burst), store),
            auth_email=RateLimiter(
                "auth-email", Rate.per_minute(settings.auth_email_per_minute), store),
            auth_ip=RateLimiter("auth-ip", Rate.per_minute(settings.auth_ip_per_minute), store),
            checkout_intent=RateLimiter("checkout-intent", Rate.per_minute(checkout), store),
            checkout_ip=RateLimiter(
                "checkout-ip", Rate.per_minute(checkout * CHECKOUT_INTENTS_PER_IP), store),
            websocket_ip=RateLimiter(
                "ws-ip", Rate.per_minute(settings.websocket_handshakes_per_minute), store))
