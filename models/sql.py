"""Every SQL string and every use of Tortoise's private API, here and in its sibling
delivery_sql.py (the delivery pump's batch claim and record).

The hot paths write in single statements on PostgreSQL (data-modifying CTEs, SKIP LOCKED)
and take plain Tortoise on SQLite; the choice is made here, never in a resolver. Private API
used (each with a test in tests/models/test_sql.py that breaks if an upgrade changes it):
`Model._choose_db`, `Model._init_from_db`, `Model._saved_in_db`, and `_meta`'s
`fields_db_projection`, `fields_map`, `db_table`, `db_pk_column`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from core import endpoints, metrics, security
from core.names import EventType
from core.validation import is_well_formed_id
from models.db import is_postgres
from models.events import Event
from models.money import BalanceTotal
from models.payment_intents import IntentStatus, PaymentIntent
from models.webhooks import EndpointDelivery, EndpointStatus, PairState, WebhookEndpoint

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


@dataclass(frozen=True)
class AddTo:
    """Add `net` to a running sum of a merchant's currency, creating it at `net`: one upsert,
    written with the ledger rows it sums (CONTRACT §13). The parts of one statement do not
    see each other's changes, so a write holds one per sum (per `key`)."""

    merchant_id: str
    currency: str
    net: int

    table = ""

    @property
    def key(self) -> str:
        return f"{self.merchant_id}:{self.currency}"

    def columns(self) -> dict[str, Any]:
        return {"id": self.key, "merchant_id": self.merchant_id, "currency": self.currency,
                "net": self.net}


@dataclass(frozen=True)
class AddToTotal(AddTo):
    """To the running total of the merchant's currency (models.money.BalanceTotal)."""

    table = "balance_totals"


@dataclass(frozen=True)
class AddToPending(AddTo):
    """To the merchant's currency's bucket of the hour `available_hour` starts
    (models.money.BalancePending)."""

    available_hour: datetime = field(kw_only=True)

    table = "balance_pending"

    @property
    def key(self) -> str:
        return f"{super().key}:{int(self.available_hour.timestamp())}"

    def columns(self) -> dict[str, Any]:
        return {**super().columns(), "available_hour": self.available_hour}


def _add_to(write: AddTo, source: str) -> str:
    """The upsert of `write` (a total or a pending bucket) from `source` (VALUES or SELECT)."""
    return (f"INSERT INTO {write.table} ({', '.join(write.columns())}) {source} "
            f"ON CONFLICT (id) DO UPDATE SET net = {write.table}.net + excluded.net")


async def write_together(*writes: Model | Update | AddTo) -> None:
    """Insert new rows (unsaved models) and apply updates, atomically.

    On PostgreSQL one statement carries them all, each write but the last in a CTE: one
    round trip, where a transaction costs BEGIN, one per write and COMMIT (each round trip is
    a system call or two on either side). Elsewhere, a transaction. Values are converted by
    each model's own fields, so what is stored is what Tortoise would store; inside a
    transaction the statement joins it. Each write must touch a different row: the parts of
    one statement do not see each other's changes.

    Every event among the writes gets its webhook deliveries in the same statement (or
    transaction): one per endpoint of its merchant it is meant for (`_fan_out`), so an event
    is owed to exactly the endpoints that existed when it was written, at no extra round trip.
    """
    connection = _connection(writes[0])
    if not is_postgres(connection):
        async with in_transaction():
            for write in writes:
                await _write_with_tortoise(write)
            await _fan_out_with_tortoise(_events(writes))
    else:
        values: list[Any] = []
        statements = [_statement(write, values) for write in writes]
        statements += [_fan_out(event, values) for event in _events(writes)]
        *earlier, last = statements
        await connection.execute_query(_with(earlier, last), values)
        _mark_saved(writes)
    _count_events(writes)


