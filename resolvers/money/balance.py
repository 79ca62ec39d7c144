"""Reading money: the balance, the ledger (paged and filtered), an intent's fee, rows and
disputes. Readers: OWNER, ADMIN, MANAGER and the merchant's API key (`balance:read`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.clock import now
from core.cursors import EARLIEST, LATEST
from core.endpoints import event_types
from core.errors import invalid
from core.names import EventType
from models import sql
from models.money import BalanceTransaction, Dispute, TransactionType
from resolvers.access import Caller, member_may
from resolvers.batches import grouped
from resolvers.paging import list_merchant_id, page

READ = "balance:read"


@dataclass(frozen=True)
class Balance:
    available: list[tuple[int, str]]  # (amount, currency), by currency
    pending: list[tuple[int, str]]


async def balance(caller: Caller, merchant_id: str | None, moment: datetime | None = None
                  ) -> Balance:
    """Per currency that has rows: available (may be negative) and pending; their sum is
    the sum of net over the ledger (the running total), by construction."""
    merchant_id = await list_merchant_id(caller, merchant_id, READ)
    rows = await sql.balances(merchant_id, moment or now())
    return Balance([(row.available, row.currency) for row in rows],
                   [(row.pending, row.currency) for row in rows])


@dataclass(frozen=True)
class TransactionFilter:
    type: TransactionType | None = None
    payment_intent_id: str | None = None
    payout_id: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


def _moment(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or not EARLIEST <= value <= LATEST:
        raise invalid(field, "Give a time with its zone, between the years 2000 and 9000")
    return value


def filtered(merchant_id: str, given: TransactionFilter):
    query = BalanceTransaction.filter(merchant_id=merchant_id)
    if given.type is not None:
        query = query.filter(type=given.type)
    if given.payment_intent_id is not None:  # a malformed id simply matches nothing
        query = query.filter(payment_intent_id=given.payment_intent_id)
    if given.payout_id is not None:
        query = query.filter(payout_id=given.payout_id)
    after = _moment(given.created_after, "createdAfter")
    before = _moment(given.created_before, "createdBefore")
    if after is not None:
        query = query.filter(created_at__gte=after)
    if before is not None:
        query = query.filter(created_at__lt=before)
    return query


async def list_transactions(caller: Caller, merchant_id: str | None, given: TransactionFilter,
                            first: int, after: str | None
                            ) -> tuple[list[BalanceTransaction], bool]:
    merchant_id = await list_merchant_id(caller, merchant_id, READ)
    return await page(filtered(merchant_id, given), first, after)


async def may_read(caller: Caller, merchant_id: str) -> bool:
    """Whether the caller sees an intent's money (fee, rows, disputes): the merchant's API
    key, or a member whose role reads the balance (not STAFF)."""
    if caller.api_key is not None:
        return caller.api_key.merchant_id == merchant_id
    return await member_may(caller, merchant_id, READ)


# Events that carry a payout or a dispute whole (amounts, the destination's last 4, evidence):
# what a role without balance:read may not see through the events either.
MONEY_EVENT_TYPES = frozenset(event_type.value for event_type in EventType
                              if event_type.value.startswith(("payout.", "dispute.")))


async def readable_event_types(caller: Caller, merchant_id: str,
                               wanted: set[str] | None) -> set[str] | None:
    """The event types of `wanted` (None: all) the caller may read of the merchant's: all of
    them, or (without balance:read) those but the payouts' and disputes'. None: every type."""
    if await may_read(caller, merchant_id):
        return wanted
    return (wanted if wanted is not None else set(event_types())) - MONEY_EVENT_TYPES


async def transactions_of(intent_ids: list[str]) -> list[list[BalanceTransaction]]:
    rows = await BalanceTransaction.filter(payment_intent_id__in=intent_ids).order_by(
        "created_at", "id")
    return grouped(intent_ids, rows, lambda row: row.payment_intent_id)


async def disputes_of(intent_ids: list[str]) -> list[list[Dispute]]:
    rows = await Dispute.filter(payment_intent_id__in=intent_ids).order_by("created_at")
    return grouped(intent_ids, rows, lambda row: row.payment_intent_id)

