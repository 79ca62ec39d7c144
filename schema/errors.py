"""Every top-level error leaves with `extensions.code`; unexpected ones are masked and logged."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from core.errors import ErrorCode, RequestError, UserError, service_unavailable
from core.requests import current_request_id
from models.db import is_connection_error

log = logging.getLogger("gateway.graphql")

MASKED_MESSAGE = "Internal server error"
# What strawberry's document limiters say; they report plain GraphQLErrors.
LIMIT_MESSAGES = ("exceeds maximum operation depth", "aliases found. Allowed",
                  "Document contains more than")


def coded(error: GraphQLError) -> dict[str, Any]:
    """The client's view of one error: message, locations, path, a code and the request's
    id (CONTRACT §16)."""
    original = error.original_error
    code, message, extra = _classify(error, original)
    formatted = error.formatted
    formatted["message"] = message
    formatted["extensions"] = {**(formatted.get("extensions") or {}), **extra, "code": code.value,
                               **request_id_extension()}
    return formatted


def request_id_extension() -> dict[str, str]:
    """`{"requestId": …}` while a request is served, else nothing."""
    request_id = current_request_id()
    return {"requestId": request_id} if request_id else {}


def _classify(error: GraphQLError, original: BaseException | None
              ) -> tuple[ErrorCode, str, dict[str, Any]]:
    if isinstance(original, RequestError):
        return original.code, original.message, original.extensions
    if isinstance(original, UserError):
        return original.code, original.message, \
            {"field": list(original.field)} if original.field else {}
    if is_connection_error(original):  # the database or Redis failed (CONTRACT §16)
        unavailable = service_unavailable()
        return unavailable.code, unavailable.message, unavailable.extensions
    if original is not None and not isinstance(original, GraphQLError):
        return ErrorCode.INTERNAL_SERVER_ERROR, MASKED_MESSAGE, {}
    if any(marker in error.message for marker in LIMIT_MESSAGES):
        return ErrorCode.QUERY_TOO_COMPLEX, error.message, {}
    if isinstance(error, GraphQLSyntaxError):
        return ErrorCode.GRAPHQL_PARSE_FAILED, error.message, {}
    return ErrorCode.GRAPHQL_VALIDATION_FAILED, error.message, {}


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(
        original, (RequestError, UserError, GraphQLError))


def log_unexpected(errors: list[GraphQLError]) -> None:
    """A bug is an ERROR with its traceback; a failed database or Redis connection (answered
    SERVICE_UNAVAILABLE) is a WARNING naming the failure: an incident, not a bug."""
    for error in errors:
        if not is_unexpected(error):
            continue
        where = ".".join(map(str, error.path or []))
        if is_connection_error(error.original_error):
            log.warning("connection failure in %s: %s: %s", where,
                        type(error.original_error).__name__, error.original_error)
        else:
            log.error("unhandled error in %s", where, exc_info=error.original_error)