async def write_if(guard: Update, *inserts: Model | Update | AddTo) -> bool:
    """Apply `guard` and insert `inserts` (or apply further updates and totals) if the
    guarded row still holds `guard.expect`; otherwise write nothing and return False. All or
    none, one round trip on PostgreSQL."""
    connection = _connection(guard)
    if not is_postgres(connection):
        async with in_transaction():
            if not await _write_with_tortoise(guard):
                return False
            for row in inserts:
                await _write_with_tortoise(row)
            await _fan_out_with_tortoise(_events(inserts))
        _count_events(inserts)
        return True
    values: list[Any] = []
    written = "EXISTS (SELECT 1 FROM w0)"
    ctes = [_statement(guard, values) + " RETURNING 1"]
    ctes += [_statement(row, values, only_if=written) for row in inserts]
    ctes += [_fan_out(event, values, only_if=written) for event in _events(inserts)]
    rows = await connection.execute_query_dict(
        _with(ctes, "SELECT count(*) AS written FROM w0"), values)
    _mark_saved(inserts)
    written = rows[0]["written"] == 1
    if written:
        _count_events(inserts)
    return written


def _events(writes: tuple[Model | Update, ...]) -> list[Event]:
    return [write for write in writes if isinstance(write, Event)]


# --- an event's webhook deliveries: one per endpoint it is meant for (CONTRACT §14) ----------
# `endpoints.meant_for` in SQL: the endpoint takes every event ("*") or this type, and is not
# the one a `webhook_endpoint.disabled` event is about. A disabled endpoint's share is held.
MEANT_FOR_SQL = ("endpoint.enabled_events ?| array['*', {type}::text] "
                 "AND endpoint.id IS DISTINCT FROM {excluded}::text")
PAIR_COLUMNS = ("event_id, endpoint_id, state, attempt_count, retry_base, next_attempt_at")
PAIR_VALUES = (f"CASE WHEN endpoint.status = '{EndpointStatus.ENABLED.value}' "
               f"THEN '{PairState.PENDING.value}' ELSE '{PairState.HELD.value}' END, 0, 0, "
               f"CASE WHEN endpoint.status = '{EndpointStatus.ENABLED.value}' "
               f"THEN {{due}}::timestamptz END")


# The lock the deliveries' foreign key takes anyway, taken while choosing the endpoints: an
# endpoint deleted by a transaction that commits meanwhile is then skipped (READ COMMITTED
# re-checks a locked row), where the foreign key would fail the whole payment's statement.
SKIP_DELETED = "FOR KEY SHARE OF endpoint"


def _fan_out(event: Event, values: list[Any], only_if: str | None = None) -> str:
    """The INSERT … SELECT of an event's deliveries, from its merchant's endpoints."""
    event_id, merchant_id = _mark(values, event.id), _mark(values, event.merchant_id)
    meant_for = MEANT_FOR_SQL.format(
        type=_mark(values, event.type),
        excluded=_mark(values, endpoints.excluded_endpoint(event.type, event.object_id)))
    due = _mark(values, event.created_at)
    return (f"INSERT INTO endpoint_deliveries ({PAIR_COLUMNS}) "
            f"SELECT {event_id}, endpoint.id, {PAIR_VALUES.format(due=due)} "
            f"FROM webhook_endpoints AS endpoint WHERE endpoint.merchant_id = {merchant_id} "
            f"AND {meant_for}" + (f" AND {only_if}" if only_if else "") + f" {SKIP_DELETED}")


async def _fan_out_with_tortoise(events: list[Event]) -> None:
    """`_fan_out` in Python, inside the caller's transaction (SQLite: one writer at a time,
    so the endpoints read are those that exist when the event is written)."""
    if not events:
        return
    rows = await WebhookEndpoint.filter(
        merchant_id__in={event.merchant_id for event in events}).values(
        "id", "merchant_id", "enabled_events", "status")
    pairs = [new_pair(event, row["id"], row["status"], event.created_at)
             for event in events for row in rows
             if row["merchant_id"] == event.merchant_id and endpoints.meant_for(
                 row["id"], row["enabled_events"], event.type, event.object_id)]
    if pairs:
        await EndpointDelivery.bulk_create(pairs)


