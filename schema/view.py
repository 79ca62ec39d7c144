"""The GraphQL HTTP endpoint: context, rate limits, document size, coded errors, media types."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from core import http_body
from core.config import get_settings
from core.errors import ErrorCode
from core.proxies import client_ip
from core.ratelimit import Limits, Verdict, tightest
from schema.context import Context, bearer_token, presented_api_key, rate_verdicts
from schema.errors import coded, request_id_extension
from schema.faults import execute_with_one_retry
from schema.graphiql import graphiql_page
from schema.subscriptions import LiveContext, LiveView, is_subscription, request_error

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def error_response(code: ErrorCode, message: str, status: int, **extensions: Any) -> Response:
    """A refusal before any document was costed: `extensions.cost` says it requested 0."""
    body = {"data": None, "errors": [{"message": message,
                                      "extensions": {"code": code.value, **extensions,
                                                     **request_id_extension()}}],
            "extensions": {"cost": {"requested": 0, "limit": get_settings().max_query_cost}}}
    headers = {"Retry-After": str(extensions["retryAfter"])} if "retryAfter" in extensions \
        else None
    return JSONResponse(body, status_code=status, headers=headers)


class GraphQLView(LiveView, GraphQL):
    def __init__(self, schema, *, graphiql: bool, limits: Limits) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None,
                         **LiveView.ws_options)  # WebSocket: schema/subscriptions.py
        self.limits = limits

    async def get_context(self, request: Request, response: Any) -> Context | LiveContext:
        if isinstance(request, WebSocket):
            return LiveContext(request, self.limits)
        return Context(request=request, response=response, limits=self.limits)

    async def execute_single(self, request: Request, request_adapter: Any, sub_response: Any,
                             context: Context, root_value: Any,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        """Strawberry's execution, run again once (with a fresh context: no cached loader
        failures) when the database or Redis failed under it (schema/faults.py).
        Subscriptions are refused here: they run over WebSocket (CONTRACT §15)."""
        if is_subscription(request_data.query, request_data.operation_name):
            return ExecutionResult(data=None, errors=[request_error(
                ErrorCode.GRAPHQL_VALIDATION_FAILED, "Subscriptions run over WebSocket: "
                "subprotocol graphql-transport-ws on /graphql")], extensions={
                    "cost": {"requested": 0, "limit": get_settings().max_query_cost}})
        attempts = iter([context])

        async def execute() -> ExecutionResult:
            this_context = next(attempts, None) or await self.get_context(request, sub_response)
            return await super(GraphQLView, self).execute_single(
                request, request_adapter, sub_response, this_context, root_value, request_data)

        return await execute_with_one_retry(execute, request_data.query,
                                            request_data.operation_name)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()

    async def process_result(self, request: Request,
                             result: ExecutionResult) -> GraphQLHTTPResponse:
        """With `application/graphql-response+json`, a request error (the document did not
        parse or validate, a variable did not coerce: nothing ran) has no `data` entry, and
        `create_response` answers it with 400 (GraphQL over HTTP)."""
        body: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            body["errors"] = [coded(error) for error in result.errors]
        if result.extensions:
            body["extensions"] = result.extensions
        if media_type_for(request.headers.get("accept")) == GRAPHQL_RESPONSE \
                and is_request_error(result):
            del body["data"]
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            return await self.websocket(scope, receive, send)
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope, receive=receive)
        verdict = await self.rate_verdict(request)
        response = rate_limited(verdict) if verdict.retry_after else await self.respond(request)
        verdict = tightest(verdict, *rate_verdicts(request))  # and the operation's own limits
        response.headers.update(verdict.headers())
        if media_type_for(request.headers.get("accept")) == GRAPHQL_RESPONSE and \
                response.headers.get("content-type", "").startswith(JSON):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        await response(scope, receive, send)

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket handshake, counted per client IP (CONTRACT §15): over the limit, it is
        denied with the same coded 429 as HTTP (a plain close where the server cannot)."""
        socket = WebSocket(scope, receive, send)
        verdict = await self.limits.websocket_ip.take(client_ip(socket))
        if not verdict.retry_after:
            return await super().__call__(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            response = rate_limited(verdict)
            response.headers.update(verdict.headers())
            await socket.send_denial_response(response)
        else:
            await socket.close(code=1013, reason="Too many connections; slow down")

    async def respond(self, request: Request) -> Response:
        try:
            body = await http_body.read_body(request.receive, get_settings().max_body_bytes,
                                             request.headers.get("content-length"))
        except http_body.BodyTooLarge as error:
            return error_response(ErrorCode.QUERY_TOO_COMPLEX, str(error), 413)
        except http_body.MalformedBody as error:
            return error_response(ErrorCode.GRAPHQL_PARSE_FAILED, str(error), 400)
        request = Request(request.scope, receive=http_body.replay(body, request.receive))
        try:
            return await self.run(request)
        except HTTPException as error:  # malformed HTTP: still a coded GraphQL error
            code = ErrorCode.GRAPHQL_PARSE_FAILED if error.status_code == 400 \
                else ErrorCode.GRAPHQL_VALIDATION_FAILED
            return error_response(code, error.reason, error.status_code)

    def decode_json(self, data: str | bytes) -> object:
        """Strawberry parses the body, and GET's `variables` and `extensions`, through this:
        each must be one JSON object, nested at most 64 deep (CONTRACT §12.6)."""
        try:
            value = http_body.loads(data)
        except http_body.MalformedBody as error:
            raise HTTPException(400, str(error)) from error
        if not isinstance(value, dict):
            raise HTTPException(400, "Expected a JSON object")
        return value

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        """Strawberry's parsing, plus the one field it lets through unchecked."""
        data = await super().parse_http_body(request)
        if not isinstance(data, GraphQLRequestData):  # a batch: strawberry refuses them
            raise HTTPException(400, "Send one operation per request")
        if not isinstance(data.operation_name, (str, type(None))):
            raise HTTPException(400, "The operation's `operationName` must be a string")
        return data

    async def rate_verdict(self, request: Request) -> Verdict:
        """The limits before GraphQL runs (core.ratelimit.Limits.graphql)."""
        return await self.limits.graphql(
            client_ip(request), presented_api_key(request) or bearer_token(request))

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """A RATE_LIMITED answer from inside an operation (the auth limits) travels as HTTP
        429 with Retry-After, as the refusals before GraphQL do (CONTRACT §12.4, §16)."""
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400  # a request error, see `process_result`
        wait = retry_after_of(response_data)
        if wait is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(wait)
        wait = retry_after_of(response_data, ErrorCode.SERVICE_UNAVAILABLE)
        if wait is not None:  # the database or Redis failed, even after a retry (§16)
            response.status_code = 503
            response.headers["Retry-After"] = str(wait)
        return response


def rate_limited(verdict: Verdict) -> Response:
    return error_response(ErrorCode.RATE_LIMITED, "Too many requests; slow down", 429,
                          retryAfter=verdict.retry_after)


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing ran: errors without data, none of them from a field (those have a path)."""
    return result.data is None and bool(result.errors) and \
        all(error.path is None for error in result.errors)


def media_type_for(accept: str | None) -> str:
    """The response's media type (GraphQL over HTTP): `application/graphql-response+json`
    when the Accept header prefers it, or names it as much as `application/json`; otherwise
    `application/json`, which is also the answer to no Accept header, to wildcards only, and
    to an Accept that names neither. The spec allows 406 there; answering JSON keeps coded
    errors readable to every client and today's clients working."""
    if not accept or not accept.strip():
        return JSON
    ranges = [accepted_range(part) for part in accept.split(",") if part.strip()]
    graphql_q, graphql_exact = quality(ranges, GRAPHQL_RESPONSE)
    json_q, _ = quality(ranges, JSON)
    if graphql_q > json_q or (graphql_q == json_q > 0 and graphql_exact):
        return GRAPHQL_RESPONSE
    return JSON


def accepted_range(part: str) -> tuple[str, float]:
    """One Accept entry: its media range (lower case, no parameters) and its q-value."""
    media_range, *parameters = [piece.strip() for piece in part.split(";")]
    q = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                q = min(1.0, max(0.0, float(value)))
            except ValueError:
                q = 0.0
    return media_range.lower(), q


def quality(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, bool]:
    """The q-value of the most specific range that matches `media_type`, and whether that range
    names it exactly (RFC 9110 §12.5.1)."""
    kind = media_type.split("/")[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        values = [q for media_range, q in ranges if media_range == candidate]
        if values:
            return max(values), candidate == media_type
    return 0.0, False


def retry_after_of(response_data: Any, code: ErrorCode = ErrorCode.RATE_LIMITED) -> int | None:
    errors = response_data.get("errors") if isinstance(response_data, dict) else None
    for error in errors or []:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == code.value:
            return int(extensions.get("retryAfter", 1))
    return None
