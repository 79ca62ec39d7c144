"""One retry of a GraphQL operation whose database or Redis connection failed (CONTRACT §16).

The rule: an operation is run again, once, on a fresh connection (the failed one was
terminated, see models/db.GuardedConnection) when its failure is a connection failure and
nothing it sent could have committed. A query is retried even after a write, because a
query's only writes are idempotent bookkeeping (an API key's or a session's last-used time).
A mutation that may have committed is not retried: it answers SERVICE_UNAVAILABLE, and the
client retries it with the same `idempotencyKey`, which returns the first result if there was
one (CONTRACT §9).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from graphql import OperationType, get_operation_ast, parse
from graphql.error import GraphQLError
from strawberry.types import ExecutionResult

from models.db import is_connection_error, watching_commits

log = logging.getLogger("gateway.faults")


async def execute_with_one_retry(execute: Callable[[], Awaitable[ExecutionResult]],
                                 document: str | None, operation_name: str | None
                                 ) -> ExecutionResult:
    """`execute()` once, and once more when its failure allows it (see the module)."""
    with watching_commits() as commits:
        result = await execute()
    if not failed_on_connection(result):
        return result
    if commits.may_have_committed and not is_query(document, operation_name):
        log.warning("connection failed under a mutation that may have committed: no retry")
        return result
    log.warning("connection failed under the operation: retrying it once")
    return await execute()


def failed_on_connection(result: ExecutionResult) -> bool:
    return any(is_connection_error(error.original_error) for error in result.errors or [])


def is_query(document: str | None, operation_name: str | None) -> bool:
    """Whether the document's operation is a query (parsed again: only on a failure)."""
    try:
        operation = get_operation_ast(parse(document or ""), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.QUERY
