"""GraphQL over WebSocket (CONTRACT §15): the Subscription type and the connection's rules.

strawberry speaks `graphql-transport-ws`; this module adds what the contract asks of it:
the `connection_init` payload authenticates (bad credentials close with 4403), each
subscription authorizes on its own with a fresh look at the credentials, at most
SUBSCRIPTIONS_PER_CONNECTION run at once (the next ends with RATE_LIMITED), documents pass
the same limits and query cost as over HTTP, only subscriptions run over the socket, errors
carry `extensions.code`, the server pings, and a revoked key or ended session closes the
socket within RECHECK_SECONDS.

Identical subscriptions share their work (SharedEventExecutor): when the hub hands one event
(or one intent state) to many subscriptions with the same document, variables and
credentials, the selection runs once and each gets that result.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError, OperationType, parse
from graphql.error import GraphQLSyntaxError
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types import ExecutionResult, Info
from strawberry.types.unset import UNSET

from core import limits
from core.errors import ErrorCode, RequestError, UserError
from core.proxies import client_ip
from core.ratelimit import Verdict
from core.security import sha256_hex
from resolvers import api_keys, auth, live
from resolvers.access import Caller
from schema.context import caller_of
from schema.cost import operation_cost, select_operation
from schema.errors import coded
from schema.payment_types import CheckoutSession, Event, PaymentIntent

INIT_TIMEOUT_SECONDS = 10  # connection_init must come this soon after the handshake
PING_SECONDS = 15  # the server's keep-alive pings
RECHECK_SECONDS = 2  # how often a connection's credentials are looked at again


@strawberry.type(description="Live updates over WebSocket (subprotocol graphql-transport-ws "
                             "on /graphql). Authenticate in the connection_init payload: "
                             '{"apiKey": "sk_..."} or {"authorization": "Bearer <token>"}; '
                             "nothing for checkoutSessionUpdated.")
class Subscription:
    @strawberry.subscription(description="The intent now, then after each change (EXPIRED "
                                         "too, when expiresAt passes). The merchant's API key "
                                         "or a member's user token; NOT_FOUND otherwise.")
    async def payment_intent_updated(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description="The payment "
                                                                         "intent's id.")]
    ) -> AsyncGenerator[PaymentIntent, None]:
        async for model in live.follow_intent(await caller_of(info), id,
                                              info.context.watch):
            yield PaymentIntent.of(model)

    @strawberry.subscription(description="The shopper's view now, then after each change. "
                                         "The client secret is the credential: "
                                         "INVALID_CLIENT_SECRET or NOT_FOUND otherwise.")
    async def checkout_session_updated(
            self,
            id: Annotated[strawberry.ID, strawberry.argument(description="The payment "
                                                                         "intent's id.")],
            client_secret: Annotated[str, strawberry.argument(
                description="The intent's clientSecret.")]
    ) -> AsyncGenerator[CheckoutSession, None]:
        async for model in live.follow_checkout(id, client_secret):
            yield CheckoutSession.of(model)

    @strawberry.subscription(description="The merchant's events after the `after` cursor "
                                         "(none: from now), oldest first, then each new one "
                                         "as it is committed: no gap, no duplicate. The "
                                         "merchant's API key or a member's user token.")
    async def events(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Required with a user token; optional with an API key (its own "
                            "merchant).")] = None,
            types: Annotated[list[str] | None, strawberry.argument(
                description='Only events of these types, e.g. ["payment_intent.captured"] '
                            "(at most 50, each from webhookEventTypes: VALIDATION_ERROR "
                            "otherwise).")] = None,
            after: Annotated[str | None, strawberry.argument(
                description="A cursor of the events connection: start after that event.")
            ] = None
    ) -> AsyncGenerator[Event, None]:
        async for model in live.follow_events(await caller_of(info), merchant_id, types,
                                              after, info.context.watch):
            yield Event.of(model)


# --- one execution per event for identical subscriptions ---------------------------------------
class SharedResults:
    """The latest events' results, by (event, selection, variables, credentials).

    The key holds object ids (cheap to hash); each entry keeps the objects themselves alive,
    so no id is reused while its entry exists. Bounded: the oldest entries go first (an
    entry is only useful while the hub's hand-out of its event is being sent)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()

    def result(self, key: tuple[Any, ...], keep: tuple[Any, ...],
               execute: Callable[[], Any]) -> Any:
        """The result stored under `key`, else `execute()`'s, stored. An awaitable result is
        run once as a task of its own, which every subscription awaits (shielded: one that
        ends meanwhile does not cancel it for the others)."""
        entry = self.entries.get(key)
        if entry is not None:
            stored = entry[1]
            return _awaited(stored) if isinstance(stored, asyncio.Future) else stored
        result = execute()
        if inspect.isawaitable(result):
            result = asyncio.ensure_future(result)
            result.add_done_callback(lambda done: self._forget_failed(key, done))
        self.entries[key] = (keep, result)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return _awaited(result) if isinstance(result, asyncio.Future) else result

    def _forget_failed(self, key: tuple[Any, ...], done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None:
            entry = self.entries.get(key)
            if entry is not None and entry[1] is done:
                del self.entries[key]


async def _awaited(future: asyncio.Future) -> Any:
    return await asyncio.shield(future)


shared_results = SharedResults()


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, but a subscription event's selection runs once for every
    subscription with the same document, variables and credentials that gets the same event
    object from the hub: they would all compute the same result. Queries and mutations, and
    subscriptions outside a LiveContext, run as always."""

    _sharing: tuple[Any, ...] | None = None  # set on the per-event executors that share

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        model = getattr(payload, "model", None)  # the hub's object, the same for everyone
        credentials = getattr(self.context_value, "sharing_key", None)
        if model is not None and credentials is not None:
            executor._sharing = (id(model), id(self.operation), self._variables_key(),
                                 credentials)
        return executor

    def _variables_key(self) -> str:
        key = self.__dict__.get("_variables_json")
        if key is None:
            values = getattr(self.variable_values, "coerced", self.variable_values)
            key = json.dumps(values, sort_keys=True, default=repr)
            self._variables_json = key
        return key

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self._sharing is None:
            return super().execute_operation(serially)
        run = super().execute_operation
        return shared_results.result(self._sharing, (self.root_value.model, self.operation),
                                     lambda: run(serially))


# --- the connection ---------------------------------------------------------------------------
class LiveContext:
    """One WebSocket connection's context, shared by its subscriptions. Each subscription
    looks at the credentials again (`caller`), so a key revoked since the connection began,
    or a role changed, is seen at once."""

    def __init__(self, websocket: WebSocket, limits: Any = None) -> None:
        self.request = websocket
        self.response = websocket
        self.limits = limits
        self.connection_params: dict[str, Any] = {}
        self.checks: dict[str, tuple[tuple[str, ...], live.Check]] = {}  # by operation id

    def watch(self, key: tuple[str, ...], check: live.Check) -> None:
        """The running subscription's authorization, re-run every RECHECK_SECONDS."""
        operation = running_operation.get()
        if operation is not None:
            self.checks[operation] = (key, check)

    @property
    def loaders(self) -> dict[str, Any]:
        """Fresh DataLoaders for each result: a connection lives long, its caches must not."""
        return {}

    @property
    def sharing_key(self) -> str:
        """The credentials of the connection_init payload: subscriptions with the same ones
        see the same (SharedEventExecutor). Read after connection_init, which never changes."""
        key = self.__dict__.get("_sharing_key")
        if key is None:  # a digest: shared results must not keep a padded payload alive
            key = self._sharing_key = sha256_hex(json.dumps(
                self.connection_params, sort_keys=True, default=repr))
        return key

    async def caller(self) -> Caller:
        caller = await authenticate(self.connection_params)
        caller.ip = client_ip(self.request)
        return caller

    async def rate_verdict(self) -> Verdict | None:
        """A subscribe message counts as a request does over HTTP (None: no limits here)."""
        if self.limits is None:
            return None
        return await self.limits.graphql(client_ip(self.request),
                                         presented_credential(self.connection_params))


def presented_credential(params: dict[str, Any]) -> str | None:
    """The API key or bearer value a connection_init payload presents (for its rate limit)."""
    named = {str(name).lower(): value for name, value in params.items()}
    key = named.get("apikey", named.get("x-api-key"))
    if isinstance(key, str):
        return key.strip() or None
    return str(named.get("authorization") or "").partition(" ")[2].strip() or None


async def authenticate(params: dict[str, Any]) -> Caller:
    """The caller a connection_init payload names: `apiKey`, or `authorization` holding
    "Bearer <access token or API key>", or no one. Header names are accepted too, in any
    case (`X-API-Key`, `Authorization`): GraphiQL sends its headers editor as the payload."""
    named = {str(name).lower(): value for name, value in params.items()}
    key = named.get("apikey", named.get("x-api-key"))
    authorization = named.get("authorization")
    if key is not None:
        if not isinstance(key, str):
            raise RequestError(ErrorCode.UNAUTHENTICATED, "apiKey must be a string")
        return Caller(api_key=await api_keys.authenticate(key.strip()))
    if authorization is not None:
        scheme, _, value = str(authorization).partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise RequestError(ErrorCode.UNAUTHENTICATED, 'authorization must be "Bearer ..."')
        if value.startswith("sk_"):
            return Caller(api_key=await api_keys.authenticate(value))
        return await auth.authenticate_access_token(value)
    return Caller()


# The id of the operation a subscription's task runs (set when the task is made).
running_operation: ContextVar[str | None] = ContextVar("running_operation", default=None)


class LiveOperation(Operation):
    """An operation whose errors leave coded, as over HTTP (CONTRACT §5)."""

    __slots__ = ()

    async def send_initial_errors(self, errors: list[GraphQLError]) -> None:
        await self.send_operation_message(
            {"id": self.id, "type": "error", "payload": [coded(error) for error in errors]})

    async def send_next(self, execution_result: ExecutionResult) -> None:
        payload: dict[str, Any] = {"data": execution_result.data}
        if execution_result.errors:
            payload["errors"] = [coded(error) for error in execution_result.errors]
        await self.send_operation_message({"id": self.id, "type": "next", "payload": payload})


class LiveHandler(BaseGraphQLTransportWSHandler):
    """strawberry's graphql-transport-ws handler, with the gateway's rules."""

    async def handle(self) -> None:
        tasks = [asyncio.create_task(self.keep_alive()), asyncio.create_task(self.recheck())]
        try:
            await super().handle()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload") or {}
        if isinstance(payload, dict):
            message = {**message, "payload": payload}
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: Any) -> None:
        if not self.connection_acknowledged or message.get("id") in self.operations:
            return await super().handle_subscribe(message)
        verdict = await self.context.rate_verdict()
        refusal = rate_limited(verdict) if verdict and verdict.retry_after else \
            self.refusal(message.get("payload") or {})
        if refusal is None:
            return await self.start(message)
        await self.send_message({"id": message["id"], "type": "error",
                                 "payload": [coded(refusal)]})

    def refusal(self, payload: dict[str, Any]) -> GraphQLError | None:
        """Why this subscribe message may not run: too many at once, not a subscription, or
        a document over the query cost. None: strawberry runs it (and validates it)."""
        if len(self.operations) >= limits.SUBSCRIPTIONS_PER_CONNECTION:
            return request_error(ErrorCode.RATE_LIMITED,
                                 f"At most {limits.SUBSCRIPTIONS_PER_CONNECTION} subscriptions "
                                 "per connection; complete one first", retryAfter=1)
        query = payload.get("query")
        try:
            document = bounded_parse(query) if isinstance(query, str) else None
        except GraphQLSyntaxError as error:  # a coded answer, as over HTTP
            return request_error(ErrorCode.GRAPHQL_PARSE_FAILED, error.message)
        if document is None:
            return None
        operation = select_operation(document, payload.get("operationName"))
        if operation is not None and operation.operation is not OperationType.SUBSCRIPTION:
            return request_error(ErrorCode.GRAPHQL_VALIDATION_FAILED,
                                 "Only subscriptions run over WebSocket; send queries and "
                                 "mutations with POST /graphql")
        return self.over_cost(document, payload)

    def over_cost(self, document: Any, payload: dict[str, Any]) -> GraphQLError | None:
        from core.config import get_settings

        limit = get_settings().max_query_cost
        try:
            cost = operation_cost(self.schema._schema, document, payload.get("operationName"),
                                  payload.get("variables") or {})
        except Exception:  # noqa: BLE001 - an invalid document: strawberry's validation says why
            return None
        if cost <= limit:
            return None
        return request_error(ErrorCode.QUERY_TOO_COMPLEX,
                             f"Query cost {cost} is over the limit of {limit}",
                             cost={"requested": cost, "limit": limit})

    async def start(self, message: Any) -> None:
        payload = message["payload"]
        operation = LiveOperation(self, message["id"], payload["query"],
                                  payload.get("variables"), payload.get("operationName"))
        token = running_operation.set(operation.id)  # the task's copy of the context keeps it
        try:
            operation.task = asyncio.create_task(self.run_operation(operation))
        finally:
            running_operation.reset(token)
        operation.task.add_done_callback(self._task_done)
        self.operations[message["id"]] = operation

    async def keep_alive(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(PING_SECONDS)
                if self.connection_acknowledged:
                    await self.send_message({"type": "ping"})

    async def recheck(self) -> None:
        """Every RECHECK_SECONDS: close the socket (4403) once its key is revoked or its
        session has ended, and end each subscription its caller may no longer see (a member
        removed, a role that may not read it) with that coded error."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            if not self.connection_acknowledged:
                continue
            try:
                caller = await self.context.caller()
            except (RequestError, UserError):
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=4403, reason="Forbidden")
                return
            except Exception:  # noqa: BLE001, S112 - the database hiccuped: look again later
                continue
            await self.recheck_operations(caller)

    async def recheck_operations(self, caller: Caller) -> None:
        checks = self.context.checks
        verdicts: dict[tuple[str, ...], Exception | None] = {}  # one check per key a round
        for operation_id, (key, check) in list(checks.items()):
            operation = self.operations.get(operation_id)
            if operation is None:
                checks.pop(operation_id, None)
                continue
            if key not in verdicts:
                try:
                    await check(caller)
                    verdicts[key] = None
                except (RequestError, UserError) as error:
                    verdicts[key] = error
                except Exception:  # noqa: BLE001 - the database hiccuped: look again later
                    verdicts[key] = None
            if verdicts[key] is not None:
                checks.pop(operation_id, None)
                await self.end(operation, verdicts[key])

    async def end(self, operation: Operation, error: Exception) -> None:
        """End one subscription with a coded error (the protocol's `error` message)."""
        graphql_error = GraphQLError(str(error), original_error=error)
        with contextlib.suppress(Exception):
            await operation.send_operation_message(
                {"id": operation.id, "type": "error", "payload": [coded(graphql_error)]})
        if operation.task is not None:
            operation.task.cancel()


def bounded_parse(query: str) -> Any:
    """The document, parsed no further than the token limit every document has (a longer one
    is a syntax error after GRAPHQL_TOKENS tokens, not a parse of megabytes)."""
    return parse(query, max_tokens=limits.GRAPHQL_TOKENS)


def is_subscription(query: str | None, operation_name: str | None) -> bool:
    """Whether a document sent over HTTP asks for a subscription (parsed only when it may)."""
    if not isinstance(query, str) or "subscription" not in query:
        return False
    try:
        operation = select_operation(bounded_parse(query), operation_name)
    except GraphQLSyntaxError:
        return False  # strawberry answers it
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


def rate_limited(verdict: Verdict) -> GraphQLError:
    return request_error(ErrorCode.RATE_LIMITED, "Too many requests; slow down",
                         retryAfter=verdict.retry_after)


def request_error(code: ErrorCode, message: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, original_error=RequestError(code, message, **extensions))


class LiveView:
    """The WebSocket half of the GraphQL view (mixed into schema.view.GraphQLView)."""

    graphql_transport_ws_handler_class = LiveHandler
    ws_options = {"subscription_protocols": (GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                  "connection_init_wait_timeout": timedelta(seconds=INIT_TIMEOUT_SECONDS),
                  "max_subscriptions_per_connection": None}  # LiveHandler counts them

    async def on_ws_connect(self, context: LiveContext) -> Any:
        """Authenticate the connection_init payload; bad credentials close with 4403."""
        try:
            await authenticate(context.connection_params)
        except (RequestError, UserError) as error:
            raise ConnectionRejectionError() from error
        return UNSET
