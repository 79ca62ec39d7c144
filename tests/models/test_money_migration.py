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


def ledger_row(row_id: str, net: int, available_on: str) -> str:
    return ("INSERT INTO balance_transactions (id, merchant_id, type, amount, fee, net, "
            f"currency, available_on, created_at) VALUES ('{row_id}', 'mer_shop', 'CHARGE', "
            f"{net}, 0, {net}, 'USD', '{available_on}', '2000-01-01 00:00:00+00:00')")


async def test_the_rows_still_ahead_fill_the_pending_buckets(database):  # noqa: F811
    """Migration 0009: the ledger rows that become available from now on are summed into
    hourly buckets; the rows already available need none (no balance reads their hours)."""
    url, run = database
    migrate(url, "models.0008_money")
    for statement in [*INSERTS[1:2], ledger_row("txn_a", 100, "2099-01-01 10:15:00+00:00"),
                      ledger_row("txn_b", 250, "2099-01-01 10:45:00+00:00"),
                      ledger_row("txn_c", 40, "2099-01-01 12:05:00+00:00"),
                      ledger_row("txn_old", 999, "2000-01-01 10:00:00+00:00")]:
        await run(statement)
    migrate(url, "models")
    buckets = await run("SELECT id, merchant_id, currency, net FROM balance_pending "
                        "ORDER BY id")
    assert buckets == [("mer_shop:USD:4070944800", "mer_shop", "USD", 350),
                       ("mer_shop:USD:4070952000", "mer_shop", "USD", 40)]
