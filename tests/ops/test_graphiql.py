"""CONTRACT §16: GraphiQL from the gateway's own assets, under a Content-Security-Policy.

Chromium (Playwright, as tests/browser drives it) loads GraphiQL from a real `python main.py
serve` with every request to another origin aborted, and runs a query.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from core.config import Settings, get_settings, use_settings
from tests.chromium import launched_chromium
from tests.conftest import embedded_server

ASSETS = "/graphiql/static"
HTML = {"Accept": "text/html"}


@contextlib.asynccontextmanager
async def http_for(settings: Settings, **overrides) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app of its own with these settings (no lifespan: the requests here
    touch no database); the global settings are put back afterwards."""
    from main import create_app

    saved = get_settings()
    application = create_app(settings.with_overrides(**overrides))
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await application.state.limits.store.close()
        use_settings(saved)


async def test_the_page_loads_only_its_own_assets_under_a_policy(settings):
    async with http_for(settings, graphiql=True) as http:
        page = await http.get("/graphql", headers=HTML)
        bundle = await http.get(f"{ASSETS}/graphiql.min.js")
        ours = await http.get(f"{ASSETS}/graphiql.js")
    policy = page.headers["Content-Security-Policy"]
    assert page.status_code == 200 and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in page.text.replace(
        "http-equiv", "")  # no CDN, no absolute URL
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    assert ours.status_code == 200 and "createFetcher" in ours.text


async def test_graphiql_off_serves_neither_page_nor_assets(settings):
    async with http_for(settings, graphiql=False) as http:
        page = await http.get("/graphql", headers=HTML)
        bundle = await http.get(f"{ASSETS}/graphiql.min.js")
    assert page.status_code == 404 and "graphiql" not in page.text.lower()
    assert bundle.status_code == 404


@pytest_asyncio.fixture(scope="module")
async def browser():
    async for instance in launched_chromium():
        yield instance


async def test_graphiql_runs_a_query_with_no_internet(browser, tmp_path):
    with embedded_server(tmp_path) as server:
        page = await browser.new_page()
        aborted: list[str] = []
        problems: list[str] = []

        async def only_the_gateway(route):
            if route.request.url.startswith(server.url + "/"):
                await route.continue_()
            else:
                aborted.append(route.request.url)
                await route.abort()

        await page.route("**/*", only_the_gateway)
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(f"{server.url}/graphql")
        editor = page.locator(".graphiql-query-editor .CodeMirror").first
        await editor.wait_for(timeout=15_000)
        await page.evaluate("""document.querySelector('.graphiql-query-editor .CodeMirror')
                               .CodeMirror.setValue('{ roles { role } }')""")
        await page.locator(".graphiql-execute-button").click()
        result = page.locator(".result-window")
        await result.filter(has_text="OWNER").wait_for(timeout=15_000)
        text = await result.inner_text()
        await page.close()
    assert '"role": "OWNER"' in text, text
    assert aborted == [] and problems == [], (aborted, problems)
