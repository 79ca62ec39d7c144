"""Sustained payments: creates and confirms together, open loop, every webhook delivered to
the local receiver. The rate steps up (×STEP_FACTOR) until a step is not sustained, then
bisects between the highest good and the lowest bad rate to within 20%; the highest
sustained rate is the row.

A step is sustained when every payment succeeded, the answers kept up with the schedule
and came within `SLOW_P99_MS` at p99 (requests queueing behind a saturated server still
meet the schedule for a while, at seconds a payment), and the webhook backlog stayed flat:
the backlog at a moment is the webhooks owed by then (the events of the payments answered
by then, one per event and endpoint) less those arrived; flat means it grew by at most
`GROWTH` of what the step's second half produced (and a couple of webhooks of jitter)
between the middle and the end of the step.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

STEP_FACTOR = 1.5
GROWTH = 0.05
KEEP_UP = 1.0  # seconds the open loop may run past its schedule
SLOW_P99_MS = 1000.0  # a payment answered later than this, at p99, is not a sustained rate
JITTER = 2  # webhooks
MAX_STEPS = 12
MIN_RATE = 1.0  # payments a second: below it the search gives up
REFINED = 1.2  # the search stops when the first bad rate is within 20% of the last good


@dataclass(frozen=True)
class Step:
    rate: float  # payments a second
    duration: float
    successes: int
    errors: int
    elapsed: float  # seconds the open loop took
    backlog_middle: int
    backlog_end: int
    produced_second_half: int  # webhooks owed by the payments answered in the second half
    p50_ms: float
    p99_ms: float
    deliveries_per_second: float
    reasons: dict[str, int] = field(default_factory=dict)  # the errors, by reason

    @property
    def flat(self) -> bool:
        return self.backlog_end - self.backlog_middle <= \
            GROWTH * self.produced_second_half + JITTER

    @property
    def kept_up(self) -> bool:
        return self.errors == 0 and self.elapsed <= self.duration + KEEP_UP and \
            self.successes >= int(self.rate * self.duration)

    @property
    def fast(self) -> bool:
        return self.p99_ms < SLOW_P99_MS

    @property
    def sustained(self) -> bool:
        return self.flat and self.kept_up and self.fast

    def describe(self) -> str:
        verdict = "✓" if self.sustained else "✗ " + ", ".join(
            reason for reason, bad in [("backlog grew", not self.flat),
                                       ("fell behind", not self.kept_up),
                                       (f"p99 {self.p99_ms:,.0f} ms", not self.fast)] if bad)
        return f"{rate_text(self.rate)}/s {verdict}"


def rate_text(rate: float) -> str:
    return f"{rate:,.1f}" if rate < 10 else f"{rate:,.0f}"


def backlog(moment: float, answered: list[float], arrived: list[float], per_payment: int
            ) -> int:
    """Webhooks owed by `moment` and not arrived (both lists sorted wall-clock times)."""
    return per_payment * bisect.bisect_right(answered, moment) - \
        bisect.bisect_right(arrived, moment)


def next_rate(steps: list[Step], start: float) -> float | None:
    """The next rate to try, or None when the search is done: up by STEP_FACTOR while the
    steps are sustained (halving down while none is), then halfway between the highest
    good and the lowest bad rate until they are within REFINED of each other."""
    if not steps:
        return start
    if len(steps) >= MAX_STEPS:
        return None
    good = [s.rate for s in steps if s.sustained]
    bad = [s.rate for s in steps if not s.sustained]
    if not bad:
        return steps[-1].rate * STEP_FACTOR
    if not good:
        return min(bad) / 2 if min(bad) / 2 >= MIN_RATE else None
    if min(bad) / max(good) <= REFINED:
        return None
    return (max(good) + min(bad)) / 2


def best(steps: list[Step]) -> Step | None:
    sustained = [s for s in steps if s.sustained]
    return max(sustained, key=lambda s: s.rate) if sustained else None
