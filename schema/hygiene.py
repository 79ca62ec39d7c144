"""The one text-hygiene rule, applied to every argument of every root field (CONTRACT §12.5).

Before any resolver runs, each string argument, at any depth of its input objects, lists and
JSON values, goes through `core.validation.text_problem`; each ID argument must be an id the
gateway could have made. A refusal is the field's answer:
- a mutation answers its payload with one `userErrors` entry naming the field
  (VALIDATION_ERROR; NOT_FOUND for a malformed id);
- a query whose result may be null answers null for a malformed id (not found), and a coded
  top-level error otherwise.
No resolver, and so no database, ever sees such a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.scalars import JSON
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.field import StrawberryField
from strawberry.types.maybe import Some
from strawberry.utils.await_maybe import await_maybe
from strawberry.utils.str_converters import to_camel_case

from core.errors import ErrorCode, UserError, invalid
from core.validation import FREE_TEXT_FIELDS, is_well_formed_id, text_problem
from schema.payloads import UserErrorType


@dataclass(frozen=True)
class Refusal:
    error: UserError
    malformed_id: bool


def _unwrap(field_type: Any) -> Any:
    while isinstance(field_type, (StrawberryOptional, StrawberryMaybe)):
        field_type = field_type.of_type
    return field_type


def problems(value: Any, field_type: Any, path: tuple[str, ...]) -> Iterator[Refusal]:
    """Every refusal in one argument value of the given Strawberry type."""
    if isinstance(value, Some):
        value = value.value
    if value is None:
        return
    field_type = _unwrap(field_type)
    if isinstance(field_type, StrawberryList):
        for index, item in enumerate(value):  # named as the resolvers name list items
            yield from problems(item, field_type.of_type, (*path, str(index)))
    elif has_object_definition(field_type):
        for python_name, name, of_type in _input_fields(field_type):
            yield from problems(getattr(value, python_name, None), of_type, (*path, name))
    elif field_type is strawberry.ID:
        if not is_well_formed_id(value):
            yield Refusal(UserError(ErrorCode.NOT_FOUND, "No such object", path), True)
    elif field_type is str:
        problem = text_problem(value, free_text=path[-1] in FREE_TEXT_FIELDS)
        if problem:
            yield Refusal(invalid(path, problem), False)
    elif field_type is JSON:
        yield from _json_problems(value, path)


@cache
def _input_fields(input_type: type) -> tuple[tuple[str, str, Any], ...]:
    """An input type's fields: (Python name, GraphQL name, type), worked out once per type."""
    definition = input_type.__strawberry_definition__
    return tuple((field.python_name, field.graphql_name or to_camel_case(field.python_name),
                  field.resolve_type(type_definition=definition))
                 for field in definition.fields)


def _json_problems(value: Any, path: tuple[str, ...]) -> Iterator[Refusal]:
    """Strings inside a JSON value, keys included (PostgreSQL's jsonb refuses a NUL)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield Refusal(invalid(path, problem), False)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_problems(key, path)
            yield from _json_problems(item, path)
    elif isinstance(value, list):
        for item in value:
            yield from _json_problems(item, path)


class InputHygiene(FieldExtension):
    """Refuses a root field's bad arguments before its resolver runs."""

    def apply(self, field: StrawberryField) -> None:
        self.field = field

    def first_refusal(self, kwargs: dict[str, Any]) -> Refusal | None:
        for argument in self.field.arguments:
            path = () if argument.python_name == "input" else (argument.graphql_name or
                                                                to_camel_case(argument.python_name),)
            for refusal in problems(kwargs.get(argument.python_name), argument.type, path):
                return refusal
        return None

    def answer(self, refusal: Refusal) -> Any:
        payload_type = _unwrap(self.field.type)
        if _is_payload(payload_type):
            return payload_type(user_errors=[UserErrorType.of(refusal.error)])
        if refusal.malformed_id and isinstance(self.field.type, StrawberryOptional):
            return None
        raise refusal.error

    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        refusal = self.first_refusal(kwargs)
        return self.answer(refusal) if refusal else next_(source, info, **kwargs)

    async def resolve_async(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        refusal = self.first_refusal(kwargs)
        if refusal:
            return self.answer(refusal)
        return await await_maybe(next_(source, info, **kwargs))  # a subscription: its stream


def _is_payload(field_type: Any) -> bool:
    definition = getattr(field_type, "__strawberry_definition__", None)
    return definition is not None and any(
        field.python_name == "user_errors" for field in definition.fields)


def guard_root_fields(*root_types: type) -> None:
    """Give every field of the root types the hygiene extension (once, however often the
    schema is built)."""
    for root in root_types:
        for field in root.__strawberry_definition__.fields:
            if not any(isinstance(ext, InputHygiene) for ext in field.extensions):
                field.extensions.append(InputHygiene())
