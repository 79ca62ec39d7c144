"""The rows the gateway writes for a create and a confirm: the one place the ceilings take them
from. Adjust here when a write path changes; `bench.census` compares, table by table, what
these write with what the gateway writes, and the bench stops if the two differ.

Each write path is one statement, as `models.sql.write_together` / `write_if` send it on
PostgreSQL: every write in a CTE, the guarded ones (a confirm) only if the guard's UPDATE
found the intent at the version it read.

The deliveries follow `models/webhooks.py` (one per endpoint the merchant has, read into
`Layout`), the ledger row and running total `models/money.py`.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ALPHABET = string.ascii_letters + string.digits
AMOUNT = 9999
FEE_PERCENT_BPS, FEE_FIXED = 290, 30  # CONTRACT §13 defaults (the bench sets neither)
SETTLEMENT_DELAY = timedelta(seconds=172800)

# models/webhooks.py: an event's delivery rows, one per endpoint it is meant for.
ENDPOINTS_TABLE = "webhook_endpoints"
EVENT_DELIVERIES_TABLE = "endpoint_deliveries"
# models/money.py: the ledger, its running totals (`models.sql.AddToTotal`) and its pending
# buckets (`models.sql.AddToPending`).
LEDGER_TABLE = "balance_transactions"
TOTALS_TABLE = "balance_totals"
PENDING_TABLE = "balance_pending"

def new_id(prefix: str) -> str:
    """As `core.security.new_id`: a prefix and 24 random base62 characters."""
    return f"{prefix}_{''.join(secrets.choice(ALPHABET) for _ in range(24))}"


@dataclass(frozen=True)
class Layout:
    """What the gateway writes besides the intent, its event and (on a capture) its CHARGE
    and running total, for one merchant: a delivery row per matching endpoint."""

    merchant_id: str
    endpoint_ids: tuple[str, ...] = ()  # the merchant's enabled endpoints matching `*`


async def layout(connection: Any, merchant_id: str) -> Layout:
    """Read the layout from the migrated database, as the gateway reads the endpoints."""
    endpoints = await connection.fetchval(  # all enabled, taking every event ("*")
        f"SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM {ENDPOINTS_TABLE} "
        "WHERE merchant_id = $1 AND status = 'ENABLED' AND enabled_events ? '*'", merchant_id)
    return Layout(merchant_id, tuple(endpoints))


# --- the rows -----------------------------------------------------------------------------------
def intent_row(merchant_id: str, moment: datetime, *, expires_in: timedelta = timedelta(hours=1),
               created_at: datetime | None = None) -> dict[str, Any]:
    created = created_at or moment
    return {"id": new_id("pi"), "merchant_id": merchant_id, "status": "AWAITING_PAYMENT_METHOD",
            "amount": AMOUNT, "currency": "USD", "capture_method": "AUTOMATIC",
            "success_url": "https://shop.test/ok", "order_id": "o-1",
            "client_secret": f"pi_secret_{secrets.token_hex(20)}",
            "expires_at": moment + expires_in, "created_at": created, "updated_at": created,
            "attempt_count": 0, "max_attempts": 5, "amount_capturable": 0,
            "amount_captured": 0, "amount_refunded": 0, "refund_count": 0, "version": 0,
            "submit_type": "PAY"}


def snapshot(intent: dict[str, Any], **changes: Any) -> str:
    """The event's data, the size and keys of `resolvers.events.intent_snapshot`."""
    row = {**intent, **changes}
    card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2035} \
        if row.get("card_last4") else None
    return json.dumps({"object": {
        "id": row["id"], "object": "payment_intent", "merchant_id": row["merchant_id"],
        "status": row["status"], "amount": row["amount"], "currency": row["currency"],
        "capture_method": row["capture_method"], "description": None,
        "order_id": row["order_id"], "customer_email": None, "metadata": None,
        "success_url": row["success_url"], "cancel_url": None,
        "expires_at": row["expires_at"].isoformat(), "created_at": row["created_at"].isoformat(),
        "attempt_count": row["attempt_count"], "max_attempts": row["max_attempts"],
        "amount_capturable": row["amount_capturable"],
        "amount_captured": row["amount_captured"], "amount_refunded": row["amount_refunded"],
        "card": card, "last_payment_error": None, "line_items": None, "locale": None,
        "submit_type": "PAY"}})