def new_pair(event: Event, endpoint_id: str, status: str, due: datetime) -> EndpointDelivery:
    enabled = status == EndpointStatus.ENABLED
    return EndpointDelivery(event_id=event.id, endpoint_id=endpoint_id,
                            state=(PairState.PENDING if enabled else PairState.HELD).value,
                            attempt_count=0, retry_base=0,
                            next_attempt_at=due if enabled else None)


def _count_events(writes: tuple[Model | Update, ...]) -> None:
    """The one place events are counted (gateway_events_total): every event is written
    through here or by `expire_batch`'s statement, but the webhook test's (resolvers/webhooks)."""
    metrics.count_events(write.type for write in writes if isinstance(write, Event))


def _connection(write: Model | Update | AddTo) -> Any:
    if isinstance(write, AddTo):
        return BalanceTotal._choose_db(for_write=True)
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


async def _write_with_tortoise(write: Model | Update | AddTo) -> int:
    if isinstance(write, AddTo):
        values = list(write.columns().values())
        await _connection(write).execute_query(
            _add_to(write, f"VALUES ({', '.join('?' for _ in values)})"), values)
        return 1
    if isinstance(write, Update):
        return await write.model.filter(pk=write.pk, **write.expect).update(**write.changes)
    await write.save(force_create=True)
    return 1


def _statement(write: Model | Update, values: list[Any], only_if: str | None = None) -> str:
    """The write's SQL, its values appended to `values` ($n numbered on from theirs). An
    insert with `only_if` inserts nothing unless that condition holds."""
    if isinstance(write, AddTo):
        marks = ", ".join(_mark(values, value) for value in write.columns().values())
        where = f" WHERE {only_if}" if only_if else ""
        return _add_to(write, f"SELECT {marks}{where}")
    if isinstance(write, Update):
        return _update_statement(write, values, only_if)
    meta = write._meta
    columns = ", ".join(meta.fields_db_projection.values())
    marks = ", ".join(_mark(values, meta.fields_map[name].to_db_value(getattr(write, name), write))
                      for name in meta.fields_db_projection)
    if only_if:
        return f"INSERT INTO {meta.db_table} ({columns}) SELECT {marks} WHERE {only_if}"
    return f"INSERT INTO {meta.db_table} ({columns}) VALUES ({marks})"


def _update_statement(update: Update, values: list[Any], only_if: str | None = None) -> str:
    meta = update.model._meta

    def assign(changes: dict[str, Any], separator: str) -> str:
        return separator.join(
            f"{meta.fields_db_projection[name]} = "
            f"{_mark(values, meta.fields_map[name].to_db_value(value, update.model))}"
            for name, value in changes.items())

    where = f"{meta.db_pk_column} = {_mark(values, meta.pk.to_db_value(update.pk, update.model))}"
    if update.expect:
        where += " AND " + assign(update.expect, " AND ")
    if only_if:
        where += f" AND {only_if}"
    return f"UPDATE {meta.db_table} SET {assign(update.changes, ', ')} WHERE {where}"


def _mark(values: list[Any], value: Any) -> str:
    values.append(value)
    return f"${len(values)}"


# --- the webhook delivery's claim -----------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A delivery whose lease this process holds: the pair, its event and its endpoint."""

    pair: EndpointDelivery
    event: Event
    endpoint: WebhookEndpoint


