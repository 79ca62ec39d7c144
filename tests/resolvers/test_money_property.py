"""A property of the ledger (CONTRACT §13): over random sequences of captures, refunds,
disputes and payouts on one merchant, on both databases, the invariant holds after every
step (available + pending = the sum of net = the running total) and no balance transaction
ever changes once written."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import now
from core.errors import UserError
from models import sql
from models.money import BalanceTransaction
from resolvers.money import disputes, payouts
from tests.helpers import REFUND, confirm, create_intent, gql, open_shop
from tests.money_helpers import DISPUTE_CARD, GOOD_IBAN, set_payout_destination

STEPS = st.lists(st.one_of(
    st.tuples(st.just("capture"), st.integers(1, 50_000), st.booleans()),
    st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 60_000)),
    st.tuples(st.just("dispute"), st.integers(0, 0), st.integers(0, 0)),
    st.tuples(st.just("payout"), st.integers(0, 0), st.integers(0, 30_000)),
), min_size=1, max_size=8)
LATER = timedelta(days=3)  # past the settlement delay and the dispute's opening


async def check(merchant_id: str, seen: dict[str, tuple]) -> None:
    [total] = [row for row in await sql.ledger_sums() if row["merchant_id"] == merchant_id] \
        or [{"total": 0, "summed": 0}]
    assert total["total"] == total["summed"]
    for moment in (now(), now() + LATER):
        found = await sql.balances(merchant_id, moment)
        assert sum(b.available + b.pending for b in found) == total["summed"]
    rows = await BalanceTransaction.filter(merchant_id=merchant_id).values_list(
        "id", "type", "amount", "fee", "net", "currency", "available_on", "created_at")
    current = {row[0]: row for row in rows}
    assert all(current[row_id] == row for row_id, row in seen.items())  # never changed
    seen.update(current)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS)
async def test_the_ledger_invariant_holds_for_any_sequence(client, steps):
    shop = await open_shop(client)
    await set_payout_destination(client, shop, GOOD_IBAN, "MANUAL")
    intents: list[dict] = []
    seen: dict[str, tuple] = {}
    for kind, first, second in steps:
        if kind == "capture":
            intent = await create_intent(client, shop, amount=first)
            await confirm(client, intent, DISPUTE_CARD if second else "4242424242424242")
            intents.append(intent)
        elif kind == "refund" and intents:
            intent = intents[first % len(intents)]
            await gql(client, REFUND, {"input": {"id": intent["id"], "amount": second}},
                      api_key=shop.api_key)
        elif kind == "dispute":
            await disputes.open_due(now() + LATER)
        elif kind == "payout":
            with contextlib.suppress(UserError):  # more than available: nothing written
                await payouts.pay_out(shop.merchant_id, "USD", second or None,
                                      automatic=False, moment=now() + LATER)
        await check(shop.merchant_id, seen)
