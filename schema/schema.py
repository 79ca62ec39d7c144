"""The Schema: the domains' operations merged, with limits and caches."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from core import limits
from schema.accounts import AccountMutation, AccountQuery
from schema.cost import QueryCost
from schema.errors import log_unexpected
from schema.hygiene import guard_root_fields
from schema.money import MoneyMutation, MoneyQuery
from schema.operation_metrics import OperationMetrics
from schema.payments import PaymentMutation, PaymentQuery
from schema.subscriptions import SharedEventExecutor, Subscription
from schema.webhook_endpoints import WebhookEndpointMutation, WebhookEndpointQuery

MAX_DEPTH = 10
MAX_ALIASES = 30

# The document limits as validation rules built once: the validation cache is keyed by the
# rule classes, and QueryDepthLimiter/MaxAliasesLimiter build new classes per instance (per
# request), which would make every request miss the cache. Strawberry counts root fields as
# depth 0; MAX_DEPTH counts levels of fields from 1.
LIMIT_RULES = [depth_rule(MAX_DEPTH - 1, None), alias_rule(MAX_ALIASES)]

Query = merge_types("Query", (AccountQuery, PaymentQuery, WebhookEndpointQuery, MoneyQuery))
Mutation = merge_types("Mutation", (AccountMutation, PaymentMutation, WebhookEndpointMutation,
                                    MoneyMutation))
Query.__strawberry_definition__.description = (
    "Reads. Authenticate with a user token (Authorization: Bearer), a merchant's API key "
    "(X-API-Key) or, for checkoutSession, the intent's client secret.")
Mutation.__strawberry_definition__.description = (
    "Changes. Each takes one `input` and returns a payload with `userErrors`. UNAUTHENTICATED, "
    "FORBIDDEN and RATE_LIMITED come as top-level errors: the operation did not run.")
guard_root_fields(Query, Mutation, Subscription)


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        log_unexpected(errors)  # coded errors are answers, not incidents


def build_schema(introspection: bool = True,
                 max_query_cost: int | None = None) -> strawberry.Schema:
    """`max_query_cost` defaults to the settings' MAX_QUERY_COST (CONTRACT §12.7)."""
    # Factories, not instances: each request gets its own extension objects.
    extensions = [
        OperationMetrics,  # first: it sees every operation's outcome, refusals included
        partial(MaxTokensLimiter, max_token_count=limits.GRAPHQL_TOKENS),
        partial(ParserCache, maxsize=512),
        partial(AddValidationRules, LIMIT_RULES),
        partial(ValidationCache, maxsize=512),
        QueryCost.factory(max_query_cost),  # after validation: costs only valid documents
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return GatewaySchema(query=Query, mutation=Mutation, subscription=Subscription,
                         extensions=extensions, execution_context_class=SharedEventExecutor)
