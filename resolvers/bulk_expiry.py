"""The bulk expiry's batch on PostgreSQL: one statement locks, expires and writes the events.

A backlog of 100,000 overdue intents (a worker fleet that was down for an hour) has to clear
in seconds. Fetching the rows, building the events in Python and sending them back costs more
than PostgreSQL's own work, so here no row crosses into Python: the statement builds each
event's payload with `events.INTENT_SNAPSHOT_SQL`, which a test holds equal to
`events.intent_snapshot`. Only the ids of events owed a delivery come back.

SQLite has no data-modifying CTEs and no SKIP LOCKED; it takes the generic path in
`payment_intents`, which does the same with Tortoise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core import security
from resolvers.events import INTENT_SNAPSHOT_SQL

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# $1 the moment, $2 where this lane's walk is (expires_at), $3 the batch size, $4 event ids.
# The due rows come off the (status, expires_at) index in its order, so the LIMIT stops the
# scan early (ordering by id too would sort every overdue row, each batch); SKIP LOCKED
# leaves an intent being confirmed to its confirm.
EXPIRE_BATCH = f"""
WITH due AS (
    SELECT id FROM payment_intents
    WHERE status = 'AWAITING_PAYMENT_METHOD' AND expires_at <= $1 AND expires_at >= $2
    ORDER BY expires_at LIMIT $3
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE payment_intents AS intent
    SET status = 'EXPIRED', closed_at = $1, close_reason = 'expired',
        version = intent.version + 1, updated_at = $1
    FROM due WHERE intent.id = due.id
    RETURNING intent.*
), numbered AS (
    SELECT expired.*, row_number() OVER () AS n FROM expired
), written AS (
    INSERT INTO events (id, merchant_id, type, object_id, data, created_at, delivery_state,
                        attempt_count, retry_base, next_attempt_at)
    SELECT ($4::text[])[x.n], x.merchant_id, 'payment_intent.expired', x.id,
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


async def expire_batch(connection: Any, moment: datetime, after: datetime | None,
                       batch: int) -> tuple[list[str], datetime | None]:
    """Expire up to `batch` due intents from `after` on. Returns the ids of the events owed a
    delivery, and where the next batch starts (None: nothing more is due)."""
    event_ids = [security.new_id("evt") for _ in range(batch)]
    rows = await connection.execute_query_dict(
        EXPIRE_BATCH, [moment, after or EPOCH, batch, event_ids])
    result = rows[0]
    return list(result["owed"]), (result["last"] if result["expired"] == batch else None)
