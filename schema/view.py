"""The GraphQL HTTP endpoint: context, rate limits, document size, coded errors."""

from __future__ import annotations

import time
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from core.errors import ErrorCode
from core.ratelimit import RateLimiter
from core.security import sha256_hex
from schema.context import Context, bearer_token, presented_api_key
from schema.errors import coded

MAX_BODY_BYTES = 64 * 1024


def error_response(code: ErrorCode, message: str, status: int, **extensions: Any) -> Response:
    body = {"data": None, "errors": [{"message": message,
                                      "extensions": {"code": code.value, **extensions}}]}
    headers = {"Retry-After": str(extensions["retryAfter"])} if "retryAfter" in extensions \
        else None
    return JSONResponse(body, status_code=status, headers=headers)


class GraphQLView(GraphQL):
    def __init__(self, schema, *, graphiql: bool, ip_limiter: RateLimiter,
                 key_limiter: RateLimiter) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.ip_limiter = ip_limiter
        self.key_limiter = key_limiter

    async def get_context(self, request: Request, response: Any) -> Context:
        return Context(request=request, response=response)

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
        response = self.refusal(request) or await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        try:
            return await self.run(request)
        except HTTPException as error:  # malformed HTTP: still a coded GraphQL error
            code = ErrorCode.GRAPHQL_PARSE_FAILED if error.status_code == 400 \
                else ErrorCode.GRAPHQL_VALIDATION_FAILED
            return error_response(code, error.reason, error.status_code)

    def refusal(self, request: Request) -> Response | None:
        """A response that stops the request before GraphQL runs, or None."""
        moment = time.monotonic()
        ip = request.client.host if request.client else "unknown"
        wait = self.ip_limiter.retry_after(ip, moment)
        credential = presented_api_key(request) or bearer_token(request)
        if not wait and credential:
            wait = self.key_limiter.retry_after(sha256_hex(credential), moment)
        if wait:
            return error_response(ErrorCode.RATE_LIMITED, "Too many requests; slow down", 429,
                                  retryAfter=wait)
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return error_response(ErrorCode.QUERY_TOO_COMPLEX,
                                  f"Request body over {MAX_BODY_BYTES} bytes", 413)
        return None
