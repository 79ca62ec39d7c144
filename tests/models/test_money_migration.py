"""Migration 0008 (money) on a database that already holds merchants and paid intents, on
SQLite and on PostgreSQL: merchants get the AUTOMATIC payout schedule, intents no fee and no
dispute, and the new ledger refuses UPDATE and DELETE."""

from __future__ import annotations

import pytest

from tests.models.test_migrations import INSERTS, database, migrate  # noqa: F401 - fixture

LEDGER_ROW = (
    "INSERT INTO balance_transactions (id, merchant_id, type, amount, fee, net, currency, "
    "available_on, created_at) VALUES ('txn_1', 'mer_shop', 'CHARGE', 1000, 59, 941, 'USD', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")


async def test_existing_rows_get_the_defaults_and_the_ledger_is_append_only(database):  # noqa: F811
    url, run = database
    migrate(url, "models.0007_webhook_endpoints")
    for statement in INSERTS[:2] + INSERTS[3:]:
        await run(statement)
    migrate(url, "models")
    assert await run("SELECT payout_schedule, payout_destination FROM merchants") == \
        [("AUTOMATIC", None)]
    [(fee, flagged, status)] = await run(
        "SELECT fee, disputes_on_capture, dispute_status FROM payment_intents")
    assert fee is None and not flagged and status is None
    await run(LEDGER_ROW)
    for statement in ("UPDATE balance_transactions SET net = 0",
                      "DELETE FROM balance_transactions"):
        with pytest.raises(Exception, match="append-only"):
            await run(statement)
    assert await run("SELECT net FROM balance_transactions") == [(941,)]
