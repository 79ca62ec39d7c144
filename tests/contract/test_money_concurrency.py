"""Money under concurrency (CONTRACT §13): concurrent payouts never pay out more than is
available (both databases); on PostgreSQL, refunds racing a dispute opening keep the ledger
consistent and two workers sweeping at once do nothing twice. Also: the ledger refuses
UPDATE and DELETE."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise import connections

from core.clock import now
from models.money import BalanceTransaction, Dispute, Payout
from models.payment_intents import PaymentIntent
from resolvers.money import disputes, sweeps
from tests.conftest import fleet_only
from tests.helpers import REFUND, confirm, create_intent, gql, paid_intent
from tests.money_helpers import (
    DISPUTE_CARD,
    FAILING_IBAN,
    GOOD_IBAN,
    balance_of,
    create_payout,
    set_payout_destination,
)

SETTLEMENT = 2


async def test_twenty_payouts_of_the_whole_balance_pay_out_once(client, shop):
    await set_payout_destination(client, shop, GOOD_IBAN, "MANUAL")
    await paid_intent(client, shop, amount=10_000)
    await asyncio.sleep(SETTLEMENT)
    answers = await asyncio.gather(*[create_payout(client, shop) for _ in range(20)])
    paid = [a["payout"] for a in answers if a["payout"]]
    assert len(paid) == 1 and paid[0]["amount"] == 9_680
    assert sorted({a["userErrors"][0]["code"] for a in answers if not a["payout"]}) == \
        ["INVALID_STATE"]
    assert await Payout.filter(merchant_id=shop.merchant_id).count() == 1
    assert (await balance_of(client, shop))["available"] == {"USD": 0}


async def test_concurrent_partial_payouts_never_exceed_what_is_available(client, shop):
    await set_payout_destination(client, shop, GOOD_IBAN, "MANUAL")
    await paid_intent(client, shop, amount=10_000)  # 9,680 net
    await asyncio.sleep(SETTLEMENT)
    answers = await asyncio.gather(*[create_payout(client, shop, amount=1_000)
                                     for _ in range(20)])
    assert len([a for a in answers if a["payout"]]) == 9
    assert (await balance_of(client, shop))["available"] == {"USD": 680}


@fleet_only
async def test_refunds_racing_a_dispute_opening(client, shop):
    for _ in range(3):
        intent = await create_intent(client, shop, amount=10_000)
        await confirm(client, intent, DISPUTE_CARD)
        refunds = [gql(client, REFUND, {"input": {"id": intent["id"], "amount": 1_000}},
                       api_key=shop.api_key) for _ in range(5)]
        await asyncio.gather(disputes.open_due(now() + timedelta(minutes=5)), *refunds)
        stored = await PaymentIntent.get(id=intent["id"])
        [dispute] = await Dispute.filter(payment_intent_id=intent["id"])
        # What was refunded before the opening, and the dispute, add up to the capture;
        # every refund after it was refused.
        assert dispute.amount + stored.amount_refunded == 10_000
        rows = await BalanceTransaction.filter(payment_intent_id=intent["id"])
        assert sum(row.amount for row in rows if row.type.value == "REFUND") == \
            -stored.amount_refunded


@fleet_only
async def test_two_workers_sweeping_at_once_do_nothing_twice(client, shop):
    await set_payout_destination(client, shop, FAILING_IBAN, "MANUAL")
    await paid_intent(client, shop, amount=10_000)
    await asyncio.sleep(SETTLEMENT)
    payout = (await create_payout(client, shop, amount=1_000))["payout"]
    intent = await create_intent(client, shop, amount=5_000)
    await confirm(client, intent, DISPUTE_CARD)
    await set_payout_destination(client, shop, FAILING_IBAN, "AUTOMATIC")
    later = now() + timedelta(days=2)
    started = now() - timedelta(days=3)  # both workers have waited their first interval
    await asyncio.gather(sweeps.sweep(started, later), sweeps.sweep(started, later))
    await asyncio.gather(sweeps.sweep(started, later), sweeps.sweep(started, later))
    rows = await BalanceTransaction.filter(merchant_id=shop.merchant_id)
    kinds = sorted(row.type.value for row in rows)
    assert kinds.count("DISPUTE") == 1  # opened once
    assert kinds.count("PAYOUT") == 2  # the manual one, and one automatic run
    assert kinds.count("PAYOUT_FAILURE") == 2  # each failed once (an IBAN ending 0002)
    assert (await Payout.get(id=payout["id"])).status.value == "FAILED"
    [dispute] = await Dispute.filter(payment_intent_id=intent["id"])
    types = [event.type for event in await shop_events(shop.merchant_id)]
    assert types.count("dispute.created") == 1 and types.count("payout.failed") == 2
    assert types.count("payout.created") == 2
    assert dispute.status.value == "NEEDS_RESPONSE"


async def shop_events(merchant_id: str):
    from models.events import Event

    return await Event.filter(merchant_id=merchant_id)


async def test_the_ledger_refuses_updates_and_deletes(client, shop):
    await paid_intent(client, shop, amount=1_000)
    row = await BalanceTransaction.filter(merchant_id=shop.merchant_id).first()
    connection = connections.get("default")
    for statement in (f"UPDATE balance_transactions SET net = 0 WHERE id = '{row.id}'",
                      f"DELETE FROM balance_transactions WHERE id = '{row.id}'"):
        with pytest.raises(Exception, match="append-only"):
            await connection.execute_query(statement)
    assert (await BalanceTransaction.get(id=row.id)).net == row.net
