"""The request-id middleware (CONTRACT §16): every HTTP request gets an id, echoed in
`X-Request-ID` on its response, current while it is served, and one access log line."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.metrics import UNMATCHED_ROUTE
from core.requests import HEADER, bound_request_id, request_id_for

access_log = logging.getLogger("gateway.access")



class RequestIdMiddleware:
    """Pure ASGI, so that every response, whoever makes it (GraphQL, checkout, a refusal
    before GraphQL runs), carries the header, and streaming stays untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = request_id_for(Headers(scope=scope).get(HEADER))
        root_path = scope.get("root_path", "")
        status = 500  # what the client sees if the app fails before it answers
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with bound_request_id(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log_request(scope, route_template(scope, root_path), status,
                            (time.perf_counter() - started) * 1000, request_id)


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's template, mounts included (`/checkout/{intent_id}`): the router
    leaves the innermost route in `scope["route"]` and each mount's path in `root_path`."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED_ROUTE
    prefix = scope.get("root_path", "")[len(root_path):]
    if isinstance(route, Mount):  # its own path is already in root_path
        return prefix or route.path
    return prefix + getattr(route, "path", "")


def log_request(scope: Scope, route: str, status: int, duration_ms: float,
                request_id: str) -> None:
    method = scope.get("method", "-")
    access_log.info("%s %s %d %.1fms", method, route, status, duration_ms,
                    extra={"method": method, "route": route, "status": status,
                           "duration_ms": round(duration_ms, 1), "request_id": request_id})