# What a claim returns (this one, and the delivery pump's, models/delivery_sql.py): the pair,
# its event and its endpoint, read by `claimed_from_row`.
CLAIM_RETURNING = """
RETURNING pair.id AS pair_id, pair.attempt_count AS pair_attempt_count,
          pair.retry_base AS pair_retry_base, event.*, endpoint.id AS endpoint_id,
          endpoint.url AS endpoint_url,
          endpoint.status AS endpoint_status, endpoint.secret AS endpoint_secret,
          endpoint.previous_secret AS endpoint_previous_secret,
          endpoint.previous_secret_until AS endpoint_previous_secret_until,
          endpoint.failing_since AS endpoint_failing_since
"""
# On PostgreSQL the claim and the read of what the deliveries need are one statement.
# $1 the lease, $2 the event, $3 one endpoint (NULL: every one), $4 due by, $5 now.
CLAIM_AND_READ = f"""
UPDATE endpoint_deliveries AS pair SET lease_until = $1
FROM events AS event, webhook_endpoints AS endpoint
WHERE pair.event_id = $2 AND ($3::text IS NULL OR pair.endpoint_id = $3::text)
  AND event.id = pair.event_id AND endpoint.id = pair.endpoint_id
  AND pair.state = '{PairState.PENDING.value}' AND pair.next_attempt_at <= $4
  AND (pair.lease_until IS NULL OR pair.lease_until < $5)
{CLAIM_RETURNING}"""
ENDPOINT_COLUMNS = ("url", "status", "secret", "previous_secret", "previous_secret_until",
                    "failing_since")


async def claim_deliveries(event_id: str, endpoint_id: str | None, moment: datetime,
                           lease: datetime, due: datetime) -> list[Claimed]:
    """Take the lease (until `lease`) of the event's deliveries (or of its one delivery to
    `endpoint_id`) that are due by `due` and that nobody holds at `moment`."""
    connection = EndpointDelivery._choose_db(for_write=True)
    if is_postgres(connection):
        rows = await connection.execute_query_dict(
            CLAIM_AND_READ, [lease, event_id, endpoint_id, due, moment])
        return [claimed_from_row(row) for row in rows]
    query = EndpointDelivery.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=moment), event_id=event_id,
        state=PairState.PENDING.value, next_attempt_at__lte=due)
    if endpoint_id is not None:
        query = query.filter(endpoint_id=endpoint_id)
    async with in_transaction():  # one writer: what is read is what was claimed
        pairs = await query.select_related("event", "endpoint")
        await EndpointDelivery.filter(id__in=[pair.id for pair in pairs]).update(
            lease_until=lease)
    return [Claimed(pair, pair.event, pair.endpoint) for pair in pairs]


def claimed_from_row(row: dict[str, Any]) -> Claimed:
    event = Event._init_from_db(**{column: row[column]
                                   for column in Event._meta.fields_db_projection.values()})
    endpoint = WebhookEndpoint._init_from_db(
        id=row["endpoint_id"],
        **{column: row[f"endpoint_{column}"] for column in ENDPOINT_COLUMNS})
    pair = EndpointDelivery._init_from_db(
        id=row["pair_id"], event_id=event.id, endpoint_id=endpoint.id, state=PairState.PENDING,
        attempt_count=row["pair_attempt_count"], retry_base=row["pair_retry_base"])
    return Claimed(pair, event, endpoint)


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
# $5 and $6 the expiry's status and reason, $7 the event type. The events' delivery_state is
# only a hint (models.events); their deliveries are written here too, as `_fan_out` would.
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
           jsonb_build_object('object', {INTENT_SNAPSHOT_SQL}), $1, 'NONE', 0, 0, NULL
    FROM numbered AS x
    RETURNING id, merchant_id, object_id
), owed AS (  -- `_fan_out` for the whole batch
    INSERT INTO endpoint_deliveries ({PAIR_COLUMNS})
    SELECT written.id, endpoint.id, {PAIR_VALUES.format(due="$1")}
    FROM written JOIN webhook_endpoints AS endpoint ON endpoint.merchant_id = written.merchant_id
    WHERE {MEANT_FOR_SQL.format(type="$7", excluded="NULL")}
    {SKIP_DELETED}
    RETURNING event_id, state
)
SELECT (SELECT count(*) FROM expired) AS expired,
       (SELECT max(expires_at) FROM expired) AS last,
       coalesce((SELECT array_agg(DISTINCT event_id) FROM owed
                 WHERE state = '{PairState.PENDING.value}'), '{{}}') AS owed
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
    """(Event, endpoint) deliveries due and not delivered: one COUNT over the index
    (state, next_attempt_at)."""
    return await EndpointDelivery.filter(state=PairState.PENDING.value,
                                         next_attempt_at__lte=moment).count()


