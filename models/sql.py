"""Every SQL string and every use of Tortoise's private API, in one place.

The hot paths write in single statements on PostgreSQL (data-modifying CTEs, SKIP LOCKED)
and take plain Tortoise on SQLite; the choice is made here, never in a resolver. Private API
used (each with a test in tests/models/test_sql.py that breaks if an upgrade changes it):
`Model._choose_db`, `Model._init_from_db`, `Model._saved_in_db`, and `_meta`'s
`fields_db_projection`, `fields_map`, `db_table`, `db_pk_column`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from core import metrics, security
from core.names import EventType
from core.validation import is_well_formed_id
from models.db import is_postgres
from models.events import DeliveryState, Event
from models.merchants import Merchant
from models.payment_intents import IntentStatus, PaymentIntent

M = TypeVar("M", bound=Model)


# --- reading one row by primary key ---------------------------------------------------------
# The hottest read, without Tortoise's query builder: building a query (pypika) costs more
# than the round trip it makes; the statement is the same each time, so the driver's
# prepared-statement cache serves it too. Rows become models through `_init_from_db`,
# exactly as Tortoise's queries make them.
async def by_pk(model: type[M], pk: str, *, for_update: bool = False) -> M | None:
    """The row, or None. `for_update` locks it until the transaction ends (PostgreSQL;
    SQLite has one writer at a time). A malformed id is no row: it never reaches the driver."""
    if not is_well_formed_id(pk):
        return None
    connection = model._choose_db(for_write=for_update)
    postgres = is_postgres(connection)
    meta = model._meta
    sql = f"SELECT * FROM {meta.db_table} WHERE {meta.db_pk_column} = {'$1' if postgres else '?'}"
    if for_update and postgres:
        sql += " FOR UPDATE"
    rows = await connection.execute_query_dict(sql, [pk])
    return model._init_from_db(**rows[0]) if rows else None


# --- writes that belong together ------------------------------------------------------------
@dataclass(frozen=True)
class Update:
    """Set `changes` on the row of `model` whose primary key is `pk`, if its columns still
    hold `expect` (a version number, say)."""

    model: type[Model]
    pk: Any
    changes: dict[str, Any]
    expect: dict[str, Any] = field(default_factory=dict)


async def write_together(*writes: Model | Update) -> None:
    """Insert new rows (unsaved models) and apply updates, atomically.

    On PostgreSQL one statement carries them all, each write but the last in a CTE: one
    round trip, where a transaction costs BEGIN, one per write and COMMIT (each round trip is
    a system call or two on either side). Elsewhere, a transaction. Values are converted by
    each model's own fields, so what is stored is what Tortoise would store; inside a
    transaction the statement joins it. Each write must touch a different row: the parts of
    one statement do not see each other's changes.
    """
    connection = _connection(writes[0])
    if not is_postgres(connection):
        async with in_transaction():
            for write in writes:
                await _write_with_tortoise(write)
    else:
        values: list[Any] = []
        *earlier, last = [_statement(write, values) for write in writes]
        await connection.execute_query(_with(earlier, last), values)
        _mark_saved(writes)
    _count_events(writes)


async def write_if(guard: Update, *inserts: Model) -> bool:
    """Apply `guard` and insert `inserts` if the guarded row still holds `guard.expect`;
    otherwise write nothing and return False. All or none, one round trip on PostgreSQL."""
    connection = _connection(guard)
    if not is_postgres(connection):
        async with in_transaction():
            if not await _write_with_tortoise(guard):
                return False
            for row in inserts:
                await row.save(force_create=True)
        _count_events(inserts)
        return True
    values: list[Any] = []
    ctes = [_statement(guard, values) + " RETURNING 1"]
    ctes += [_statement(row, values, only_if="EXISTS (SELECT 1 FROM w0)") for row in inserts]
    rows = await connection.execute_query_dict(
        _with(ctes, "SELECT count(*) AS written FROM w0"), values)
    _mark_saved(inserts)
    written = rows[0]["written"] == 1
    if written:
        _count_events(inserts)
    return written


def _count_events(writes: tuple[Model | Update, ...]) -> None:
    """The one place events are counted (gateway_events_total): every event is written
    through here or by `expire_batch`'s statement, but the webhook test's (resolvers/webhooks)."""
    metrics.count_events(write.type for write in writes if isinstance(write, Event))


def _connection(write: Model | Update) -> Any:
    model = write.model if isinstance(write, Update) else type(write)
    return model._choose_db(for_write=True)


def _with(ctes: list[str], last: str) -> str:
    if not ctes:
        return last
    return "WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(ctes)) + " " + last


def _mark_saved(writes: tuple[Model | Update, ...]) -> None:
    for write in writes:
        if isinstance(write, Model):
            write._saved_in_db = True


async def _write_with_tortoise(write: Model | Update) -> int:
    if isinstance(write, Update):
        return await write.model.filter(pk=write.pk, **write.expect).update(**write.changes)
    await write.save(force_create=True)
    return 1


def _statement(write: Model | Update, values: list[Any], only_if: str | None = None) -> str:
    """The write's SQL, its values appended to `values` ($n numbered on from theirs). An
    insert with `only_if` inserts nothing unless that condition holds."""
    if isinstance(write, Update):
        return _update_statement(write, values)
    meta = write._meta
    columns = ", ".join(meta.fields_db_projection.values())
    marks = ", ".join(_mark(values, meta.fields_map[name].to_db_value(getattr(write, name), write))
                      for name in meta.fields_db_projection)
    if only_if:
        return f"INSERT INTO {meta.db_table} ({columns}) SELECT {marks} WHERE {only_if}"
    return f"INSERT INTO {meta.db_table} ({columns}) VALUES ({marks})"


def _update_statement(update: Update, values: list[Any]) -> str:
    meta = update.model._meta

    def assign(changes: dict[str, Any], separator: str) -> str:
        return separator.join(
            f"{meta.fields_db_projection[name]} = "
            f"{_mark(values, meta.fields_map[name].to_db_value(value, update.model))}"
            for name, value in changes.items())

    where = f"{meta.db_pk_column} = {_mark(values, meta.pk.to_db_value(update.pk, update.model))}"
    if update.expect:
        where += " AND " + assign(update.expect, " AND ")
    return f"UPDATE {meta.db_table} SET {assign(update.changes, ', ')} WHERE {where}"


def _mark(values: list[Any], value: Any) -> str:
    values.append(value)
    return f"${len(values)}"


# --- the webhook delivery's claim -----------------------------------------------------------
# On PostgreSQL the claim and the read of what the delivery needs are one statement.
CLAIM_AND_READ = """
UPDATE events AS event SET lease_until = $1
FROM merchants AS merchant
WHERE event.id = $2 AND merchant.id = event.merchant_id AND event.delivery_state = 'PENDING'
  AND event.next_attempt_at <= $3 AND (event.lease_until IS NULL OR event.lease_until < $4)
