"""Input types built straight from the values graphql-core has already coerced.

Strawberry converts an input value field by field, working out each field's GraphQL name and
type again on every request; on a create or a confirm that was a sixth of the API's CPU.
`@gateway_input` is `@strawberry.input` plus a `from_input` hook (Strawberry's own extension
point for types that build themselves) that works those out once per type. graphql-core has
already checked and coerced the values (scalars, enums, required fields, defaults), so
what is left is naming: leaf values are taken as they are, nested inputs and lists of them
still go through Strawberry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class _Field:
    graphql_name: str
    python_name: str
    type: StrawberryType | type
    converted: bool  # an input object, a list or a Maybe: Strawberry converts it
    required: bool  # no default: None when the client leaves it out, as Strawberry does


def gateway_input(cls: T | None = None, **options: Any) -> Any:
    """`@strawberry.input`, with or without options, whose values are built directly."""

    def wrap(target: T) -> T:
        built = strawberry.input(target, **options)
        definition: StrawberryObjectDefinition = built.__strawberry_definition__
        definition.from_input = _builder(definition)
        return built

    return wrap(cls) if cls is not None else wrap


def _builder(definition: StrawberryObjectDefinition
             ) -> Callable[[type, Mapping[str, Any], InputContext], Any]:
    fields: list[_Field] = []  # worked out at the first request, when every type is known

    def build(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not fields:
            fields.extend(_fields(definition, context))
        kwargs = {field.python_name: None for field in fields if field.required}
        for field in fields:
            if field.graphql_name in value:
                raw = value[field.graphql_name]
                kwargs[field.python_name] = context.convert(raw, field.type, field.graphql_name) \
                    if field.converted else raw
        return cls(**kwargs)

    return build


def _fields(definition: StrawberryObjectDefinition, context: InputContext) -> list[_Field]:
    found = []
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        found.append(_Field(
            context.config.name_converter.from_field(field), field.python_name, field_type,
            converted=_needs_conversion(field_type),
            required=field.default_value is MISSING and field.default_factory is MISSING))
    return found


def _needs_conversion(field_type: Any) -> bool:
    if isinstance(field_type, StrawberryMaybe):  # wrapped in Some(), even a null
        return True
    while isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    return isinstance(field_type, StrawberryList) or has_object_definition(field_type)
