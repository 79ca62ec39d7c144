"""HTTP metrics (CONTRACT §16): the middleware counting and timing every request by its route's
template, and the `/metrics` endpoint."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from resolvers.metrics import scrape


class HTTPMetrics:
    """Pure ASGI (the body streams through untouched): status from the response's start,
    duration to its last byte. A request the app fails to answer counts as 500."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = route_template(self.routes, scope)
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics.observe_request(route, scope["method"], status,
                                    time.perf_counter() - started)


def route_template(routes: Sequence[BaseRoute], scope: Scope, prefix: str = "") -> str:
    """The template of the route that serves `scope` (`/checkout/{intent_id}`), mounts
    followed; `metrics.UNMATCHED_ROUTE` when none does. A method a route refuses (405) still
    names the route."""
    partial = None
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.NONE:
            continue
        if match is Match.FULL:
            return _template(route, {**scope, **child_scope}, prefix)
        partial = partial or (route, child_scope)
    if partial is not None:
        route, child_scope = partial
        return _template(route, {**scope, **child_scope}, prefix)
    return metrics.UNMATCHED_ROUTE


def _template(route: BaseRoute, scope: Scope, prefix: str) -> str:
    path = prefix + getattr(route, "path", "")
    if isinstance(route, Mount):
        return route_template(route.routes, scope, path)
    return path


async def metrics_endpoint(request: Request) -> Response:
    return Response(await scrape(), media_type=CONTENT_TYPE_LATEST)
