"""The browser tests' shared parts: Chromium, a client of the real gateway, and a small local
merchant site serving the success and cancel pages."""

from __future__ import annotations

import httpx
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.chromium import launched_chromium
from tests.receiver import LocalServer


def merchant_site() -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        kind = request.path_params["kind"]
        intent = request.query_params.get("payment_intent", "")
        return HTMLResponse(f"<!doctype html><title>{kind}</title>"
                            f"<h1 id='outcome'>{kind}</h1><p id='intent'>{intent}</p>")
    return Starlette(routes=[Route("/{kind}", page)])


@pytest_asyncio.fixture(scope="module")
async def shop_site():
    server = LocalServer(merchant_site())
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module")
async def browser():
    async for instance in launched_chromium():
        yield instance


@pytest_asyncio.fixture(scope="module")
async def gateway(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        yield http