RETURNING event.*, merchant.webhook_url, merchant.webhook_secret,
          merchant.previous_webhook_secret, merchant.previous_secret_expires_at
"""
MERCHANT_COLUMNS = ("webhook_url", "webhook_secret", "previous_webhook_secret",
                    "previous_secret_expires_at")


async def claim_delivery(event_id: str, moment: datetime, lease: datetime,
                         due: datetime) -> tuple[Event, Merchant] | None:
    """Take the event's lease (until `lease`) if it is due by `due` and nobody holds it at
    `moment`: the event and its merchant's webhook settings, or None."""
    connection = Event._choose_db(for_write=True)
    if is_postgres(connection):
        rows = await connection.execute_query_dict(CLAIM_AND_READ, [lease, event_id, due, moment])
        if not rows:
            return None
        row = rows[0]
        merchant = Merchant._init_from_db(
            id=row["merchant_id"], **{column: row[column] for column in MERCHANT_COLUMNS})
        return Event._init_from_db(**row), merchant
    claimed = await Event.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=moment), id=event_id,
        delivery_state=DeliveryState.PENDING, next_attempt_at__lte=due,
    ).update(lease_until=lease)
    if not claimed:
        return None
    event = await Event.get(id=event_id).select_related("merchant")
    return event, event.merchant


