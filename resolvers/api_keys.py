"""API keys: shown once, stored as SHA-256, revoked at once."""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from core import limits, security, validation
from core.cache import TTLCache
from core.clock import now
from core.errors import unauthenticated
from models.api_keys import ApiKey
from resolvers import caps
from resolvers.access import Caller, authorize, member_may, visible

LAST_USED_PRECISION = timedelta(minutes=1)  # `lastUsedAt` is written at most once a minute
# Keys by hash, for one second: the hot path skips a query, and a revoked key stops working
# within a second in every process (at once in the process that revoked it).
_recent: TTLCache[str, ApiKey] = TTLCache(ttl_seconds=1.0)


async def create(caller: Caller, merchant_id: str, name: str) -> tuple[ApiKey, str]:
    await authorize(caller, merchant_id, "api_keys:create")
    name = validation.text(name, "name", max_length=100)
    secret = security.new_api_key()
    async with in_transaction():
        await caps.lock(merchant_id=merchant_id)
        await caps.check_room_for_api_key(merchant_id)
        key = await ApiKey.create(merchant_id=merchant_id, name=name,
                                  prefix=security.api_key_prefix(secret),
                                  key_hash=security.sha256_hex(secret), created_by=caller.user)
    return key, secret


async def revoke(caller: Caller, key_id: str) -> ApiKey:
    await visible(caller, ApiKey, key_id, "api_keys:revoke", "API key")
    await ApiKey.filter(id=key_id, revoked_at=None).update(revoked_at=now())
    _recent.clear()
    return await ApiKey.get(id=key_id)


async def keys_seen_by(caller: Caller, merchant_id: str) -> list[ApiKey]:
    """The merchant's keys (never their secrets), for OWNER and ADMIN (else none)."""
    if not await member_may(caller, merchant_id, "api_keys:read"):
        return []
    return await ApiKey.filter(merchant_id=merchant_id).order_by("-created_at").limit(
        limits.ACTIVE_API_KEYS_PER_MERCHANT)  # the newest, revoked ones included


async def _live_key(key_hash: str) -> ApiKey | None:
    return await ApiKey.get_or_none(key_hash=key_hash, revoked_at=None)


async def authenticate(secret: str) -> ApiKey:
    """The live key behind a presented secret; UNAUTHENTICATED otherwise."""
    key_hash = security.sha256_hex(secret)
    key = await _recent.get_or_load(key_hash, lambda: _live_key(key_hash))
    if key is None:
        raise unauthenticated("API key is invalid or revoked")
    moment = now()
    if key.last_used_at is None or moment - key.last_used_at > LAST_USED_PRECISION:
        await ApiKey.filter(id=key.id).update(last_used_at=moment)
        key.last_used_at = moment
    return key
