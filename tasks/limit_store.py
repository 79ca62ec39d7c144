"""The rate-limit store of a fleet: token buckets and in-flight logins on Redis (§12.10).

Every API process runs the same Lua scripts on the same keys, so the fleet shares each bucket.
The keys carry a namespace from the settings (the queue name), so deployments and test runs
sharing one Redis do not share buckets. If Redis fails, the request is not failed: this
process's own buckets take over (the limit then holds per process) and a warning is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.config import Settings
from core.ratelimit import LimitStore, LocalStore, Rate, Verdict, verdict

log = logging.getLogger("gateway.ratelimit")
T = TypeVar("T")

# core.ratelimit.take_token, on Redis's clock, for each bucket in turn, stopping after the
# first that refuses (the later ones are not counted). KEYS: the buckets; ARGV: rate per
# second and burst of each, in pairs. Returns {1 (allowed, counted) or 0, the tokens left (a
# string: Redis would truncate a number)} per bucket taken from; core.ratelimit.verdict does
# the rest of the arithmetic. One script, one round trip, whatever the number of limits.
TAKE_TOKENS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local result = {}
for index, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * index - 1])
  local burst = tonumber(ARGV[2 * index])
  local saved = redis.call('HMGET', key, 'tokens', 'updated')
  local tokens = tonumber(saved[1]) or burst
  local updated = tonumber(saved[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
  local allowed = 0
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  end
  redis.call('HSET', key, 'tokens', string.format('%.6f', tokens),
             'updated', string.format('%.6f', now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
  table.insert(result, allowed)
  table.insert(result, string.format('%.6f', tokens))
  if allowed == 0 then
    break
  end
end
return result
"""

# KEYS[1]: the attempts in flight (a set), KEYS[2]: those that overlapped another; ARGV[1]:
# this attempt, ARGV[2]: seconds after which a forgotten attempt (a crashed process) expires.
BEGIN_ATTEMPT = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) > 1 then
  redis.call('SUNIONSTORE', KEYS[2], KEYS[2], KEYS[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""
END_ATTEMPT = """
redis.call('SREM', KEYS[1], ARGV[1])
return redis.call('SREM', KEYS[2], ARGV[1])
"""
ATTEMPT_TTL_SECONDS = 120
WARNING_INTERVAL_SECONDS = 10.0


class RedisStore:
    def __init__(self, redis: Redis, namespace: str, fallback: LimitStore | None = None) -> None:
        self.redis = redis
        self.namespace = namespace
        self.fallback = fallback or LocalStore()
        self._take = redis.register_script(TAKE_TOKENS)
        self._begin = redis.register_script(BEGIN_ATTEMPT)
        self._end = redis.register_script(END_ATTEMPT)
        self._warned_at = -WARNING_INTERVAL_SECONDS

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def take(self, key: str, rate: Rate) -> Verdict:
        return (await self.take_in_turn([(key, rate)]))[0]

    async def take_in_turn(self, buckets: list[tuple[str, Rate]]) -> list[Verdict]:
        async def remote() -> list[Verdict]:
            answer = await self._take(keys=[self._key(key) for key, _ in buckets],
                                      args=[value for _, rate in buckets
                                            for value in (rate.per_second, rate.burst)])
            return [verdict(float(tokens), rate, allowed=bool(allowed)) for (_, rate), allowed,
                    tokens in zip(buckets, answer[0::2], answer[1::2], strict=False)]

        return await self._or_fallback(remote, lambda: self.fallback.take_in_turn(buckets))

    async def begin_attempt(self, key: str, attempt: str) -> None:
        await self._or_fallback(
            lambda: self._begin(keys=self._attempt_keys(key),
                                args=[attempt, ATTEMPT_TTL_SECONDS]),
            lambda: self.fallback.begin_attempt(key, attempt))

    async def end_attempt(self, key: str, attempt: str) -> bool:
        return bool(await self._or_fallback(
            lambda: self._end(keys=self._attempt_keys(key), args=[attempt]),
            lambda: self.fallback.end_attempt(key, attempt)))

    def _attempt_keys(self, key: str) -> list[str]:
        return [self._key(f"{key}:in-flight"), self._key(f"{key}:overlapped")]

    async def _or_fallback(self, remote: Callable[[], Awaitable[T]],
                           local: Callable[[], Awaitable[T]]) -> T:
        try:
            return await remote()
        except (RedisError, OSError) as error:
            self._warn(error)
            return await local()

    def _warn(self, error: Exception) -> None:
        """One line per interval, not one per request, while Redis is down."""
        moment = time.monotonic()
        if moment - self._warned_at >= WARNING_INTERVAL_SECONDS:
            self._warned_at = moment
            log.warning("rate limits fall back to this process's buckets: Redis failed (%s)",
                        type(error).__name__)

    async def close(self) -> None:
        await self.redis.aclose()


def limit_namespace(settings: Settings) -> str:
    return f"{settings.queue_name}:ratelimit"


def create_limit_store(settings: Settings) -> Any:
    """Redis when REDIS_URL is set (the fleet shares limits), else this process's buckets."""
    if not settings.redis_url:
        return LocalStore()
    redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return RedisStore(redis, limit_namespace(settings))