# --- the bulk expiry's batch on PostgreSQL -----------------------------------------------------
def _iso_sql(column: str) -> str:
    """`iso()` in PostgreSQL: UTC, microseconds only when there are any, and a Z."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (f"CASE WHEN {column} IS NOT NULL THEN to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN extract(microseconds FROM {column})::bigint % 1000000 = 0 THEN '' "
            f"ELSE to_char({utc}, '.US') END || 'Z' END")


# `intent_snapshot` in PostgreSQL, over a payment_intents row named x: the bulk expiry builds
# its events without fetching the rows. tests/contract/test_webhooks.py holds the two equal.
INTENT_SNAPSHOT_SQL = f"""jsonb_build_object(
    'id', x.id, 'object', 'payment_intent', 'merchant_id', x.merchant_id,
    'status', x.status, 'amount', x.amount, 'currency', x.currency,
    'capture_method', x.capture_method, 'description', x.description,
    'order_id', x.order_id, 'customer_email', x.customer_email, 'metadata', x.metadata,
    'success_url', x.success_url, 'cancel_url', x.cancel_url,
    'expires_at', {_iso_sql("x.expires_at")}, 'created_at', {_iso_sql("x.created_at")},
    'attempt_count', x.attempt_count, 'max_attempts', x.max_attempts,
    'amount_capturable', x.amount_capturable, 'amount_captured', x.amount_captured,
    'amount_refunded', x.amount_refunded,
    'card', CASE WHEN coalesce(x.card_last4, '') <> '' THEN jsonb_build_object(
        'brand', x.card_brand, 'last4', x.card_last4, 'exp_month', x.card_exp_month,
        'exp_year', x.card_exp_year) END,
    'last_payment_error', CASE WHEN coalesce(x.last_error_code, '') <> '' THEN
        jsonb_build_object('code', x.last_error_code, 'message', x.last_error_message) END,
    'line_items', x.line_items, 'locale', x.locale, 'submit_type', x.submit_type)"""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# $1 the moment, $2 where this lane's walk is (expires_at), $3 the batch size, $4 event ids,
# $5 and $6 the expiry's status and reason, $7 the event type.
# The due rows come off the partial index `payment_intents_due` (expires_at, over unpaid
# intents: migration 0002) in its order, so the LIMIT stops the scan early (ordering by id
# too would sort every overdue row, each batch). The status stays a literal: it is the
# index's predicate, which a parameter would hide from a generic plan. SKIP LOCKED leaves
# an intent being confirmed to its confirm.
EXPIRE_BATCH = f"""
WITH due AS (
    SELECT id FROM payment_intents
    WHERE status = 'AWAITING_PAYMENT_METHOD' AND expires_at <= $1 AND expires_at >= $2
    ORDER BY expires_at LIMIT $3
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE payment_intents AS intent
    SET status = $5, closed_at = $1, close_reason = $6,
        version = intent.version + 1, updated_at = $1
    FROM due WHERE intent.id = due.id
    RETURNING intent.*
), numbered AS (
    SELECT expired.*, row_number() OVER () AS n FROM expired
), written AS (
    INSERT INTO events (id, merchant_id, type, object_id, data, created_at, delivery_state,
                        attempt_count, retry_base, next_attempt_at)
    SELECT ($4::text[])[x.n], x.merchant_id, $7, x.id,
           jsonb_build_object('object', {INTENT_SNAPSHOT_SQL}), $1,
           CASE WHEN owed THEN 'PENDING' ELSE 'NONE' END, 0, 0, CASE WHEN owed THEN $1 END
    FROM numbered AS x
    JOIN (SELECT id, coalesce(webhook_url, '') <> '' AS owed FROM merchants) AS merchant
      ON merchant.id = x.merchant_id
    RETURNING id, next_attempt_at
)
SELECT (SELECT count(*) FROM expired) AS expired,
       (SELECT max(expires_at) FROM expired) AS last,
       coalesce((SELECT array_agg(id) FROM written WHERE next_attempt_at IS NOT NULL),
                '{{}}') AS owed
"""


ExpiredEventsWriter = Callable[[list[PaymentIntent], datetime], Awaitable[list[str]]]


async def expire_batch(expired: dict[str, Any], after: datetime | None, batch: int,
                       write_events: ExpiredEventsWriter) -> tuple[list[str], datetime | None]:
    """Expire up to `batch` due intents from `after` on, with their events: `expired` holds
    the expiry's fields (status, closed_at, close_reason: the state machine's own, from
    `decisions`). Returns the ids of the events owed a delivery, and where the next batch
    starts (None: nothing more is due).

    On PostgreSQL one statement locks (SKIP LOCKED), expires and writes the events; SQLite
    (no data-modifying CTEs, one writer) does the same with Tortoise, `write_events` building
    the events in Python.
    """
    moment = expired["closed_at"]
    async with in_transaction() as connection:
        if is_postgres(connection):
            event_ids = [security.new_id("evt") for _ in range(batch)]
            rows = await connection.execute_query_dict(EXPIRE_BATCH, [
                moment, after or EPOCH, batch, event_ids, IntentStatus(expired["status"]).value,
                expired["close_reason"], EventType.PAYMENT_INTENT_EXPIRED.value])
            result = rows[0]
            metrics.count_events([EventType.PAYMENT_INTENT_EXPIRED], times=result["expired"])
            return list(result["owed"]), (result["last"] if result["expired"] == batch else None)
        query = PaymentIntent.filter(status=IntentStatus.AWAITING_PAYMENT_METHOD,
                                     expires_at__lte=moment)
        if after is not None:
            query = query.filter(expires_at__gte=after)
        due = await query.order_by("expires_at").limit(batch)
        if not due:
            return [], None
        await PaymentIntent.filter(id__in=[intent.id for intent in due],
                                   status=IntentStatus.AWAITING_PAYMENT_METHOD).update(
            **expired, version=F("version") + 1, updated_at=moment)
        written = await write_events(due, moment)
    return written, (due[-1].expires_at if len(due) == batch else None)


# --- the webhook backlog (gateway_webhook_backlog) ------------------------------------------
async def webhook_backlog(moment: datetime) -> int:
    """Events due for delivery and not delivered: one COUNT over the index
    (delivery_state, next_attempt_at)."""
    return await Event.filter(delivery_state=DeliveryState.PENDING,
                              next_attempt_at__lte=moment).count()
