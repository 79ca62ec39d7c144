"""CPU-heavy work (argon2, image decoding) off the event loop, a few at a time per process."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Gate:
    """At most `size()` calls at once in this process, in threads. One semaphore per event
    loop: a semaphore belongs to the loop it first waits on (tests run several)."""

    def __init__(self, size: Callable[[], int]) -> None:
        self.size = size
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                    asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(max(1, self.size()))
        return self._semaphores[loop]

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        async with self._semaphore():
            return await asyncio.to_thread(function, *args)
