"""gateway_graphql_operations_total (CONTRACT §16): each root field of each operation, counted
with its outcome once the operation is answered.

The label is a root field the schema has (or "invalid"): a document's own names, which could
be anything, never become labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from core import metrics

OK, USER_ERROR, ERROR = "ok", "user_error", "error"


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            count(self.execution_context)


def count(execution_context: Any) -> None:
    result = execution_context.result  # None when an exception ended the operation
    errors = getattr(result, "errors", None) or execution_context.pre_execution_errors or (
        [GraphQLError("unanswered")] if result is None else [])  # no path: the whole request
    data = getattr(result, "data", None)
    fields = root_fields(execution_context.schema._schema, execution_context.graphql_document,
                         execution_context.operation_name)
    if not fields:
        metrics.count_operation(metrics.INVALID_OPERATION, ERROR)
        return
    for key, name in fields:
        metrics.count_operation(name, outcome(key, data, errors))


def outcome(key: str, data: dict[str, Any] | None, errors: list[Any]) -> str:
    """`error` when an error is about this field or about the whole request; `user_error`
    when its payload carries userErrors; else `ok`."""
    if any(not error.path or error.path[0] == key for error in errors):
        return ERROR
    payload = (data or {}).get(key)
    if isinstance(payload, dict) and payload.get("userErrors"):
        return USER_ERROR
    return OK


def root_fields(schema: GraphQLSchema, document: DocumentNode | None,
                operation_name: str | None) -> list[tuple[str, str]]:
    """(response key, field name) of the operation's root fields; a name the schema's root
    types lack is "invalid"."""
    operation = _operation(document, operation_name)
    if operation is None:
        return []
    known = _root_field_names(schema)
    fragments = {definition.name.value: definition for definition in document.definitions
                 if isinstance(definition, FragmentDefinitionNode)}
    by_key = {(node.alias or node.name).value:
              node.name.value if node.name.value in known else metrics.INVALID_OPERATION
              for node in _fields(operation.selection_set, fragments, depth=0)}
    return list(by_key.items())


def _operation(document: DocumentNode | None,
               name: str | None) -> OperationDefinitionNode | None:
    operations = [definition for definition in (document.definitions if document else ())
                  if isinstance(definition, OperationDefinitionNode)]
    if name is not None:
        operations = [operation for operation in operations
                      if operation.name and operation.name.value == name]
    return operations[0] if len(operations) == 1 else None


def _fields(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
            depth: int) -> Iterator[FieldNode]:
    if depth > 5:  # fragments spread at the root, a few levels at most (cycles are invalid)
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, depth + 1)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            yield from _fields(fragments[selection.name.value].selection_set, fragments,
                               depth + 1)


def _root_field_names(schema: GraphQLSchema) -> set[str]:
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {name for root in roots if root is not None for name in root.fields} | {
        "__typename", "__schema", "__type"}
