"""The GraphQL HTTP endpoint: context, rate limits, document size, coded errors."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from core import http_body
from core.config import get_settings
from core.errors import ErrorCode
from core.proxies import client_ip
from core.ratelimit import Limits
from core.security import sha256_hex
from schema.context import Context, bearer_token, presented_api_key
from schema.errors import coded


def error_response(code: ErrorCode, message: str, status: int, **extensions: Any) -> Response:
    """A refusal before any document was costed: `extensions.cost` says it requested 0."""
    body = {"data": None, "errors": [{"message": message,
                                      "extensions": {"code": code.value, **extensions}}],
            "extensions": {"cost": {"requested": 0, "limit": get_settings().max_query_cost}}}
    headers = {"Retry-After": str(extensions["retryAfter"])} if "retryAfter" in extensions \
        else None
    return JSONResponse(body, status_code=status, headers=headers)


class GraphQLView(GraphQL):
    def __init__(self, schema, *, graphiql: bool, limits: Limits) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.limits = limits

    async def get_context(self, request: Request, response: Any) -> Context:
        return Context(request=request, response=response, limits=self.limits)

    async def process_result(self, request: Request,
                             result: ExecutionResult) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            body["errors"] = [coded(error) for error in result.errors]
        if result.extensions:
            body["extensions"] = result.extensions
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope, receive=receive)
        response = await self.refusal(request) or await self.respond(request)
        await response(scope, receive, send)

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

    async def refusal(self, request: Request) -> Response | None:
        """A response that stops the request before GraphQL runs, or None."""
        wait = await self.limits.graphql_ip.retry_after(client_ip(request))
        credential = presented_api_key(request) or bearer_token(request)
        if not wait and credential:
            wait = await self.limits.graphql_credential.retry_after(sha256_hex(credential))
        if wait:
            return error_response(ErrorCode.RATE_LIMITED, "Too many requests; slow down", 429,
                                  retryAfter=wait)
        return None

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """A RATE_LIMITED answer from inside an operation (the auth limits) travels as HTTP
        429 with Retry-After, as the refusals before GraphQL do (CONTRACT §12.4, §16)."""
        response = super().create_response(response_data, sub_response)
        wait = retry_after_of(response_data)
        if wait is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(wait)
        return response


def retry_after_of(response_data: Any) -> int | None:
    errors = response_data.get("errors") if isinstance(response_data, dict) else None
    for error in errors or []:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == ErrorCode.RATE_LIMITED.value:
            return int(extensions.get("retryAfter", 1))
    return None
