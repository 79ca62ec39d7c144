"""A write census: the rows one operation inserts and updates, table by table.

The gateway's create and confirm run in this process, through its own resolvers, inside a
transaction that is rolled back; PostgreSQL counts each table's inserted and updated tuples
of the transaction (`pg_stat_xact_user_tables`). The ceilings count theirs the same way
(`bench.ceiling.census`). A ceiling that writes less, or other rows, than the gateway is not
a ceiling: `compare` says where they differ, and the bench stops.
"""

from __future__ import annotations

from typing import Any

Census = dict[str, tuple[int, int]]  # table -> (inserted, updated)

XACT_WRITES = """SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables
WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"""


class _Rollback(Exception):
    pass


def from_rows(rows: list[Any]) -> Census:
    return {row["relname"]: (row["n_tup_ins"], row["n_tup_upd"]) for row in rows}


def delta(before: Census, after: Census) -> Census:
    """What was written between two readings. The view counts what the backend has not yet
    reported, which can include earlier transactions of the same connection: hence both."""
    found = {table: (ins - before.get(table, (0, 0))[0], upd - before.get(table, (0, 0))[1])
             for table, (ins, upd) in after.items()}
    return {table: counts for table, counts in found.items() if counts != (0, 0)}


def compare(name: str, gateway: Census, ceiling: Census) -> list[str]:
    """Each difference, as a sentence; empty when the ceiling writes what the gateway does."""
    return [f"{name}: {table} gateway inserts/updates {gateway.get(table, (0, 0))}, "
            f"ceiling {ceiling.get(table, (0, 0))}"
            for table in sorted(set(gateway) | set(ceiling))
            if gateway.get(table, (0, 0)) != ceiling.get(table, (0, 0))]


async def _counted(work: Any) -> Census:
    """Run `work()` in a transaction, count its writes, roll it back."""
    from tortoise.transactions import in_transaction
    found: Census = {}
    try:
        async with in_transaction() as connection:
            before = from_rows(await connection.execute_query_dict(XACT_WRITES))
            await work()
            found = delta(before, from_rows(await connection.execute_query_dict(XACT_WRITES)))
            raise _Rollback
    except _Rollback:
        pass
    return found


async def gateway(database_url: str, merchant_id: str, intent: tuple[str, str]
                  ) -> dict[str, Census]:
    """The gateway's own create (API key of `merchant_id`) and confirm (of `intent`, an
    unpaid one: id and client secret), counted and rolled back."""
    from core.config import load_settings, use_settings
    from models import db
    from models.api_keys import ApiKey
    from resolvers.access import Caller
    from resolvers.payment_intents import operations
    from resolvers.payment_intents.create import NewIntent, create

    use_settings(load_settings({"DATABASE_URL": database_url, "DATA_DIR": "/tmp/bench"}))
    await db.connect(database_url)
    try:
        key = await ApiKey.filter(merchant_id=merchant_id).first()
        new = NewIntent(amount=9999, currency="USD",
                               success_url="https://shop.test/ok", order_id="o-1")
        card = operations.CardInput("4242424242424242", "Bench", 12, 2035, "123")
        return {
            "create": await _counted(lambda: create(Caller(api_key=key), new)),
            "confirm": await _counted(lambda: operations.confirm(*intent, card)),
        }
    finally:
        await db.disconnect()
