"""Payouts (CONTRACT §13): on demand (`createPayout`: OWNER, ADMIN or the API key) and
automatic (the worker, every PAYOUT_INTERVAL_SECONDS), then landing PAID or FAILED.

Concurrency: a payout locks its merchant's running total of the currency (PostgreSQL; SQLite
has one writer) and reads the balance after the lock, so concurrent payouts are served one at
a time and never take more than is available. Arrivals are conditional on IN_TRANSIT, so any
number of workers land each payout once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import money, validation
from core.clock import now
from core.config import get_settings
from core.errors import UserError
from core.names import EventType, Schedule
from models import sql
from models.events import Event
from models.merchants import Merchant
from models.money import BalanceTotal, Payout, PayoutSchedule, PayoutStatus
from models.money import Schedule as ScheduleRow
from models.sql import Update, write_if, write_together
from resolvers import dispatch, events
from resolvers.access import Caller, find_visible
from resolvers.idempotency import request_fingerprint, run_once
from resolvers.money import decisions
from resolvers.money.balance import READ
from resolvers.money.ledger import rules
from resolvers.paging import list_merchant_id, merchant_page

CREATE = "payouts:create"
BATCH = 500

log = logging.getLogger("gateway.payouts")


async def create_payout(caller: Caller, merchant_id: str | None, currency: str,
                        amount: int | None = None, idempotency_key: str | None = None) -> Payout:
    merchant_id = await list_merchant_id(caller, merchant_id, CREATE)
    currency = money.currency(currency)
    if amount is not None:
        amount = money.positive_amount(amount)
    key = validation.idempotency_key(idempotency_key)
    fingerprint = request_fingerprint("payout", {"merchant": merchant_id, "currency": currency,
                                                 "amount": amount})

    async def work() -> tuple[str, list[str]]:
        payout, event_ids = await pay_out(merchant_id, currency, amount, automatic=False)
        return payout.id, event_ids

    payout_id, event_ids = await run_once(merchant_id, key, fingerprint, work)
    await dispatch.deliver_events(event_ids)
    return await Payout.get(id=payout_id)


async def pay_out(merchant_id: str, currency: str, amount: int | None, *, automatic: bool,
                  moment: datetime | None = None) -> tuple[Payout, list[str]]:
    """Pay `amount` (None: all available) of `currency` out to the merchant's destination:
    the payout, its PAYOUT row, the total and the `payout.created` event, in one
    transaction that holds the total, so nothing is paid out twice."""
    async with in_transaction():
        await sql.lock_total(merchant_id, currency)
        moment = moment or now()
        found = await sql.balances(merchant_id, moment, currency)
        available = found[0].available if found else 0
        merchant = await Merchant.get(id=merchant_id)
        to_pay = decisions.payout_amount(amount, available,
                                         merchant.payout_destination is not None)
        payout, writes = decisions.new_payout(
            merchant_id, to_pay, currency, merchant.payout_destination_last4 or "",
            automatic, moment, rules())
        event = await payout_event(payout, EventType.PAYOUT_CREATED)
        await write_together(payout, *writes, event)
    return payout, [event.id]


async def payout_event(payout: Payout, event_type: EventType) -> Event:
    return events.new_event(payout.merchant_id, event_type, payout.id,
                            {"object": events.payout_snapshot(payout)},
                            await events.webhook_state(payout.merchant_id))


# --- reads ------------------------------------------------------------------------------------
async def list_payouts(caller: Caller, merchant_id: str | None, status: PayoutStatus | None,
                       first: int, after: str | None) -> tuple[list[Payout], bool]:
    return await merchant_page(caller, Payout, merchant_id, READ, first, after, status)


async def find_payout(caller: Caller, payout_id: str) -> Payout | None:
    return await find_visible(caller, Payout, payout_id, READ, "Payout")


# --- the worker's -------------------------------------------------------------------------------
def run_due(next_run_at: datetime | None, moment: datetime, earliest: datetime) -> bool:
    """Whether a periodic run is due: not before `earliest` (one interval after this worker
    started), and not before the fleet's next run."""
    return moment >= earliest and (next_run_at is None or moment >= next_run_at)


async def claim_run(name: Schedule, moment: datetime, interval: timedelta,
                    earliest: datetime) -> bool:
    """Claim this interval's run for this worker: one worker wins per interval."""
    row = await ScheduleRow.get_or_none(name=name.value)
    if not run_due(row.next_run_at if row else None, moment, earliest):
        return False
    if row is None:
        try:
            await ScheduleRow.create(name=name.value, next_run_at=moment + interval)
        except IntegrityError:
            return False  # another worker created it first: its run
        return True
    return await ScheduleRow.filter(name=name.value, next_run_at=row.next_run_at).update(
        next_run_at=moment + interval) == 1


async def automatic_payouts(moment: datetime, started: datetime) -> list[str]:
    """Every PAYOUT_INTERVAL_SECONDS, the first one interval after the worker started: for
    each merchant on AUTOMATIC with a destination, the whole positive available balance of
    each currency. Returns the events' ids."""
    interval = timedelta(seconds=get_settings().payout_interval_seconds)
    if not await claim_run(Schedule.AUTOMATIC_PAYOUTS, moment, interval, started + interval):
        return []
    return await pay_out_everything(moment)


async def pay_out_everything(moment: datetime) -> list[str]:
    totals = await BalanceTotal.filter(
        merchant__payout_schedule=PayoutSchedule.AUTOMATIC.value,
        merchant__payout_destination__isnull=False, net__gt=0).values_list(
        "merchant_id", "currency")
    written: list[str] = []
    for merchant_id, currency in totals:
        try:
            _, event_ids = await pay_out(merchant_id, currency, None, automatic=True)
        except UserError:
            continue  # nothing available (still pending, or paid out meanwhile)
        except Exception:  # one merchant's failure must not cost the others this run
            log.exception("automatic payout of merchant=%s currency=%s failed; it is tried "
                          "again at the next run", merchant_id, currency)
            continue
        written += event_ids
    return written


async def land_arrivals(moment: datetime, batch: int = BATCH) -> list[str]:
    """Payouts IN_TRANSIT whose arrival date has come: PAID, or FAILED with a
    PAYOUT_FAILURE row giving the money back. Each is written only if still IN_TRANSIT."""
    due = await Payout.filter(status=PayoutStatus.IN_TRANSIT,
                              arrival_date__lte=moment).order_by("arrival_date").limit(batch)
    written: list[str] = []
    for payout in due:
        changes, rows, event_type = decisions.payout_arrival(payout, moment)
        for name, value in changes.items():
            setattr(payout, name, value)
        event = await payout_event(payout, event_type)
        guard = Update(Payout, payout.id, changes, expect={"status": PayoutStatus.IN_TRANSIT})
        if await write_if(guard, *rows, event):
            written.append(event.id)
    return written