# --- money (CONTRACT §13): balances from the running totals -----------------------------------
# One statement, so the total and the pending part come from one snapshot. Pending is the
# buckets of the hours after the current one (models.money.BalancePending: as many rows as
# hours in the settlement window) plus the ledger rows of the current hour still ahead (a range
# of the index (merchant_id, available_on) at most an hour long), never the whole window.
BALANCE = """
SELECT total.currency AS currency, total.net AS total,
       coalesce((SELECT sum(bucket.net) FROM balance_pending AS bucket
                 WHERE bucket.merchant_id = total.merchant_id
                   AND bucket.currency = total.currency
                   AND bucket.available_hour > {hour}), 0)
       + coalesce((SELECT sum(row.net) FROM balance_transactions AS row
                   WHERE row.merchant_id = total.merchant_id AND row.currency = total.currency
                     AND row.available_on > {moment} AND row.available_on < {next_hour}), 0)
       AS pending
FROM balance_totals AS total WHERE total.merchant_id = {merchant} {currency}
ORDER BY total.currency
"""
LOCK_TOTAL = "SELECT id FROM balance_totals WHERE id = $1 FOR UPDATE"


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    total: int  # the sum of net over the ledger
    pending: int

    @property
    def available(self) -> int:
        return self.total - self.pending


async def balances(merchant_id: str, moment: datetime,
                   currency: str | None = None) -> list[CurrencyBalance]:
    """Each currency's total and pending part (of one currency, if given)."""
    connection = BalanceTotal._choose_db()
    postgres = is_postgres(connection)
    marks = [f"${n}" if postgres else "?" for n in range(1, 6)]
    sql = BALANCE.format(hour=marks[0], moment=marks[1], next_hour=marks[2], merchant=marks[3],
                         currency=f"AND total.currency = {marks[4]}" if currency else "")
    hour = hour_of(moment)
    values: list[Any] = [hour, moment, hour + HOUR, merchant_id]
    rows = await connection.execute_query_dict(sql, values + ([currency] if currency else []))
    return [CurrencyBalance(row["currency"], int(row["total"]), int(row["pending"]))
            for row in rows]


HOUR = timedelta(hours=1)


def hour_of(moment: datetime) -> datetime:
    """The start of the hour `moment` falls in (UTC): its pending bucket."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def lock_total(merchant_id: str, currency: str) -> None:
    """Hold the merchant's running total of `currency` until the transaction ends, so payouts
    of it happen one at a time (PostgreSQL; SQLite has one writer)."""
    connection = BalanceTotal._choose_db(for_write=True)
    if is_postgres(connection):
        await connection.execute_query(LOCK_TOTAL, [AddToTotal(merchant_id, currency, 0).key])


async def ledger_sums() -> list[dict[str, Any]]:
    """For the ledger's invariant (tests): per merchant and currency, the running total and
    the sum of net over the rows."""
    connection = BalanceTotal._choose_db()
    rows = await connection.execute_query_dict(
        "SELECT total.merchant_id AS merchant_id, total.currency AS currency, "
        "total.net AS total, (SELECT coalesce(sum(row.net), 0) FROM balance_transactions AS row"
        " WHERE row.merchant_id = total.merchant_id AND row.currency = total.currency) AS summed"
        " FROM balance_totals AS total")
    return [{**row, "total": int(row["total"]), "summed": int(row["summed"])} for row in rows]


async def pending_summed(merchant_id: str, moment: datetime) -> dict[str, int]:
    """For the ledger's invariant (tests): per currency, the sum of net over the merchant's
    rows still ahead of `moment`, from the ledger alone (what the buckets must agree with)."""
    connection = BalanceTotal._choose_db()
    first, second = ("$1", "$2") if is_postgres(connection) else ("?", "?")
    rows = await connection.execute_query_dict(
        "SELECT currency, coalesce(sum(net), 0) AS pending FROM balance_transactions "
        f"WHERE merchant_id = {first} AND available_on > {second} GROUP BY currency",
        [merchant_id, moment])
    return {row["currency"]: int(row["pending"]) for row in rows}
