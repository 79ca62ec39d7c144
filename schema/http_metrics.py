"""HTTP metrics (CONTRACT §16): the middleware counting and timing every request by its route's
template, and the `/metrics` endpoint."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from resolvers.metrics import scrape
from schema.request_ids import route_template


class HTTPMetrics:
    """Pure ASGI (the body streams through untouched): status from the response's start,
    duration to its last byte. A request the app fails to answer counts as 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:  # the route the router matched (it leaves it in the scope): no second match
            metrics.observe_request(route_template(scope, root_path), scope["method"], status,
                                    time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    return Response(await scrape(), media_type=CONTENT_TYPE_LATEST)
