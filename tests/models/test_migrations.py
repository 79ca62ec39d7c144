"""Migrations on a database that already holds data, in a process of their own (Tortoise's
state is global), on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys

import asyncpg
import pytest

from tests.conftest import (
    ROOT,
    RUN_ID,
    create_pg_database,
    drop_pg_database,
    skip_or_fail_without_services,
)

MIGRATE_TO = "import asyncio, sys; from models import db; asyncio.run(db.migrate(*sys.argv[1:]))"
RAW_TOKEN = "inv_" + "T" * 40
INSERTS = [
    "INSERT INTO users (id, name, email, password_hash, failed_login_count, created_at) "
    "VALUES ('usr_owner', 'Owner', 'o@shop.test', 'x', 0, CURRENT_TIMESTAMP)",
    "INSERT INTO merchants (id, business_name, email, status, created_at, default_currency) "
    "VALUES ('mer_shop', 'Shop', 's@shop.test', 'active', CURRENT_TIMESTAMP, 'USD')",
    "INSERT INTO invitations (id, merchant_id, email, role, token, status, expires_at, "
    f"created_at) VALUES ('inv_pending', 'mer_shop', 'i@shop.test', 'STAFF', '{RAW_TOKEN}', "
    "'pending', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
    "success_url, client_secret, expires_at, created_at, updated_at, attempt_count, "
    "max_attempts, amount_capturable, amount_captured, amount_refunded, version) VALUES "
    "('pi_paid', 'mer_shop', 'PARTIALLY_REFUNDED', 1000, 'USD', 'AUTOMATIC', 'https://s.test', "
    "'pi_secret_x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 5, 0, 1000, "
    "300, 3)",
    "INSERT INTO refunds (id, payment_intent_id, amount, status, created_at) VALUES "
    "('re_1', 'pi_paid', 100, 'succeeded', CURRENT_TIMESTAMP), "
    "('re_2', 'pi_paid', 200, 'succeeded', CURRENT_TIMESTAMP)",
]


def migrate(database_url: str, target: str) -> None:
    done = subprocess.run([sys.executable, "-c", MIGRATE_TO, database_url, target], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "old.sqlite3"
        yield f"sqlite://{path}", lambda sql: _sqlite(path, sql)
        return
    skip_or_fail_without_services()
    name = f"gateway_migrations_{RUN_ID}"
    url = await create_pg_database(name)
    try:
        yield url, lambda sql: _postgres(url, sql)
    finally:
        await drop_pg_database(name)


async def _sqlite(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


async def _postgres(url: str, sql: str) -> list[tuple]:
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


async def test_stored_invitation_tokens_become_their_hashes(database):
    url, run = database
    migrate(url, "models.0002_partial_sweep_indexes")
    for statement in INSERTS[:3]:
        await run(statement)
    migrate(url, "models")
    [(stored, status)] = await run("SELECT token_hash, status FROM invitations")
    assert stored == hashlib.sha256(RAW_TOKEN.encode()).hexdigest()
    assert status == "pending"


async def test_intents_count_the_refunds_they_already_have(database):
    url, run = database
    migrate(url, "models.0003_invitation_token_hash")
    for statement in INSERTS[:2] + INSERTS[3:]:
        await run(statement)
    migrate(url, "models")
    assert await run("SELECT refund_count FROM payment_intents") == [(2,)]
    assert len(await run("SELECT id FROM refunds")) == 2  # nothing lost on the way


SECRET = "whsec_" + "S" * 43 + "="
WEBHOOK_INSERTS = [
    "INSERT INTO merchants (id, business_name, email, status, created_at, default_currency, "
    "webhook_url, webhook_secret) VALUES ('mer_hooked', 'Hooked', 'h@shop.test', 'active', "
    f"CURRENT_TIMESTAMP, 'USD', 'https://hooks.test/in', '{SECRET}')",
    "INSERT INTO events (id, merchant_id, type, data, created_at, delivery_state, "
    "attempt_count, retry_base, next_attempt_at) VALUES "
    "('evt_owed', 'mer_hooked', 'webhook.test', '{}', CURRENT_TIMESTAMP, 'PENDING', 2, 0, "
    "CURRENT_TIMESTAMP), "
    "('evt_failed', 'mer_hooked', 'webhook.test', '{}', CURRENT_TIMESTAMP, 'FAILED', 8, 0, "
    "NULL), "
    "('evt_quiet', 'mer_shop', 'webhook.test', '{}', CURRENT_TIMESTAMP, 'NONE', 0, 0, NULL)",
    "INSERT INTO webhook_deliveries (id, event_id, attempt, url, succeeded, created_at) VALUES "
    "('whd_1', 'evt_owed', 1, 'https://hooks.test/in', FALSE, CURRENT_TIMESTAMP)",
]


async def test_a_webhook_url_becomes_the_default_endpoint_and_nothing_owed_is_lost(database):
    url, run = database
    migrate(url, "models.0006_checkout_experience")
    for statement in INSERTS[1:2] + WEBHOOK_INSERTS:
        await run(statement)
    migrate(url, "models")
    [(endpoint_id, merchant, endpoint_url, secret, events, status, is_default)] = await run(
        "SELECT id, merchant_id, url, secret, enabled_events, status, is_default "
        "FROM webhook_endpoints")
    assert (merchant, endpoint_url, secret, status, bool(is_default)) == \
        ("mer_hooked", "https://hooks.test/in", SECRET, "ENABLED", True)
    assert endpoint_id.startswith("we_") and "*" in str(events)
    pairs = await run("SELECT event_id, endpoint_id, state, attempt_count FROM "
                      "endpoint_deliveries ORDER BY event_id")
    assert pairs == [("evt_failed", endpoint_id, "FAILED", 8),
                     ("evt_owed", endpoint_id, "PENDING", 2)]
    assert await run("SELECT endpoint_id FROM webhook_deliveries") == [(endpoint_id,)]


INDEXES_SQL = {
    "sqlite": "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    "postgres": "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'",
}


async def test_what_is_read_by_its_parent_is_indexed_by_it(database):
    url, query = database
    migrate(url, "models.0011_events_by_time")
    kind = "sqlite" if url.startswith("sqlite") else "postgres"

    async def leading_columns() -> set[tuple[str, str]]:
        found = set()
        for table, definition in await query(INDEXES_SQL[kind]):
            columns = definition.split("(", 1)[1]
            found.add((table, columns.split(",")[0].strip(' )"')))
        return found

    wanted = {("webhook_deliveries", "event_id"), ("refunds", "payment_intent_id"),
              ("disputes", "payment_intent_id")}
    assert not wanted & await leading_columns()
    migrate(url, "models")
    assert wanted <= await leading_columns()
