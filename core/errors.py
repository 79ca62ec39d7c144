"""The one list of failure codes (CONTRACT §5) and the two ways a failure travels.

`UserError`: the operation ran and was refused for a reason the caller can act on; it lands in
a mutation payload's `userErrors`. `RequestError`: the operation did not run at all; it lands in
the top-level `errors` with `extensions.code`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorCode(str, Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_CLIENT_SECRET = "INVALID_CLIENT_SECRET"
    NOT_FOUND = "NOT_FOUND"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    INTENT_EXPIRED = "INTENT_EXPIRED"
    MAX_ATTEMPTS_REACHED = "MAX_ATTEMPTS_REACHED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_ALREADY_COMPLETED = "PAYMENT_ALREADY_COMPLETED"
    INVALID_STATE = "INVALID_STATE"
    RATE_LIMITED = "RATE_LIMITED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class UserError(Exception):
    """A refusal the caller can act on. `field` is the path inside the mutation's input."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | tuple[str, ...] | None = None,
        result: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field: tuple[str, ...] | None = (field,) if isinstance(field, str) else field
        self.result = result  # what the payload still carries (e.g. the declined intent)


class RequestError(Exception):
    """The operation did not run: authentication, permission, rate limits."""

    def __init__(self, code: ErrorCode, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extensions = extensions


def invalid(field: str | tuple[str, ...], message: str) -> UserError:
    return UserError(ErrorCode.VALIDATION_ERROR, message, field)


def not_found(what: str = "Object") -> UserError:
    return UserError(ErrorCode.NOT_FOUND, f"{what} not found")


def unauthenticated(message: str = "Authentication required") -> RequestError:
    return RequestError(ErrorCode.UNAUTHENTICATED, message)


def forbidden(message: str = "Your role does not allow this") -> RequestError:
    return RequestError(ErrorCode.FORBIDDEN, message)


# How long a client should wait before retrying after SERVICE_UNAVAILABLE (CONTRACT §16).
UNAVAILABLE_RETRY_AFTER_SECONDS = 1


def service_unavailable() -> RequestError:
    """The database or Redis failed under the request, even after a retry (CONTRACT §16)."""
    return RequestError(ErrorCode.SERVICE_UNAVAILABLE,
                        "The service is briefly unavailable; retry shortly",
                        retryAfter=UNAVAILABLE_RETRY_AFTER_SECONDS)
