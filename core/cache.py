"""A small in-process cache whose entries live a bounded time (the staleness we accept)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else `load()`'s, cached unless None. Concurrent misses of one key
        share one load: when an entry lapses under load, one query refreshes it, not one per
        request in flight."""
        value = self.get(key)
        if value is not None:
            return value
        loading = self._loading.get(key)
        if loading is not None and loading.get_loop() is asyncio.get_running_loop():
            return await self._share(loading, load)
        loading = asyncio.get_running_loop().create_future()
        self._loading[key] = loading
        try:
            value = await load()
        except asyncio.CancelledError:
            loading.cancel()  # the waiters load for themselves (_share)
            raise
        except Exception as error:
            loading.set_exception(error)
            loading.exception()  # marked as retrieved: there may be no waiter
            raise
        else:
            loading.set_result(value)
            if value is not None:
                self.put(key, value)
            return value
        finally:
            if self._loading.get(key) is loading:
                del self._loading[key]

    @staticmethod
    async def _share(loading: asyncio.Future[V | None],
                     load: Callable[[], Awaitable[V | None]]) -> V | None:
        try:
            return await asyncio.shield(loading)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if loading.cancelled() and task is not None and not task.cancelling():
                return await load()  # the loader was cancelled, not us
            raise

    def put(self, key: K, value: V) -> V:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # bounded memory; a miss only costs a query
        self._entries[key] = (time.monotonic() + self.ttl, value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
