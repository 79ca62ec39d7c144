"""The worker's money jobs, run by the `sweep` job (tasks/jobs.py) in the worker or, in
embedded mode, in the API process: automatic payouts, payout arrivals, disputes to open and
to decide, and the pending buckets of past hours to forget. Each is idempotent and safe with
any number of workers (see each module)."""

from __future__ import annotations

from datetime import datetime

from core.clock import now
from resolvers.money import disputes, ledger, payouts


async def sweep(started: datetime, moment: datetime | None = None) -> list[str]:
    """Everything due at `moment`; returns the ids of the events written. `started`: when
    this worker started (the first automatic payout waits one interval after it)."""
    moment = moment or now()
    written = await payouts.land_arrivals(moment)
    written += await disputes.open_due(moment)
    written += await disputes.decide_due(moment)
    written += await payouts.automatic_payouts(moment, started)
    await ledger.forget_past_buckets(moment)
    return written
