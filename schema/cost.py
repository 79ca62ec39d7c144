"""Query cost (CONTRACT §12.7), counted the way Shopify does, before anything runs.

- A field returning an object costs 1; a scalar or enum field costs 0.
- A list multiplies the cost of one element (1 for the object plus its selection) by its
  size: its own `first` argument, or, for the `edges` of a connection, the connection's
  `first`; else its cap in LIST_CAPS or LIST_CAPS_BY_NAME; else limits.UNCAPPED_LIST.
- A connection (a field taking `first`) costs 1 itself; its `first` is capped at
  limits.PAGE_SIZE (the resolver refuses more) and defaults to the argument's default.
- Fields are merged by response key as the executor merges them, fragments and inline
  fragments are followed (for an interface or union, the costliest possible type counts),
  `@skip`/`@include` and variables are honoured, and `__` (introspection) fields cost 0.

Worked example: `{ paymentIntents(first: 5) { edges { node { id refunds { id } } } } }` is
1 (the connection) + 5 × (1 edge + 1 node + REFUNDS_PER_INTENT × 1 refund) = 61.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import type_from_ast, value_from_ast
from strawberry.extensions import SchemaExtension

from core import limits
from core.config import get_settings
from core.errors import ErrorCode, RequestError

# The lists' sizes, by (type, field) as the schema names them; the numbers live in core.limits.
LIST_CAPS: dict[tuple[str, str], int] = {
    ("Query", "merchants"): limits.MERCHANTS_PER_USER,
    ("User", "memberships"): limits.MERCHANTS_PER_USER,
    ("User", "sessions"): limits.SESSIONS_LISTED_PER_USER,
    ("Merchant", "members"): limits.MEMBERS_PER_MERCHANT,
    ("Merchant", "invitations"): limits.PENDING_INVITATIONS_PER_MERCHANT,
    ("Merchant", "apiKeys"): limits.ACTIVE_API_KEYS_PER_MERCHANT,
    ("Merchant", "webhookEndpoints"): limits.WEBHOOK_ENDPOINTS_PER_MERCHANT,
    ("PaymentIntent", "refunds"): limits.REFUNDS_PER_INTENT,
    ("PaymentIntent", "lineItems"): limits.LINE_ITEMS_PER_INTENT,
    ("CheckoutSession", "lineItems"): limits.LINE_ITEMS_PER_INTENT,
    ("Event", "deliveries"): limits.DELIVERY_ATTEMPTS_LISTED_PER_EVENT,
    ("PaymentIntent", "balanceTransactions"): limits.BALANCE_TRANSACTIONS_PER_INTENT,
    ("PaymentIntent", "disputes"): limits.DISPUTES_PER_INTENT,
    ("Query", "roles"): limits.ROLES,
}
# Lists named the same on every type that has them: each mutation payload's `userErrors`.
LIST_CAPS_BY_NAME: dict[str, int] = {"userErrors": limits.USER_ERRORS_PER_PAYLOAD}
PAGE_ARGUMENT = "first"

SelectionSets = tuple[SelectionSetNode, ...]


class DocumentCost:
    """The cost of one operation of a validated document, given its variables."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 variables: dict[str, Any] | None = None) -> None:
        self.schema = schema
        self.fragments = {definition.name.value: definition for definition in document.definitions
                          if isinstance(definition, FragmentDefinitionNode)}
        self.variables = variables or {}
        self.memo: dict[tuple[Any, ...], int] = {}

    def of_operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        self.variables = {**self._defaults(operation), **self.variables}
        return self.selections(root, (operation.selection_set,), None)

    def selections(self, parent: Any, sets: SelectionSets, page: int | None) -> int:
        """The cost of the selection sets (merged) on `parent`; `page` is the `first` of the
        connection `parent` is, for its lists."""
        key = (parent.name, tuple(map(id, sets)), page)
        if key not in self.memo:
            if is_abstract_type(parent):
                self.memo[key] = max((self.selections(kind, sets, page)
                                      for kind in self.schema.get_possible_types(parent)),
                                     default=0)
            else:
                fields = self._collect(parent, sets, {}, set())
                self.memo[key] = sum(self.field(parent, nodes, page) for nodes in fields.values())
        return self.memo[key]

    def field(self, parent: Any, nodes: list[FieldNode], page: int | None) -> int:
        name = nodes[0].name.value
        definition = parent.fields.get(name) if not name.startswith("__") else None
        if definition is None or not is_composite_type(get_named_type(definition.type)):
            return 0
        is_list = isinstance(_nullable(definition.type), GraphQLList)
        first = self._first(definition, nodes[0])
        sets = tuple(node.selection_set for node in nodes if node.selection_set)
        connection_page = _page(first) if PAGE_ARGUMENT in definition.args \
            and not is_list else None
        one = 1 + self.selections(get_named_type(definition.type), sets, connection_page)
        if not is_list:
            return one
        return self._list_size(parent.name, name, first, page) * one

    def _list_size(self, parent: str, name: str, first: int | None, page: int | None) -> int:
        cap = LIST_CAPS.get((parent, name), LIST_CAPS_BY_NAME.get(name))
        if first is not None:
            return min(first, cap or limits.PAGE_SIZE)
        if page is not None:
            return page
        return cap if cap is not None else limits.UNCAPPED_LIST

    def _collect(self, parent: Any, sets: Iterable[SelectionSetNode],
                 fields: dict[str, list[FieldNode]], seen: set[str]
                 ) -> dict[str, list[FieldNode]]:
        """The fields the executor would run on `parent`, by response key (as graphql's
        collect_fields does: a fragment spread once per selection)."""
        for selection_set in sets:
            for node in selection_set.selections:
                if not self._included(node):
                    continue
                if isinstance(node, FieldNode):
                    key = node.alias.value if node.alias else node.name.value
                    fields.setdefault(key, []).append(node)
                elif isinstance(node, InlineFragmentNode):
                    if self._applies(node.type_condition, parent):
                        self._collect(parent, (node.selection_set,), fields, seen)
                elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                    seen.add(node.name.value)
                    fragment = self.fragments.get(node.name.value)
                    if fragment and self._applies(fragment.type_condition, parent):
                        self._collect(parent, (fragment.selection_set,), fields, seen)
        return fields

    def _applies(self, condition: Any, parent: Any) -> bool:
        if condition is None:
            return True
        kind = self.schema.get_type(condition.name.value)
        return kind is parent or (kind is not None and is_abstract_type(kind)
                                  and self.schema.is_sub_type(kind, parent))

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name in ("skip", "include"):
                condition = next((self._value(argument.value)
                                  for argument in directive.arguments or ()
                                  if argument.name.value == "if"), None)
                if condition is (name == "skip"):
                    return False
        return True

    def _first(self, definition: Any, node: FieldNode) -> int | None:
        """The `first` a field is given (or defaults to), or None when it has none."""
        if PAGE_ARGUMENT not in definition.args:
            return None
        given = next((argument.value for argument in node.arguments or ()
                      if argument.name.value == PAGE_ARGUMENT), None)
        value = self._value(given) if given is not None \
            else definition.args[PAGE_ARGUMENT].default_value
        return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else None

    def _value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, BooleanValueNode):
            return node.value
        return None

    def _defaults(self, operation: OperationDefinitionNode) -> dict[str, Any]:
        defaults = {}
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                kind = type_from_ast(self.schema, definition.type)
                defaults[definition.variable.name.value] = \
                    value_from_ast(definition.default_value, kind) if kind else None
        return defaults


