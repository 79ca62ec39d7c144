"""`GET /reports/balance-transactions.csv` (CONTRACT §13): a merchant's balance transactions,
newest first, streamed as CSV in constant memory (pages of rows walked by their keyset, each
page a query of its own), with the authorization of the `balanceTransactions` query.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from core.errors import ErrorCode, RequestError, UserError
from core.ratelimit import Verdict
from models.money import BalanceTransaction, TransactionType
from resolvers import paging
from resolvers.access import Caller
from resolvers.events import iso
from resolvers.money import balance

HEADER = ["id", "type", "amount", "fee", "net", "currency", "created_at", "available_on",
          "payment_intent_id", "refund_id", "dispute_id", "payout_id", "description"]
BATCH = 1000
STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404,
          ErrorCode.VALIDATION_ERROR: 400, ErrorCode.RATE_LIMITED: 429,
          ErrorCode.SERVICE_UNAVAILABLE: 503}

Authenticate = Callable[[Request], Awaitable[Caller]]
RateVerdict = Callable[[Request], Awaitable[Verdict]]  # the API's limits, per IP and per key


def line(row: BalanceTransaction) -> list[str]:
    values = [row.id, TransactionType(row.type).value, row.amount,
              row.fee, row.net, row.currency, iso(row.created_at), iso(row.available_on),
              row.payment_intent_id, row.refund_id, row.dispute_id, row.payout_id,
              row.description]
    return ["" if value is None else str(value) for value in values]


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


async def stream(merchant_id: str, given: balance.TransactionFilter) -> AsyncIterator[str]:
    yield _csv([HEADER])
    after: str | None = None
    while True:
        rows = await paging.keyset(balance.filtered(merchant_id, given), after).limit(BATCH)
        if rows:
            yield _csv([line(row) for row in rows])
        if len(rows) < BATCH:
            return
        after = paging.cursor_of(rows[-1])


def _moment(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(ErrorCode.VALIDATION_ERROR, f"{name}: not an ISO 8601 time") from None


EXPORTS_AT_ONCE = 2  # a merchant's exports streaming at once, per API process


class Running:
    """The exports streaming now, per merchant: an export reads up to the whole ledger, so a
    merchant gets a few at once, not one per request its rate limit allows."""

    def __init__(self, limit: int = EXPORTS_AT_ONCE) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}

    def claim(self, merchant_id: str) -> bool:
        if self.counts.get(merchant_id, 0) >= self.limit:
            return False
        self.counts[merchant_id] = self.counts.get(merchant_id, 0) + 1
        return True

    def release(self, merchant_id: str) -> None:
        left = self.counts.pop(merchant_id, 1) - 1
        if left > 0:
            self.counts[merchant_id] = left


class ExportResponse(StreamingResponse):
    """The CSV stream; `done` runs once it has been sent, failed or been abandoned by the
    client, whether or not the stream ever started."""

    def __init__(self, rows: AsyncIterator[str], done: Callable[[], None]) -> None:
        super().__init__(rows, media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="balance-transactions.csv"',
            "Cache-Control": "no-store"})
        self.done = done

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.done()


def report_routes(authenticate: Authenticate, rate_verdict: RateVerdict,
                  running: Running | None = None) -> list[Route]:
    """The report routes, counted against the same per-IP and per-key limits as GraphQL
    (an export reads up to the whole ledger: it is no way around them), and at most
    EXPORTS_AT_ONCE of a merchant's exports at once."""
    running = running or Running()

    async def balance_transactions(request: Request) -> Response:
        verdict = await rate_verdict(request)
        if verdict.retry_after:
            return PlainTextResponse(
                f"{ErrorCode.RATE_LIMITED.value}: Too many requests; slow down\n",
                status_code=429, headers={**verdict.headers(),
                                          "Retry-After": str(verdict.retry_after)})
        response = await export(request)
        response.headers.update(verdict.headers())
        return response

    async def export(request: Request) -> Response:
        try:
            caller = await authenticate(request)
            caller.require_authenticated()
            given = balance.TransactionFilter(
                created_after=_moment(request, "created_after"),
                created_before=_moment(request, "created_before"))
            merchant_id = await paging.list_merchant_id(
                caller, request.query_params.get("merchant_id"), balance.READ)
            balance.filtered(merchant_id, given)  # checks the times before streaming
        except (UserError, RequestError) as error:
            return PlainTextResponse(f"{error.code.value}: {error.message}\n",
                                     status_code=STATUS.get(error.code, 400))
        if not running.claim(merchant_id):
            return PlainTextResponse(
                f"{ErrorCode.RATE_LIMITED.value}: {running.limit} exports of this merchant are "
                "already running; try again when one ends\n",
                status_code=429, headers={"Retry-After": "1"})
        return ExportResponse(stream(merchant_id, given),
                              done=lambda: running.release(merchant_id))

    return [Route("/balance-transactions.csv", balance_transactions, methods=["GET"])]
