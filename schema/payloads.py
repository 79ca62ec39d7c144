"""Mutation payloads and the one way a resolver's outcome becomes a payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from core.errors import UserError as DomainUserError
from schema.enums import ErrorCode

P = TypeVar("P")


@strawberry.type(name="UserError", description=(
    "Why a mutation refused to do what was asked. The payload's result is then null, except "
    "where its description says otherwise."))
class UserErrorType:
    code: ErrorCode = strawberry.field(description="What went wrong, for code to act on.")
    field: list[str] | None = strawberry.field(description=(
        'The path to the faulty value in the arguments, e.g. ["input", "amount"]; null when '
        "no single value is at fault."))
    message: str = strawberry.field(description="What went wrong, for people (English).")

    @staticmethod
    def of(error: DomainUserError) -> UserErrorType:
        path = ["input", *error.field] if error.field else None
        return UserErrorType(code=error.code, field=path, message=error.message)


async def payload(payload_type: type[P], action: Awaitable[Any],
                  build: Callable[[Any], dict[str, Any]]) -> P:
    """Run a resolver: its result fills the payload, a UserError fills `userErrors`.

    A refusal may still carry a result (a declined payment returns the intent too).
    """
    try:
        result = await action
    except DomainUserError as error:
        fields = build(error.result) if error.result is not None else {}
        return payload_type(user_errors=[UserErrorType.of(error)], **fields)
    return payload_type(user_errors=[], **build(result))
