"""Token buckets: a steady rate with a burst allowance, one bucket per client."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_second: float, burst_seconds: float = 2.0,
                 max_clients: int = 100_000) -> None:
        self.rate = per_second
        self.capacity = max(1.0, per_second * burst_seconds)
        self.max_clients = max_clients
        self._buckets: dict[str, Bucket] = {}

    def retry_after(self, client: str, moment: float) -> int:
        """0 when the request may go ahead (and is counted), else whole seconds to wait."""
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._buckets.clear()  # bounded memory; forgetting is generous, never unsafe
            bucket = self._buckets[client] = Bucket(self.capacity, moment)
        bucket.tokens = min(self.capacity, bucket.tokens + (moment - bucket.updated) * self.rate)
        bucket.updated = moment
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))