def _nullable(kind: Any) -> Any:
    return kind.of_type if isinstance(kind, GraphQLNonNull) else kind


def _page(first: int | None) -> int:
    return limits.PAGE_SIZE if first is None else min(first, limits.PAGE_SIZE)


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [definition for definition in document.definitions
                  if isinstance(definition, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def operation_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                   variables: dict[str, Any] | None = None) -> int:
    """The requested cost of the operation the request names (0 when it names none: the
    executor then answers the error)."""
    operation = select_operation(document, operation_name)
    if operation is None:
        return 0
    return DocumentCost(schema, document, variables).of_operation(operation)


class QueryCost(SchemaExtension):
    """Costs each operation before it runs, refuses it over `limit`, and reports
    `extensions.cost: {requested, limit}` on every answer. Pass `QueryCost.factory(limit)`;
    no limit: the settings' MAX_QUERY_COST, read per request."""

    def __init__(self, *, limit: int | None = None, execution_context: Any = None) -> None:
        super().__init__(execution_context=execution_context)
        self.limit = get_settings().max_query_cost if limit is None else limit
        self.requested = 0

    @classmethod
    def factory(cls, limit: int | None = None) -> Any:
        return partial(cls, limit=limit)

    def on_execute(self) -> Any:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            # strawberry's own extensions reach the graphql-core schema the same way
            self.requested = operation_cost(context.schema._schema, context.graphql_document,
                                            context.operation_name, context.variables)
            if self.requested > self.limit:
                context.result = GraphQLExecutionResult(data=None, errors=[self.refusal()])
        yield

    def refusal(self) -> GraphQLError:
        message = (f"Query cost {self.requested} is over the limit of {self.limit}: "
                   f"ask for fewer items (`first`) or fewer nested lists")
        return GraphQLError(message, original_error=RequestError(
            ErrorCode.QUERY_TOO_COMPLEX, message, cost=self.report()))

    def report(self) -> dict[str, int]:
        return {"requested": self.requested, "limit": self.limit}

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report()}