def event_row(merchant_id: str, event_type: str, object_id: str, data: str,
              moment: datetime) -> dict[str, Any]:
    return {"id": new_id("evt"), "merchant_id": merchant_id, "type": event_type,
            "object_id": object_id, "data": data, "created_at": moment,
            "delivery_state": "PENDING", "attempt_count": 0, "retry_base": 0,
            "next_attempt_at": moment}


def delivery_rows(layout_: Layout, event_id: str, moment: datetime) -> list[dict[str, Any]]:
    """One row per (event, endpoint), due at once (`models.sql._fan_out`; the id is a
    sequence's)."""
    return [{"event_id": event_id, "endpoint_id": endpoint_id, "state": "PENDING",
             "attempt_count": 0, "retry_base": 0, "next_attempt_at": moment}
            for endpoint_id in layout_.endpoint_ids]


def fee(amount: int) -> int:
    return min(amount, (amount * FEE_PERCENT_BPS + 5000) // 10000 + FEE_FIXED)


def charge_row(merchant_id: str, intent_id: str, amount: int, moment: datetime
               ) -> dict[str, Any]:
    """The CHARGE balance transaction of a capture (`resolvers.money.decisions.book`)."""
    charged_fee = fee(amount)
    return {"id": new_id("txn"), "merchant_id": merchant_id, "type": "CHARGE",
            "amount": amount, "fee": charged_fee, "net": amount - charged_fee,
            "currency": "USD", "available_on": moment + SETTLEMENT_DELAY,
            "created_at": moment, "payment_intent_id": intent_id}


# --- statements ---------------------------------------------------------------------------------
@dataclass
class Statement:
    """One statement of CTEs, numbered $1, $2… as `models.sql` numbers them."""

    parts: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def mark(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def insert(self, table: str, row: dict[str, Any], only_if: str | None = None) -> None:
        marks = ", ".join(self.mark(value) for value in row.values())
        columns = ", ".join(row)
        if only_if:
            self.parts.append(f"INSERT INTO {table} ({columns}) SELECT {marks} WHERE {only_if}")
        else:
            self.parts.append(f"INSERT INTO {table} ({columns}) VALUES ({marks})")

    def sql(self, last: str) -> str:
        return "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(self.parts)) \
            + " " + last


def create_statement(layout_: Layout, moment: datetime) -> tuple[str, list[Any]]:
    """A create: the intent, its `payment_intent.created` event and the event's deliveries."""
    intent = intent_row(layout_.merchant_id, moment)
    event = event_row(layout_.merchant_id, "payment_intent.created", intent["id"],
                      snapshot(intent), moment)
    statement = Statement()
    statement.insert("payment_intents", intent)
    statement.insert("events", event)
    for row in delivery_rows(layout_, event["id"], moment):
        statement.insert(EVENT_DELIVERIES_TABLE, row)
    return statement.sql("SELECT 1"), statement.values


READ_INTENT = "SELECT * FROM payment_intents WHERE id = $1"


def confirm_statement(layout_: Layout, intent: dict[str, Any], moment: datetime
                      ) -> tuple[str, list[Any]]:
    """A confirm that captures, after the read: the intent updated if still at the version
    read, its `payment_intent.captured` event, the deliveries, the CHARGE and the totals."""
    changes = {"status": "CAPTURED", "attempt_count": intent["attempt_count"] + 1,
               "card_brand": "visa", "card_last4": "4242", "card_exp_month": 12,
               "card_exp_year": 2035, "card_fingerprint": secrets.token_hex(32),
               "last_error_code": None, "last_error_message": None, "authorized_at": moment,
               "amount_captured": intent["amount"], "captured_at": moment,
               "version": intent["version"] + 1, "updated_at": moment,
               "fee": fee(intent["amount"])}
    statement = Statement()
    assign = ", ".join(f"{name} = {statement.mark(value)}" for name, value in changes.items())
    statement.parts.append(
        f"UPDATE payment_intents SET {assign} WHERE id = {statement.mark(intent['id'])} "
        f"AND version = {statement.mark(intent['version'])} RETURNING 1")
    guard = "EXISTS (SELECT 1 FROM w0)"
    event = event_row(layout_.merchant_id, "payment_intent.captured", intent["id"],
                      snapshot(intent, **changes), moment)
    statement.insert("events", event, only_if=guard)
    for row in delivery_rows(layout_, event["id"], moment):
        statement.insert(EVENT_DELIVERIES_TABLE, row, only_if=guard)
    charge = charge_row(layout_.merchant_id, intent["id"], intent["amount"], moment)
    statement.insert(LEDGER_TABLE, charge, only_if=guard)
    key = f"{charge['merchant_id']}:{charge['currency']}"
    statement.parts.append(_add_to(statement, TOTALS_TABLE, guard, id=key,
                                   merchant_id=charge["merchant_id"],
                                   currency=charge["currency"], net=charge["net"]))
    hour = charge["available_on"].replace(minute=0, second=0, microsecond=0)
    statement.parts.append(_add_to(statement, PENDING_TABLE, guard,
                                   id=f"{key}:{int(hour.timestamp())}",
                                   merchant_id=charge["merchant_id"],
                                   currency=charge["currency"], available_hour=hour,
                                   net=charge["net"]))
    return statement.sql("SELECT count(*) AS written FROM w0"), statement.values


def _add_to(statement: Statement, table: str, guard: str, **columns: Any) -> str:
    """An upsert adding `net` to a running sum (`models.sql.AddTo`): the total, or the
    pending bucket of the hour the row becomes available."""
    marks = ", ".join(statement.mark(value) for value in columns.values())
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {marks} WHERE {guard} "
            f"ON CONFLICT (id) DO UPDATE SET net = {table}.net + excluded.net")


# --- bulk seeding (prepared work), by SQL -------------------------------------------------------
def seed_intents_sql(returning: bool = True) -> str:
    """`count` fresh intents of merchant $1, expiring at $3, created at $4: one statement.
    Ids and client secrets are random (md5 of random() is enough for a benchmark)."""
    return f"""INSERT INTO payment_intents (id, merchant_id, status, amount, currency,
  capture_method, success_url, order_id, client_secret, expires_at, created_at, updated_at,
  attempt_count, max_attempts, amount_capturable, amount_captured, amount_refunded,
  refund_count, version, submit_type)
  SELECT 'pi_' || substr(md5(random()::text || n), 1, 24), $1, 'AWAITING_PAYMENT_METHOD',
    {AMOUNT}, 'USD', 'AUTOMATIC', 'https://shop.test/ok', 'o-' || n,
    'pi_secret_' || md5(random()::text || n), $3, $4, $4, 0, 5, 0, 0, 0, 0, 0, 'PAY'
  FROM generate_series(1, $2) AS n""" + (" RETURNING id, client_secret" if returning else "")


def seed_ledger_sql() -> str:
    """$2 CHARGE rows of merchant $1 over the last 30 days, each available 2 days after it
    (so the last 2 days' are pending, as for a merchant taking payments every day)."""
    return f"""INSERT INTO {LEDGER_TABLE} (id, merchant_id, type, amount, fee, net, currency,
  available_on, created_at, payment_intent_id)
  SELECT 'txn_' || substr(md5(random()::text || n), 1, 24), $1, 'CHARGE', 1000,
    {fee(1000)}, {1000 - fee(1000)}, 'USD', at + interval '2 days', at, NULL
  FROM generate_series(1, $2) AS n,
       LATERAL (SELECT now() - interval '30 days' * (1 - n::float / $2) AS at) AS moment"""


def seed_totals_sql() -> str:
    """The merchant's running totals, as the gateway would have kept them: sums of `net`."""
    return f"""INSERT INTO {TOTALS_TABLE} (id, merchant_id, currency, net)
  SELECT $1 || ':' || currency, $1, currency, sum(net) FROM {LEDGER_TABLE}
  WHERE merchant_id = $1 GROUP BY currency
  ON CONFLICT (id) DO UPDATE SET net = excluded.net"""


def seed_pending_sql() -> str:
    """The merchant's pending buckets, as the gateway would have kept them: sums of `net`
    per currency and hour of `available_on`."""
    return f"""INSERT INTO {PENDING_TABLE} (id, merchant_id, currency, available_hour, net)
  SELECT $1 || ':' || currency || ':' || extract(epoch FROM hour)::bigint, $1, currency, hour,
         sum(net)
  FROM (SELECT currency, net, date_trunc('hour', available_on AT TIME ZONE 'UTC')
                              AT TIME ZONE 'UTC' AS hour
        FROM {LEDGER_TABLE} WHERE merchant_id = $1) AS row
  GROUP BY currency, hour
  ON CONFLICT (id) DO UPDATE SET net = excluded.net"""


def utc_now() -> datetime:
    return datetime.now(UTC)
