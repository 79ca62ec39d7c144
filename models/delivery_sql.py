"""The delivery pump's SQL: claim a batch of due deliveries across events in one statement,
and record a batch of attempts in one statement (PostgreSQL) or one transaction (SQLite).

Beside models/sql.py (its single-event claim, `CLAIM_AND_READ`; both return
`CLAIM_RETURNING`'s columns, so both make the same `Claimed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.db import is_postgres
from models.events import WebhookDelivery
from models.sql import CLAIM_RETURNING, Claimed, claimed_from_row
from models.webhooks import EndpointDelivery, PairState, WebhookEndpoint

# $1 the lease, $2 due by, $3 now, $4 how many. SKIP LOCKED: pairs another process is
# claiming at this moment are left to it, so no two claims ever return the same pair; a
# lease taken meanwhile is seen too (the locked row's condition is checked again).
CLAIM_DUE = f"""
WITH due AS (
  SELECT id FROM endpoint_deliveries
  WHERE state = '{PairState.PENDING.value}' AND next_attempt_at <= $2
    AND (lease_until IS NULL OR lease_until < $3)
  ORDER BY next_attempt_at LIMIT $4
  FOR UPDATE SKIP LOCKED)
UPDATE endpoint_deliveries AS pair SET lease_until = $1
FROM due, events AS event, webhook_endpoints AS endpoint
WHERE pair.id = due.id AND event.id = pair.event_id AND endpoint.id = pair.endpoint_id
{CLAIM_RETURNING}"""


async def claim_due(limit: int, moment: datetime, lease: datetime,
                    due: datetime) -> list[Claimed]:
    """Take the lease (until `lease`) of up to `limit` deliveries of any event that are due
    by `due` and that nobody holds at `moment`, the longest due first. Each claimed pair
    carries its lease in `lease_until`: the token its result is recorded under."""
    connection = EndpointDelivery._choose_db(for_write=True)
    if is_postgres(connection):
        rows = await connection.execute_query_dict(CLAIM_DUE, [lease, due, moment, limit])
        claimed = [claimed_from_row(row) for row in rows]
    else:
        async with in_transaction():  # one writer: what is read is what was claimed
            pairs = await EndpointDelivery.filter(
                Q(lease_until__isnull=True) | Q(lease_until__lt=moment),
                state=PairState.PENDING.value, next_attempt_at__lte=due,
            ).order_by("next_attempt_at").limit(limit).select_related("event", "endpoint")
            if pairs:
                await EndpointDelivery.filter(id__in=[pair.id for pair in pairs]).update(
                    lease_until=lease)
        claimed = [Claimed(pair, pair.event, pair.endpoint) for pair in pairs]
    for one in claimed:
        one.pair.lease_until = lease
    return claimed


@dataclass(frozen=True)
class PairResult:
    """A delivery's new state after an attempt (or a hold), written only while `lease` (the
    claim's) is still the pair's: a result that comes back after its lease lapsed and the
    pair was claimed again must not overwrite what the new holder writes."""

    pair_id: int
    lease: datetime
    state: str
    attempt_count: int
    next_attempt_at: datetime | None


ATTEMPT_COLUMNS = ("id", "event_id", "endpoint_id", "attempt", "url", "response_status",
                   "error", "succeeded", "latency_ms", "created_at", "next_retry_at")
ATTEMPT_TYPES = ("text", "text", "text", "int", "text", "int", "text", "bool", "int",
                 "timestamptz", "timestamptz")


def _unnest(types: tuple[str, ...], first: int) -> str:
    return "unnest(" + ", ".join(f"${first + n}::{kind}[]" for n, kind in enumerate(types)) + ")"


_PAIR_TYPES = ("bigint", "timestamptz", "text", "int", "timestamptz")
_PAIRS_FROM = len(ATTEMPT_TYPES) + 1
# Arrays, one per column: one statement whatever the batch's size, and always the same text
# (the driver's prepared-statement cache serves it).
RECORD = f"""
WITH attempts AS (
  INSERT INTO webhook_deliveries ({", ".join(ATTEMPT_COLUMNS)})
  SELECT * FROM {_unnest(ATTEMPT_TYPES, 1)})
UPDATE endpoint_deliveries AS pair
SET state = result.state, attempt_count = result.attempt_count,
    next_attempt_at = result.next_attempt_at, lease_until = NULL
FROM {_unnest(_PAIR_TYPES, _PAIRS_FROM)}
  AS result(id, lease, state, attempt_count, next_attempt_at)
WHERE pair.id = result.id AND pair.lease_until = result.lease
RETURNING pair.id
"""


async def record_results(attempts: list[WebhookDelivery], pairs: list[PairResult]) -> set[int]:
    """Insert the attempts and apply each pair's result if its lease is still the claim's,
    atomically. Returns the pairs updated (the others' leases had lapsed and been taken
    again)."""
    if not (attempts or pairs):
        return set()
    connection = EndpointDelivery._choose_db(for_write=True)
    if not is_postgres(connection):
        return await _record_with_tortoise(attempts, pairs)
    values: list[Any] = [[_db_value(row, column) for row in attempts]
                         for column in ATTEMPT_COLUMNS]
    values += [[pair.pair_id for pair in pairs], [pair.lease for pair in pairs],
               [pair.state for pair in pairs], [pair.attempt_count for pair in pairs],
               [pair.next_attempt_at for pair in pairs]]
    rows = await connection.execute_query_dict(RECORD, values)
    for row in attempts:
        row._saved_in_db = True
    return {row["id"] for row in rows}


async def set_failing(endpoint_id: str, since: datetime | None) -> None:
    """The endpoint's run of failures starts (`since`) or ends (None), if it has not already:
    one row, in a statement of its own (several endpoints in one statement, locked in
    whatever order, could deadlock with another worker's)."""
    await WebhookEndpoint.filter(id=endpoint_id, failing_since__isnull=since is not None) \
        .update(failing_since=since)


def _db_value(row: WebhookDelivery, column: str) -> Any:
    """As Tortoise would store it (the id and `created_at` are filled in on the way)."""
    return WebhookDelivery._meta.fields_map[column].to_db_value(getattr(row, column), row)


async def _record_with_tortoise(attempts: list[WebhookDelivery],
                                pairs: list[PairResult]) -> set[int]:
    updated = set()
    async with in_transaction():
        if attempts:
            await WebhookDelivery.bulk_create(attempts)
        for pair in pairs:
            if await EndpointDelivery.filter(id=pair.pair_id, lease_until=pair.lease).update(
                    state=pair.state, attempt_count=pair.attempt_count,
                    next_attempt_at=pair.next_attempt_at, lease_until=None):
                updated.add(pair.pair_id)
    return updated
